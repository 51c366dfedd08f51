package vclimport

import (
	"fmt"
	"strings"
)

// Pos is a position in a VCL file: line and column, both from 1. The
// column counts bytes.
type Pos struct {
	Line, Col int
}

// String returns "LINE:COL".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// tokKind is the kind of a token.
type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // req.http.X-Key, directors.round_robin, b1
	tField          // .host (the dot and the name)
	tString         // "…", {"…"}, """…""" (Val holds the contents)
	tNumber         // 10, 1.5, with an optional unit: 1s, 500ms, 2m
	tCBlock         // C{ … }C inline C
	tPunct          // { } ( ) ; , = == != ~ !~ ! && || + - * / < > <= >= += -= *= /=
)

// token is one lexical token.
type token struct {
	kind tokKind
	pos  Pos
	text string // the source text (for strings: the contents)
	end  Pos    // the position just past the token
}

func (t token) is(punct string) bool { return t.kind == tPunct && t.text == punct }

// String names the token for error messages.
func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tString:
		return "string"
	case tCBlock:
		return "C{ }C block"
	}
	return fmt.Sprintf("%q", t.text)
}

// SyntaxError is a VCL syntax error at a position.
type SyntaxError struct {
	File string
	Pos  Pos
	Msg  string
}

// Error returns "FILE:LINE:COL: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// lexer turns VCL source into tokens, dropping comments.
type lexer struct {
	src       string
	off       int
	line, col int
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentByte(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '-'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lex returns every token of src, ending with tEOF, or the first error.
func lex(src string) ([]token, *SyntaxError) {
	l := &lexer{src: src, line: 1, col: 1}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

// advance moves past n bytes, counting lines.
func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); i++ {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.off++
	}
}

func (l *lexer) errf(p Pos, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// skip skips white space and comments.
func (l *lexer) skip() *SyntaxError {
	for l.off < len(l.src) {
		rest := l.src[l.off:]
		switch c := rest[0]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance(1)
		case c == '#' || strings.HasPrefix(rest, "//"):
			n := strings.IndexByte(rest, '\n')
			if n < 0 {
				n = len(rest)
			}
			l.advance(n)
		case strings.HasPrefix(rest, "/*"):
			p := l.pos()
			n := strings.Index(rest[2:], "*/")
			if n < 0 {
				return l.errf(p, "unterminated /* comment")
			}
			l.advance(n + 4)
		default:
			return nil
		}
	}
	return nil
}

// puncts are the punctuation tokens, longest first.
var puncts = []string{
	"==", "!=", "!~", "&&", "||", "<=", ">=", "+=", "-=", "*=", "/=",
	"{", "}", "(", ")", ";", ",", "=", "~", "!", "+", "-", "*", "/", "<", ">",
}

func (l *lexer) next() (token, *SyntaxError) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	p := l.pos()
	tok := func(k tokKind, text string, n int) (token, *SyntaxError) {
		l.advance(n)
		return token{kind: k, pos: p, text: text, end: l.pos()}, nil
	}
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: p, end: p}, nil
	}
	rest := l.src[l.off:]
	c := rest[0]
	switch {
	case strings.HasPrefix(rest, `{"`):
		n := strings.Index(rest[2:], `"}`)
		if n < 0 {
			return token{}, l.errf(p, `unterminated long string {"…"}`)
		}
		return tok(tString, rest[2:2+n], n+4)
	case strings.HasPrefix(rest, `"""`):
		n := strings.Index(rest[3:], `"""`)
		if n < 0 {
			return token{}, l.errf(p, `unterminated long string """…"""`)
		}
		return tok(tString, rest[3:3+n], n+6)
	case c == '"':
		// A VCL string has no escapes: it ends at the next quote and
		// may not span lines (a backslash is an ordinary character, as
		// in regular expressions such as "^/api\.v1").
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '"':
				return tok(tString, rest[1:i], i+1)
			case '\n':
				return token{}, l.errf(p, "unterminated string (a VCL string cannot span lines; use {\"…\"})")
			}
		}
		return token{}, l.errf(p, "unterminated string")
	case strings.HasPrefix(rest, "C{"):
		n := strings.Index(rest[2:], "}C")
		if n < 0 {
			return token{}, l.errf(p, "unterminated inline C block C{ … }C")
		}
		return tok(tCBlock, rest[:n+4], n+4)
	case isIdentStart(c):
		n := 1
		// Dots join names (req.http.host); a colon names a header's
		// field (req.http.Cache-Control:max-age, Varnish 6.6+).
		for n < len(rest) && (isIdentByte(rest[n]) || (rest[n] == '.' || rest[n] == ':') && n+1 < len(rest) && isIdentStart(rest[n+1])) {
			n++
		}
		return tok(tIdent, rest[:n], n)
	case c == '.' && len(rest) > 1 && isIdentStart(rest[1]):
		n := 2
		for n < len(rest) && isIdentByte(rest[n]) {
			n++
		}
		return tok(tField, rest[:n], n)
	case isDigit(c) || c == '.' && len(rest) > 1 && isDigit(rest[1]):
		n := 0
		for n < len(rest) && (isDigit(rest[n]) || rest[n] == '.') {
			n++
		}
		for n < len(rest) && (rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z') {
			n++
		}
		return tok(tNumber, rest[:n], n)
	}
	for _, pu := range puncts {
		if strings.HasPrefix(rest, pu) {
			return tok(tPunct, pu, len(pu))
		}
	}
	r := []rune(rest[:min(len(rest), 4)])
	return token{}, l.errf(p, "unexpected character %q", r[0])
}
