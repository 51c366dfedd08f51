package hostile

import (
	"bytes"
	"fmt"
	"strings"
)

// StrictRequest is a request read by ReadStrict.
type StrictRequest struct {
	Method, Target, Proto string
	// Host is the Host field value; HasHost reports whether there was one.
	Host    string
	HasHost bool
	// Chunked: the body was chunked; BodyLen is its decoded payload size
	// (for a Content-Length body, the Content-Length).
	Chunked bool
	BodyLen int64
	// Close: the request asks to close the connection after it.
	Close bool
	// Len is the length of the whole message, head and body.
	Len int
}

// maxStrictHead bounds a head ReadStrict accepts (a proxy in front has
// its own, smaller limits).
const maxStrictHead = 1 << 20

// ReadStrict reads one request from the start of buf and judges it the
// way a strict origin server would (RFC 9112): a request line of a token
// method, a request-target of visible ASCII and HTTP/1.0 or HTTP/1.1, each
// separated by one SP; CRLF line ends only; field names that are tokens,
// directly followed by ":"; values of visible ASCII, obs-text, SP and
// HTAB; no obs-fold; exactly one Host in HTTP/1.1 (at most one in 1.0);
// at most one Content-Length, of digits only; at most one
// Transfer-Encoding, exactly "chunked", only in HTTP/1.1 and never with a
// Content-Length; no field named like those two with "_"; a chunked body
// with hex sizes, well-formed extensions, CRLF after each chunk, and no
// Content-Length, Transfer-Encoding or Host in its trailers.
//
// It returns ErrIncomplete when buf ends inside a request that is
// well-formed so far, and an error wrapping ErrMalformed, saying what is
// wrong, otherwise.
func ReadStrict(buf []byte) (StrictRequest, error) {
	var r StrictRequest
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if err := checkPartialHead(buf); err != nil {
			return r, err
		}
		if len(buf) > maxStrictHead {
			return r, malformed("head larger than %d bytes", maxStrictHead)
		}
		return r, ErrIncomplete
	}
	head := buf[:end+2]
	lines := bytes.Split(head[:len(head)-2], []byte("\r\n"))
	for _, l := range lines {
		if err := lineBytes(l); err != nil {
			return r, err
		}
	}
	if err := r.requestLine(lines[0]); err != nil {
		return r, err
	}
	cl, te, err := r.fields(lines[1:])
	if err != nil {
		return r, err
	}
	n := end + 4
	switch {
	case te:
		size, k, err := readChunked(buf[n:])
		if err != nil {
			return r, err
		}
		r.Chunked, r.BodyLen = true, size
		n += k
	case cl >= 0:
		if int64(len(buf)-n) < cl {
			return r, ErrIncomplete
		}
		r.BodyLen = cl
		n += int(cl)
	}
	r.Len = n
	return r, nil
}

// checkPartialHead rejects an incomplete head as soon as it holds a bare
// CR or LF, so that garbage is reported at once instead of waited on.
func checkPartialHead(buf []byte) error {
	for i, c := range buf {
		switch c {
		case '\n':
			if i == 0 || buf[i-1] != '\r' {
				return malformed("bare LF")
			}
		case '\r':
			if i+1 < len(buf) && buf[i+1] != '\n' {
				return malformed("bare CR")
			}
		}
	}
	return nil
}

// lineBytes rejects a bare CR or LF inside a line.
func lineBytes(l []byte) error {
	if i := bytes.IndexAny(l, "\r\n"); i >= 0 {
		return malformed("bare CR or LF in %q", l)
	}
	return nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if !isTchar(c) {
			return false
		}
	}
	return true
}

func (r *StrictRequest) requestLine(l []byte) error {
	parts := bytes.Split(l, []byte(" "))
	if len(parts) != 3 {
		return malformed("request line %q is not three words", l)
	}
	if !isToken(parts[0]) {
		return malformed("method %q", parts[0])
	}
	if len(parts[1]) == 0 {
		return malformed("empty request-target")
	}
	for _, c := range parts[1] {
		if c <= 0x20 || c >= 0x7f {
			return malformed("request-target byte 0x%02x", c)
		}
	}
	switch string(parts[2]) {
	case "HTTP/1.0", "HTTP/1.1":
	default:
		return malformed("version %q", parts[2])
	}
	r.Method, r.Target, r.Proto = string(parts[0]), string(parts[1]), string(parts[2])
	return nil
}

// fields checks the field lines and returns the Content-Length (-1 when
// absent) and whether the body is chunked.
func (r *StrictRequest) fields(lines [][]byte) (cl int64, chunked bool, err error) {
	cl = -1
	var nCL, nTE, nHost int
	keepAlive := false
	for _, l := range lines {
		name, value, err := fieldLine(l)
		if err != nil {
			return 0, false, err
		}
		lname := strings.ToLower(string(name))
		switch lname {
		case "host":
			nHost++
			r.Host, r.HasHost = string(value), true
		case "content-length":
			nCL++
			if len(value) == 0 || len(value) > 18 {
				return 0, false, malformed("Content-Length %q", value)
			}
			cl = 0
			for _, c := range value {
				if c < '0' || c > '9' {
					return 0, false, malformed("Content-Length %q", value)
				}
				cl = cl*10 + int64(c-'0')
			}
		case "transfer-encoding":
			nTE++
			if !strings.EqualFold(string(value), "chunked") {
				return 0, false, malformed("Transfer-Encoding %q", value)
			}
			chunked = true
		case "connection":
			for _, o := range strings.Split(string(value), ",") {
				switch strings.ToLower(strings.TrimSpace(o)) {
				case "close":
					r.Close = true
				case "keep-alive":
					keepAlive = true
				}
			}
		default:
			if u := strings.ReplaceAll(lname, "_", "-"); u != lname && (u == "content-length" || u == "transfer-encoding") {
				return 0, false, malformed("framing look-alike field %q", name)
			}
		}
	}
	switch {
	case nCL > 1:
		return 0, false, malformed("%d Content-Length fields", nCL)
	case nTE > 1:
		return 0, false, malformed("%d Transfer-Encoding fields", nTE)
	case nTE > 0 && nCL > 0:
		return 0, false, malformed("Transfer-Encoding with Content-Length")
	case nTE > 0 && r.Proto == "HTTP/1.0":
		return 0, false, malformed("Transfer-Encoding in HTTP/1.0")
	case nHost > 1:
		return 0, false, malformed("%d Host fields", nHost)
	case nHost == 0 && r.Proto == "HTTP/1.1":
		return 0, false, malformed("HTTP/1.1 without Host")
	}
	if r.Proto == "HTTP/1.0" && !keepAlive {
		r.Close = true
	}
	return cl, chunked, nil
}

// fieldLine splits a field line into its name and its value without OWS.
func fieldLine(l []byte) (name, value []byte, err error) {
	if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
		return nil, nil, malformed("obs-fold or leading whitespace %q", l)
	}
	colon := bytes.IndexByte(l, ':')
	if colon < 0 {
		return nil, nil, malformed("field line without colon %q", l)
	}
	name = l[:colon]
	if !isToken(name) {
		return nil, nil, malformed("field name %q", name)
	}
	value = bytes.Trim(l[colon+1:], " \t")
	for _, c := range value {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return nil, nil, malformed("field value byte 0x%02x in %q", c, name)
		}
	}
	return name, value, nil
}

// readChunked reads a chunked body at the start of p and returns its
// payload size and its length.
func readChunked(p []byte) (size int64, n int, err error) {
	for {
		eol := bytes.Index(p[n:], []byte("\r\n"))
		if eol < 0 {
			if err := checkPartialHead(p[n:]); err != nil {
				return 0, 0, err
			}
			return 0, 0, ErrIncomplete
		}
		line := p[n : n+eol]
		if err := lineBytes(line); err != nil {
			return 0, 0, err
		}
		cs, err := chunkSize(line)
		if err != nil {
			return 0, 0, err
		}
		n += eol + 2
		if cs == 0 {
			break
		}
		if int64(len(p)-n) < cs+2 {
			return 0, 0, ErrIncomplete
		}
		n += int(cs)
		if p[n] != '\r' || p[n+1] != '\n' {
			return 0, 0, malformed("no CRLF after chunk data")
		}
		n += 2
		size += cs
	}
	for {
		eol := bytes.Index(p[n:], []byte("\r\n"))
		if eol < 0 {
			if err := checkPartialHead(p[n:]); err != nil {
				return 0, 0, err
			}
			return 0, 0, ErrIncomplete
		}
		line := p[n : n+eol]
		n += eol + 2
		if len(line) == 0 {
			return size, n, nil
		}
		if err := lineBytes(line); err != nil {
			return 0, 0, err
		}
		name, _, err := fieldLine(line)
		if err != nil {
			return 0, 0, err
		}
		switch strings.ToLower(string(name)) {
		case "content-length", "transfer-encoding", "host":
			return 0, 0, malformed("forbidden trailer field %q", name)
		}
	}
}

// chunkSize parses chunk-size [ chunk-ext ].
func chunkSize(line []byte) (int64, error) {
	i := 0
	var v int64
	for i < len(line) && isHex(line[i]) {
		if i == 15 {
			return 0, malformed("chunk size %q too long", line)
		}
		v = v<<4 | int64(hexVal(line[i]))
		i++
	}
	if i == 0 {
		return 0, malformed("chunk size %q", line)
	}
	if err := chunkExt(line[i:]); err != nil {
		return 0, err
	}
	return v, nil
}

// chunkExt checks *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ).
func chunkExt(e []byte) error {
	bad := malformed("chunk extension %q", e)
	ws := func(i int) int {
		for i < len(e) && (e[i] == ' ' || e[i] == '\t') {
			i++
		}
		return i
	}
	tok := func(i int) int {
		for i < len(e) && isTchar(e[i]) {
			i++
		}
		return i
	}
	i := 0
	for {
		i = ws(i)
		if i == len(e) {
			if i > 0 && (e[i-1] == ' ' || e[i-1] == '\t') {
				return bad // trailing BWS is not followed by ";"
			}
			return nil
		}
		if e[i] != ';' {
			return bad
		}
		i = ws(i + 1)
		j := tok(i)
		if j == i {
			return bad
		}
		i = ws(j)
		if i == len(e) || e[i] != '=' {
			continue
		}
		i = ws(i + 1)
		if i < len(e) && e[i] == '"' {
			i++
			for i < len(e) && e[i] != '"' {
				if e[i] == '\\' {
					i++
				}
				if i < len(e) && (e[i] < 0x20 && e[i] != '\t' || e[i] == 0x7f) {
					return bad
				}
				i++
			}
			if i >= len(e) {
				return bad
			}
			i++
			continue
		}
		j = tok(i)
		if j == i {
			return bad
		}
		i = j
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
