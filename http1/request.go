// Package http1 is shellac's HTTP/1.1 message layer: a strict request
// parser (RFC 9112), a tolerant-but-safe response parser, an incremental
// chunked-body decoder, append-style writers for the heads the proxy
// forwards or answers, and the PROXY protocol (v1 and v2).
//
// Everything works on byte slices owned by the caller, the event loop's
// connection buffers, and allocates nothing once warmed up: parsed
// messages are reused (Reset keeps their capacity), writers append to a
// caller's buffer (AppendX(dst, …) []byte), and errors are package-level
// values. Parsed slices alias the input buffer, with their capacity
// clipped to their length so that appending to one copies it: they are
// valid until that buffer is discarded or the message is Reset; do not
// retain them, copy instead.
//
// Parsers return ErrNeedMore for a valid but incomplete prefix (call
// again with more bytes; they keep no state between calls, except
// ChunkDecoder) and an *Error, carrying the status a server answers, for
// anything malformed or refused. Types are not safe for concurrent use;
// shellac keeps one of each per event loop.
package http1

import "bytes"

// Method identifies the request method. Methods are case-sensitive (RFC
// 9110 9.1): "get" is MethodOther.
type Method uint8

// Methods of RFC 9110 section 9 and RFC 5789. MethodOther, the zero value,
// is any other token.
const (
	MethodOther Method = iota
	MethodGET
	MethodHEAD
	MethodPOST
	MethodPUT
	MethodDELETE
	MethodOPTIONS
	MethodTRACE
	MethodPATCH
	MethodCONNECT
)

var methodNames = [...]string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT"}

// String returns the method name, or "OTHER" for MethodOther.
func (m Method) String() string {
	if m == MethodOther || int(m) >= len(methodNames) {
		return "OTHER"
	}
	return methodNames[m]
}

// Idempotent reports whether requests with method m are idempotent (RFC
// 9110 9.2.2): GET, HEAD, PUT, DELETE, OPTIONS and TRACE.
func (m Method) Idempotent() bool {
	switch m {
	case MethodGET, MethodHEAD, MethodPUT, MethodDELETE, MethodOPTIONS, MethodTRACE:
		return true
	}
	return false
}

func methodID(m []byte) Method {
	switch len(m) {
	case 3:
		if string(m) == "GET" {
			return MethodGET
		}
		if string(m) == "PUT" {
			return MethodPUT
		}
	case 4:
		if string(m) == "HEAD" {
			return MethodHEAD
		}
		if string(m) == "POST" {
			return MethodPOST
		}
	case 5:
		if string(m) == "TRACE" {
			return MethodTRACE
		}
		if string(m) == "PATCH" {
			return MethodPATCH
		}
	case 6:
		if string(m) == "DELETE" {
			return MethodDELETE
		}
	case 7:
		if string(m) == "OPTIONS" {
			return MethodOPTIONS
		}
		if string(m) == "CONNECT" {
			return MethodCONNECT
		}
	}
	return MethodOther
}

// Request is a parsed request head. Every byte slice in it aliases the
// buffer given to Parse (except Path for an absolute-form target without
// a path, which is a static "/"): they are valid until that buffer is
// discarded or the Request is Reset or parsed into again; do not retain
// them, copy instead.
//
// A Request is reused across requests; Parse resets it first and keeps
// the capacity of Headers, so parsing allocates nothing once Headers has
// grown to the number of fields of the largest head seen.
type Request struct {
	// Method is the method token; MethodID classifies it.
	Method []byte
	// Target is the request-target as received.
	Target []byte
	// Path is Target before the first "?"; Query is what follows it
	// (without the "?"), nil when there is no "?". For an absolute-form
	// target, Path is the path component ("/" when empty); for "*", Path
	// is "*".
	Path, Query []byte
	// Host is the authority of an absolute-form target, else the Host
	// field value; nil when neither is present (HTTP/1.0).
	Host     []byte
	MethodID Method
	// Minor is the minor HTTP version: 0 or 1.
	Minor int
	// Headers are the header fields in the order received.
	Headers []Header
	// HeadLen is the length of the head, from the first byte (including
	// any empty lines skipped before the request line) to the end of the
	// final CRLF: the n returned by Parse.
	HeadLen int
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports whether the body is chunked (Transfer-Encoding:
	// chunked).
	Chunked bool
	// KeepAlive reports whether the client asks to keep the connection:
	// HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
	// "Connection: keep-alive" (and no "close").
	KeepAlive bool
	// Expect100 reports "Expect: 100-continue" on an HTTP/1.1 request
	// (RFC 9110 10.1.1 says to ignore it in HTTP/1.0).
	Expect100 bool
	// Upgrade reports an HTTP/1.1 request with an Upgrade field and the
	// "upgrade" Connection option.
	Upgrade bool

	absolute  bool // absolute-form target: Host is its authority
	hostField bool // a Host field was received
	conn      connOptions
}

// Reset clears r for reuse, keeping the capacity of Headers.
func (r *Request) Reset() {
	clear(r.Headers) // drop references into the old buffer
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
}

// maxLeadingEmptyLines is how many empty lines (CRLF) Parse skips before a
// request line. RFC 9112 2.2 says a server SHOULD ignore at least one:
// some clients send an extra CRLF after a POST body. A few are tolerated,
// more are treated as garbage.
const maxLeadingEmptyLines = 4

// quickCheckMin is the buffered size past which Parse first looks for the
// end of the head (a fast SIMD search) before parsing, so that a head
// arriving in many small pieces costs a linear scan per piece instead of
// a full parse per piece.
const quickCheckMin = 4096

var crlfcrlf = []byte("\r\n\r\n")

var slash = []byte("/")

// Parse parses the request head at the start of buf into r. It returns n,
// the length of the head including its final CRLF; buf[n:] is the body or
// the next pipelined request. It returns ErrNeedMore when buf holds a
// valid but incomplete head, and an *Error carrying the status to answer
// for a malformed or refused one (it may do so before the head is
// complete, e.g. 414 as soon as the request line is known to be too long).
//
// Parsing is strict, per RFC 9112: CRLF line ends only, single spaces in
// the request line, token methods and field names, no whitespace before a
// colon, no obs-fold, no control characters in values, one valid Host in
// HTTP/1.1, a single plain Content-Length, Transfer-Encoding exactly
// "chunked" (only in HTTP/1.1, never with Content-Length), and no field
// named like those two with "_" for "-" (which some servers read as
// them). Unknown transfer codings get 501 and expectations other than
// 100-continue 417, once the rest of the head is known to be well-formed.
// Up to four empty lines before the request line are skipped. CONNECT is
// answered 501 (shellac does not tunnel CONNECT).
//
// Parse allocates nothing once r.Headers has the capacity it needs. After
// an error the fields of r are unspecified.
func (r *Request) Parse(buf []byte, lim *Limits) (n int, err error) {
	r.Reset()
	maxLine, maxHead, maxFields := lim.get()

	i := 0
	for skipped := 0; i < len(buf) && (buf[i] == '\r' || buf[i] == '\n'); skipped++ {
		if buf[i] == '\n' {
			return 0, errBareLF
		}
		if i+1 == len(buf) {
			return 0, ErrNeedMore
		}
		if buf[i+1] != '\n' {
			return 0, errBareCR
		}
		if skipped == maxLeadingEmptyLines {
			return 0, errLeadingLines
		}
		i += 2
	}
	start := i
	if len(buf)-start > quickCheckMin && bytes.Index(buf[start:], crlfcrlf) < 0 {
		return 0, r.incomplete(buf[start:], maxLine, maxHead, maxFields)
	}
	i, err = r.parseRequestLine(buf, start, maxLine)
	if err != nil {
		return 0, err
	}

	// Fields. Semantic refusals that are not syntax errors (417, 501)
	// wait for the whole head, so that a malformed head gets its 400.
	var (
		nCL, nHost int
		te         teList
		nTE        int
		later      *Error
		upgrade    bool
	)
	for {
		if i == len(buf) {
			return 0, headNeedMore(buf, start, maxHead)
		}
		k, err := endOfHead(buf, i, false)
		if err != nil {
			if err == ErrNeedMore {
				return 0, headNeedMore(buf, start, maxHead)
			}
			return 0, err
		}
		if k > 0 {
			i += k
			if i-start > maxHead {
				return 0, errHeadTooLarge
			}
			break
		}
		if len(r.Headers) == maxFields {
			return 0, errTooManyFields // and this line starts one more
		}
		name, value, next, err := scanField(buf, i, false)
		if err != nil {
			if err == ErrNeedMore {
				return 0, headNeedMore(buf, start, maxHead)
			}
			return 0, err
		}
		if next-start > maxHead {
			return 0, errHeadTooLarge
		}
		i = next
		r.Headers = append(r.Headers, Header{Name: name, Value: value})

		switch fieldKind(name) {
		case fieldHost:
			nHost++
			if nHost > 1 {
				return 0, errDupHost
			}
			if !validHost(value) {
				return 0, errHost
			}
			r.hostField = true
			if !r.absolute {
				r.Host = value
			}
		case fieldContentLength:
			nCL++
			if nCL > 1 {
				return 0, errDupCL
			}
			if r.ContentLength = parseContentLength(value); r.ContentLength < 0 {
				return 0, errContentLength
			}
		case fieldTransferEncoding:
			if r.Minor == 0 {
				return 0, errTE10
			}
			nTE++
			if nTE > 1 {
				return 0, errTEDup
			}
			if !te.add(value) {
				return 0, errTEChunked
			}
		case fieldConnection:
			if err := r.conn.add(value); err != nil {
				return 0, err
			}
		case fieldExpect:
			if equalFold(value, "100-continue") {
				r.Expect100 = r.Minor == 1
			} else if later == nil {
				later = errExpect
			}
		case fieldUpgrade:
			upgrade = true
		case fieldFramingLookalike:
			return 0, errFramingLookalike
		}
	}

	if nTE > 0 {
		switch {
		case nCL > 0:
			return 0, errCLAndTE
		case te.n == 0:
			return 0, errTEEmpty
		case te.chunked == 0:
			if later == nil {
				later = errTEUnknown
			}
		case te.chunked == 1 && te.lastIsCh && te.n > 1:
			// chunked is final, so the framing is known, but another
			// coding is applied under it (RFC 9112 6.1: 501).
			if later == nil {
				later = errTEUnknown
			}
		case !te.onlyChunked():
			return 0, errTEChunked
		default:
			r.Chunked = true
		}
	}
	if r.Minor == 1 && nHost == 0 {
		return 0, errNoHost
	}
	if later != nil {
		return 0, later
	}
	if r.Minor == 1 {
		r.KeepAlive = !r.conn.close
		r.Upgrade = upgrade && r.conn.upgrade
	} else {
		r.KeepAlive = r.conn.keepAlive && !r.conn.close
	}
	r.HeadLen = i
	return i, nil
}

// parseRequestLine parses the request line that starts at buf[start] and
// returns the index just past its CRLF:
//
//	request-line = method SP request-target SP HTTP-version CRLF
//
// It sets Method, MethodID, Target, Path, Query, Minor and, for an
// absolute-form target, Host.
func (r *Request) parseRequestLine(buf []byte, start, maxLine int) (int, error) {
	i := start
	for i < len(buf) && chars[buf[i]]&cToken != 0 {
		i++
	}
	if i == len(buf) {
		return 0, lineNeedMore(buf, start, maxLine)
	}
	if buf[i] != ' ' || i == start {
		return 0, errMethod
	}
	r.Method = buf[start:i:i]
	i++
	ts := i
	for i < len(buf) && chars[buf[i]]&cTarget != 0 {
		i++
	}
	if i == len(buf) {
		return 0, lineNeedMore(buf, start, maxLine)
	}
	if buf[i] != ' ' || i == ts {
		if buf[i] == '\r' || buf[i] == '\n' {
			return 0, errRequestLine // HTTP/0.9 "GET /" or a missing version
		}
		return 0, errTarget
	}
	r.Target = buf[ts:i:i]
	i++
	if len(buf)-i < len("HTTP/1.1\r\n") {
		if err := versionPrefix(buf[i:]); err != nil {
			return 0, err
		}
		return 0, lineNeedMore(buf, start, maxLine)
	}
	if err := r.parseVersion(buf[i:]); err != nil {
		return 0, err
	}
	if i+8-start > maxLine {
		return 0, errLineTooLong
	}
	i += len("HTTP/1.1\r\n")

	r.MethodID = methodID(r.Method)
	if r.MethodID == MethodCONNECT {
		return 0, errConnect
	}
	if err := r.parseTarget(); err != nil {
		return 0, err
	}
	return i, nil
}

// parseVersion parses "HTTP/1.x" CRLF at the start of v (at least 10
// bytes): HTTP/1.2 to HTTP/1.9 are taken as HTTP/1.1, 505 answers another
// well-formed major version, 400 anything else.
func (r *Request) parseVersion(v []byte) error {
	if string(v[:5]) != "HTTP/" || chars[v[5]]&cDigit == 0 || v[6] != '.' || chars[v[7]]&cDigit == 0 {
		return errVersion
	}
	switch {
	case v[8] == '\r' && v[9] == '\n':
	case v[8] == '\n':
		return errBareLF
	case v[8] == '\r':
		return errBareCR
	default:
		return errVersion
	}
	if v[5] != '1' {
		return errVersionSupport
	}
	// A higher minor version is processed as HTTP/1.1 (RFC 9110 2.5); the
	// request goes on as HTTP/1.1.
	r.Minor = min(int(v[7]-'0'), 1)
	return nil
}

// versionPrefix checks an incomplete HTTP-version (fewer than 10 bytes):
// it returns an error as soon as v cannot start "HTTP/d.d" CRLF.
func versionPrefix(v []byte) error {
	const pattern = "HTTP/0.0\r\n"
	for j, c := range v {
		switch {
		case pattern[j] == '0':
			if chars[c]&cDigit == 0 {
				return errVersion
			}
		case c != pattern[j]:
			if c == '\n' {
				return errBareLF
			}
			return errVersion
		}
	}
	return nil
}

// parseTarget classifies r.Target (RFC 9112 3.2) and sets Path, Query and,
// for absolute-form, Host. CONNECT was refused before.
func (r *Request) parseTarget() error {
	t := r.Target
	switch {
	case t[0] == '/': // origin-form
	case len(t) == 1 && t[0] == '*': // asterisk-form
		if r.MethodID != MethodOPTIONS {
			return errAsterisk
		}
		r.Path = t
		return nil
	default:
		if err := r.parseAbsolute(); err != nil {
			return err
		}
		return validEscapes(r.Path)
	}
	r.splitQuery(t)
	return validEscapes(r.Path)
}

// validEscapes refuses a path with a "%" not followed by two hex digits
// (RFC 3986 2.1: pct-encoded = "%" HEXDIG HEXDIG): a backend may decode
// it otherwise than a route or rule matched it. The query is left as it
// is, since clients do send stray "%" there and nothing routes on it
// decoded.
func validEscapes(path []byte) error {
	for i := 0; i < len(path); i++ {
		if path[i] == '%' && (i+2 >= len(path) || chars[path[i+1]]&cHex == 0 || chars[path[i+2]]&cHex == 0) {
			return errPercent
		}
	}
	return nil
}

// splitQuery sets Path and Query from path-and-query p.
func (r *Request) splitQuery(p []byte) {
	if q := bytes.IndexByte(p, '?'); q >= 0 {
		r.Path, r.Query = p[:q:q], p[q+1:]
	} else {
		r.Path = p
	}
	if len(r.Path) == 0 {
		r.Path = slash
	}
}

// parseAbsolute parses an absolute-form target:
//
//	absolute-URI = "http" / "https" "://" authority path-abempty [ "?" query ]
//
// Only the http and https schemes are accepted. The authority must be a
// non-empty uri-host[:port] without userinfo (RFC 9110 4.2.1, 4.2.4). It
// becomes r.Host: RFC 9112 3.2.2 says to ignore the Host field then.
func (r *Request) parseAbsolute() error {
	t := r.Target
	var rest []byte
	switch {
	case len(t) > 7 && equalFold(t[:7], "http://"):
		rest = t[7:]
	case len(t) > 8 && equalFold(t[:8], "https://"):
		rest = t[8:]
	case hasScheme(t):
		return errScheme
	default:
		return errTarget
	}
	end := 0
	for end < len(rest) && rest[end] != '/' && rest[end] != '?' {
		end++
	}
	auth := rest[:end]
	if len(auth) == 0 || auth[0] == ':' || !validHost(auth) {
		return errAuthority
	}
	r.Host = auth[:len(auth):len(auth)]
	r.absolute = true
	r.splitQuery(rest[end:])
	return nil
}

// hasScheme reports whether t starts with a URI scheme and ":" (RFC 3986
// 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
func hasScheme(t []byte) bool {
	for j, c := range t {
		switch {
		case 'a' <= lower[c] && lower[c] <= 'z':
		case j > 0 && (chars[c]&cDigit != 0 || c == '+' || c == '-' || c == '.'):
		case j > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// lineNeedMore returns ErrNeedMore for an incomplete request line that
// started at buf[start], or 414 when it already exceeds the limit.
func lineNeedMore(buf []byte, start, maxLine int) error {
	n := len(buf) - start
	if n > 0 && buf[len(buf)-1] == '\r' {
		n--
	}
	if n > maxLine {
		return errLineTooLong
	}
	return ErrNeedMore
}

// headNeedMore returns ErrNeedMore for an incomplete head that started at
// buf[start], or 431 when it already exceeds the limit.
func headNeedMore(buf []byte, start, maxHead int) error {
	if len(buf)-start > maxHead {
		return errHeadTooLarge
	}
	return ErrNeedMore
}

// incomplete checks a large head known to be incomplete (no CRLFCRLF in
// buf) without parsing its fields one by one: it is parsed when its end
// arrives. The request line, once complete, is parsed, and the limits are
// checked.
func (r *Request) incomplete(buf []byte, maxLine, maxHead, maxFields int) error {
	eol := bytes.IndexByte(buf, '\n')
	if eol < 0 {
		return lineNeedMore(buf, 0, maxLine)
	}
	if _, err := r.parseRequestLine(buf[:eol+1], 0, maxLine); err != nil {
		return err
	}
	if len(buf) > maxHead {
		return errHeadTooLarge
	}
	if bytes.Count(buf[eol+1:], []byte{'\n'}) > maxFields {
		return errTooManyFields
	}
	return ErrNeedMore
}

// Header returns the value of the first field named name (compared
// without regard to ASCII case), or nil when there is none. The value is
// valid until the parsed buffer is discarded or r is Reset.
func (r *Request) Header(name string) []byte {
	for i := range r.Headers {
		if equalFoldString(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// Cookie returns the value of the cookie named name (case-sensitive, RFC
// 6265 5.4) from the request's Cookie fields, or nil when there is none.
// The value is returned raw, quotes included if the client sent any. It
// is valid until the parsed buffer is discarded or r is Reset.
func (r *Request) Cookie(name string) []byte {
	for i := range r.Headers {
		h := &r.Headers[i]
		if len(h.Name) != 6 || !equalFold(h.Name, "cookie") {
			continue
		}
		v := h.Value
		for len(v) > 0 {
			var pair []byte
			if j := bytes.IndexByte(v, ';'); j >= 0 {
				pair, v = v[:j], v[j+1:]
			} else {
				pair, v = v, nil
			}
			pair = trimOWS(pair)
			eq := bytes.IndexByte(pair, '=')
			if eq < 0 {
				continue
			}
			if string(trimOWS(pair[:eq])) == name {
				return trimOWS(pair[eq+1:])
			}
		}
	}
	return nil
}

// QueryValue returns the raw (not percent-decoded) value of the first
// query parameter named name, compared byte for byte with the raw name in
// the query; a parameter without "=" has an empty, non-nil value. It
// returns nil when there is no such parameter. The value is valid until
// the parsed buffer is discarded or r is Reset.
func (r *Request) QueryValue(name string) []byte {
	q := r.Query
	for len(q) > 0 {
		var pair []byte
		if j := bytes.IndexByte(q, '&'); j >= 0 {
			pair, q = q[:j], q[j+1:]
		} else {
			pair, q = q, nil
		}
		k, v := pair, pair[len(pair):]
		if eq := bytes.IndexByte(pair, '='); eq >= 0 {
			k, v = pair[:eq], pair[eq+1:]
		}
		if string(k) == name {
			return v
		}
	}
	return nil
}
