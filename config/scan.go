package config

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The TOML library reports positions for syntax errors only, so Parse
// indexes key positions itself: scanKeys walks the (already valid) source
// and records where every key path first appears. Paths are what
// decode.go and validate.go use: table names and keys, with "[N]" for the
// Nth [[array table]] or array element. So in
//
//	[[routes]]
//	director = "web"
//	retry_on = ["connect", "5xx"]
//
// "routes", "routes.[0]", "routes.[0].director", "routes.[0].retry_on" and
// "routes.[0].retry_on.[1]" get positions. A table header gives the
// position of each of its names ("[backends.app1]": backends at column 2,
// app1 at 11); a key gives the position of its first character; an array
// element the position of its first character.

// pathKey joins path segments into a map key.
func pathKey(path []string) string { return strings.Join(path, "\x00") }

// index is the path segment of the ith array element.
func index(i int) string { return "[" + strconv.Itoa(i) + "]" }

// isIndex reports whether a path segment is an array index.
func isIndex(seg string) bool { return len(seg) > 2 && seg[0] == '[' && seg[len(seg)-1] == ']' }

// positions maps path keys to positions in one source file.
type positions struct {
	file  string
	lines []int // byte offset where each line starts
	offs  map[string]int
}

// pos returns the position of path, or of its closest ancestor that has
// one (the enclosing table, for a key that was not written).
func (ps *positions) pos(path []string) Pos {
	for n := len(path); n > 0; n-- {
		if off, ok := ps.offs[pathKey(path[:n])]; ok {
			return ps.at(off)
		}
	}
	return Pos{File: ps.file}
}

// at converts a byte offset to a Pos.
func (ps *positions) at(off int) Pos {
	l := sort.SearchInts(ps.lines, off+1) - 1 // last line starting at or before off
	return Pos{File: ps.file, Line: l + 1, Col: off - ps.lines[l] + 1}
}

// scanKeys indexes the positions of every key in src, which the TOML
// parser has accepted. It never fails: on anything unexpected it skips
// ahead, so positions are at worst missing, never wrong for what it
// recorded before.
func scanKeys(file string, src []byte) *positions {
	ps := &positions{file: file, lines: []int{0}, offs: map[string]int{}}
	for i, c := range src {
		if c == '\n' {
			ps.lines = append(ps.lines, i+1)
		}
	}
	s := &scanner{src: src, ps: ps, aot: map[string]int{}}
	s.document()
	return ps
}

type scanner struct {
	src []byte
	i   int
	ps  *positions
	aot map[string]int // array table path → index of its last element
}

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek() byte {
	if s.i < len(s.src) {
		return s.src[s.i]
	}
	return 0
}

func (s *scanner) has(prefix string) bool {
	return s.i < len(s.src) && bytes.HasPrefix(s.src[s.i:], []byte(prefix))
}

func (s *scanner) record(path []string, off int) {
	k := pathKey(path)
	if _, ok := s.ps.offs[k]; !ok {
		s.ps.offs[k] = off
	}
}

// skipSpace skips blanks on the current line.
func (s *scanner) skipSpace() {
	for !s.eof() && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// skipAll skips blanks, newlines and comments.
func (s *scanner) skipAll() {
	for !s.eof() {
		switch s.src[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine moves to the start of the next line.
func (s *scanner) skipLine() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.i++
	}
}

func (s *scanner) document() {
	if s.has("\xef\xbb\xbf") {
		s.i += 3 // byte order mark
	}
	var table []string // the current table's resolved path
	for {
		s.skipAll()
		if s.eof() {
			return
		}
		start := s.i
		if s.peek() == '[' {
			array := s.has("[[")
			if array {
				s.i += 2
			} else {
				s.i++
			}
			segs, offs := s.key()
			table = s.header(segs, offs, array, start)
			s.skipLine()
			continue
		}
		segs, offs := s.key()
		if len(segs) == 0 {
			s.skipLine()
			continue
		}
		path := s.keyPath(table, segs, offs)
		s.skipSpace()
		if s.peek() == '=' {
			s.i++
			s.value(path)
		}
		s.skipLine()
	}
}

// header resolves a table header's names to a path, recording each, and
// returns the path of the table it opens.
func (s *scanner) header(segs []string, offs []int, array bool, start int) []string {
	var path []string
	for j, seg := range segs {
		path = append(path, seg)
		s.record(path, offs[j])
		last := j == len(segs)-1
		if n, ok := s.aot[pathKey(path)]; ok && !(last && array) {
			path = append(path, index(n)) // [a.b] after [[a]] is inside a's last element
		}
	}
	if array && len(path) > 0 {
		k := pathKey(path)
		n, ok := s.aot[k]
		if !ok {
			n = -1
		}
		n++
		s.aot[k] = n
		path = append(path, index(n))
		s.record(path, start)
	}
	return path
}

// keyPath records the dotted key segs under table and returns its path.
func (s *scanner) keyPath(table, segs []string, offs []int) []string {
	path := append([]string(nil), table...)
	for j, seg := range segs {
		path = append(path, seg)
		s.record(path, offs[j])
	}
	return path
}

// key reads a dotted key, returning its segments and their offsets.
func (s *scanner) key() (segs []string, offs []int) {
	for {
		s.skipSpace()
		off := s.i
		var seg string
		switch s.peek() {
		case '"':
			seg = unquoteBasic(s.basicString())
		case '\'':
			seg = s.literalString()
		default:
			for !s.eof() && isBareKeyByte(s.src[s.i]) {
				s.i++
			}
			if s.i == off {
				return segs, offs
			}
			seg = string(s.src[off:s.i])
		}
		segs, offs = append(segs, seg), append(offs, off)
		s.skipSpace()
		if s.peek() != '.' {
			return segs, offs
		}
		s.i++
	}
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips one value, recording the positions of what it contains.
func (s *scanner) value(path []string) {
	s.skipSpace()
	switch {
	case s.has(`"""`):
		s.multiline(`"""`, true)
	case s.has(`'''`):
		s.multiline(`'''`, false)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.literalString()
	case s.peek() == '[':
		s.i++
		s.array(path)
	case s.peek() == '{':
		s.i++
		s.inlineTable(path)
	default:
		for !s.eof() && !strings.ContainsRune(",]}# \t\r\n", rune(s.src[s.i])) {
			s.i++
		}
	}
}

func (s *scanner) array(path []string) {
	for n := 0; ; n++ {
		s.skipAll()
		if s.eof() {
			return
		}
		if s.peek() == ']' {
			s.i++
			return
		}
		start := s.i
		elem := append(append([]string(nil), path...), index(n))
		s.record(elem, start)
		s.value(elem)
		s.skipAll()
		if s.peek() == ',' {
			s.i++
		} else if s.i == start {
			s.i++ // not a value: step over it
		}
	}
}

func (s *scanner) inlineTable(path []string) {
	for {
		s.skipAll()
		if s.eof() {
			return
		}
		if s.peek() == '}' {
			s.i++
			return
		}
		start := s.i
		segs, offs := s.key()
		kp := s.keyPath(path, segs, offs)
		s.skipSpace()
		if s.peek() == '=' {
			s.i++
			s.value(kp)
		}
		s.skipAll()
		if s.peek() == ',' {
			s.i++
		} else if s.i == start {
			s.i++
		}
	}
}

// basicString skips a "…" string and returns its raw contents.
func (s *scanner) basicString() string {
	s.i++ // opening quote
	start := s.i
	for !s.eof() {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			raw := string(s.src[start:s.i])
			s.i++
			return raw
		case '\n':
			return string(s.src[start:s.i])
		}
		s.i++
	}
	return string(s.src[start:min(s.i, len(s.src))])
}

// literalString skips a '…' string and returns its contents.
func (s *scanner) literalString() string {
	s.i++
	start := s.i
	for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
		s.i++
	}
	raw := string(s.src[start:s.i])
	if s.peek() == '\'' {
		s.i++
	}
	return raw
}

// multiline skips a """…""" or ”'…”' string.
func (s *scanner) multiline(delim string, escapes bool) {
	s.i += 3
	for !s.eof() {
		if escapes && s.src[s.i] == '\\' {
			s.i += 2
			continue
		}
		if s.has(delim) {
			s.i += 3
			for k := 0; k < 2 && s.peek() == delim[0]; k++ {
				s.i++ // up to two quotes may end the content: """a""""
			}
			return
		}
		s.i++
	}
}

// unquoteBasic decodes the escapes of a TOML basic string's contents.
func unquoteBasic(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			b.WriteByte(c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[raw[i]]
			if i+n < len(raw) {
				if v, err := strconv.ParseUint(raw[i+1:i+1+n], 16, 32); err == nil {
					b.WriteRune(rune(v))
					i += n
					continue
				}
			}
			b.WriteByte(raw[i])
		default:
			b.WriteByte(raw[i])
		}
	}
	if !utf8.ValidString(b.String()) {
		return raw
	}
	return b.String()
}
