package http1

import "encoding/binary"

// Header is one header field line. Name and Value alias the parsed buffer
// (Value without the surrounding optional whitespace): they are valid until
// the buffer is discarded or the message is Reset; do not retain them,
// copy instead.
type Header struct{ Name, Value []byte }

// Limits bound what the parsers accept. A zero field takes its default.
type Limits struct {
	// MaxRequestLine bounds the request line (or a response's status
	// line), CRLF excluded; past it requests get 414. Default 8192.
	MaxRequestLine int
	// MaxHeaderBytes bounds the whole head, start line and final CRLF
	// included; past it 431. Default 65536.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header field lines; past it 431.
	// Default 100.
	MaxHeaders int
}

// Default limits.
const (
	DefaultMaxRequestLine = 8192
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxHeaders     = 100
)

// get returns the effective limits; l may be nil.
func (l *Limits) get() (line, head, fields int) {
	line, head, fields = DefaultMaxRequestLine, DefaultMaxHeaderBytes, DefaultMaxHeaders
	if l != nil {
		if l.MaxRequestLine > 0 {
			line = l.MaxRequestLine
		}
		if l.MaxHeaderBytes > 0 {
			head = l.MaxHeaderBytes
		}
		if l.MaxHeaders > 0 {
			fields = l.MaxHeaders
		}
	}
	return
}

// Names of the fields the parsers and writers act on.
const (
	fieldOther uint8 = iota
	fieldHost
	fieldContentLength
	fieldTransferEncoding
	fieldConnection
	fieldExpect
	fieldUpgrade
	fieldKeepAlive       // hop-by-hop
	fieldProxyConnection // hop-by-hop
	fieldTE              // hop-by-hop
	fieldXForwardedFor
	fieldXForwardedProto
	fieldXForwardedHost
	// fieldFramingLookalike: Content_Length or Transfer_Encoding (any mix
	// of "_" and "-"). Some servers and gateway interfaces (CGI, WSGI)
	// map "_" to "-", or both to "_", and would read such a field as
	// framing the proxy ignored: requests carrying one are refused.
	fieldFramingLookalike
	numFieldKinds
)

// fieldKind classifies a field name, ignoring case. The switch on the
// length keeps the common case (an uninteresting field) to one compare.
func fieldKind(name []byte) uint8 {
	switch len(name) {
	case 2:
		if equalFold(name, "te") {
			return fieldTE
		}
	case 4:
		if equalFold(name, "host") {
			return fieldHost
		}
	case 6:
		if equalFold(name, "expect") {
			return fieldExpect
		}
	case 7:
		if equalFold(name, "upgrade") {
			return fieldUpgrade
		}
	case 10:
		if equalFold(name, "connection") {
			return fieldConnection
		}
		if equalFold(name, "keep-alive") {
			return fieldKeepAlive
		}
	case 14:
		if equalFold(name, "content-length") {
			return fieldContentLength
		}
		if equalFoldDash(name, "content-length") {
			return fieldFramingLookalike
		}
	case 15:
		if equalFold(name, "x-forwarded-for") {
			return fieldXForwardedFor
		}
	case 16:
		if equalFold(name, "proxy-connection") {
			return fieldProxyConnection
		}
		if equalFold(name, "x-forwarded-host") {
			return fieldXForwardedHost
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			return fieldTransferEncoding
		}
		if equalFold(name, "x-forwarded-proto") {
			return fieldXForwardedProto
		}
		if equalFoldDash(name, "transfer-encoding") {
			return fieldFramingLookalike
		}
	}
	return fieldOther
}

// equalFoldDash is equalFold where "_" in b also matches "-" in s.
func equalFoldDash(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := lower[b[i]]
		if c == '_' && s[i] == '-' {
			continue
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// scanField parses the field line that starts at buf[i] (RFC 9112 5):
//
//	field-line  = field-name ":" OWS field-value OWS CRLF
//	field-name  = token
//	field-value = *( field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ] )
//
// It returns the name, the value without OWS, and the index just past the
// line. A line starting with SP or HTAB is obs-fold (or whitespace before
// the first field, RFC 9112 2.2) and is rejected either way. err is
// ErrNeedMore when buf ends inside the line.
//
// With lenient set (responses, which the proxy re-serialises, so whatever
// it accepts is what the client sees): a bare LF ends the line (RFC 9112
// 2.2 MAY), and whitespace between the name and the colon is removed, as
// RFC 9112 5.1 requires of a proxy.
func scanField(buf []byte, i int, lenient bool) (name, value []byte, next int, err error) {
	start := i
	if c := buf[i]; c == ' ' || c == '\t' {
		return nil, nil, 0, errObsFold
	}
	for i < len(buf) && chars[buf[i]]&cToken != 0 {
		i++
	}
	end := i
	if lenient {
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t') {
			i++
		}
	}
	if i == len(buf) {
		return nil, nil, 0, ErrNeedMore
	}
	if buf[i] != ':' || end == start {
		if buf[i] == '\n' && !lenient {
			return nil, nil, 0, errBareLF
		}
		return nil, nil, 0, errFieldName
	}
	name = buf[start:end:end]
	i++
	for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t') {
		i++
	}
	vs := i
	i = skipValueWords(buf, i)
	for i < len(buf) && chars[buf[i]]&cValue != 0 {
		i++
	}
	if i == len(buf) {
		return nil, nil, 0, ErrNeedMore
	}
	ve := i
	switch buf[i] {
	case '\r':
		if i+1 == len(buf) {
			return nil, nil, 0, ErrNeedMore
		}
		if buf[i+1] != '\n' {
			return nil, nil, 0, errBareCR
		}
		i += 2
	case '\n':
		if !lenient {
			return nil, nil, 0, errBareLF
		}
		i++
	default:
		return nil, nil, 0, errFieldValue
	}
	for ve > vs && (buf[ve-1] == ' ' || buf[ve-1] == '\t') {
		ve--
	}
	return name, buf[vs:ve:ve], i, nil
}

// Constants for testing eight bytes at once (SWAR).
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// skipValueWords advances i over whole 8-byte words of buf that hold only
// bytes in 0x20-0x7E or 0x80-0xFF (field-vchar / SP), and returns the
// index of the first word holding anything else; the byte loop takes it
// from there (HTAB, the CR ending the line, a bad byte). Field values are
// most of a head, so this is the parser's hot loop.
//
// A word has a byte below 0x20 when (w - 0x20×lsb) &^ w & msb is non-zero,
// and a byte equal to 0x7F when w^0x7F×lsb has a zero byte; both tests
// are exact as to whether such a byte exists (Bit Twiddling Hacks,
// "hasless" and "haszero"). TestSkipValueWords checks them against the
// byte table.
func skipValueWords(buf []byte, i int) int {
	for ; i+8 <= len(buf); i += 8 {
		w := binary.LittleEndian.Uint64(buf[i:])
		del := w ^ (0x7f * lsb)
		if ((w-0x20*lsb)&^w|(del-lsb)&^del)&msb != 0 {
			break
		}
	}
	return i
}

// endOfHead reports whether buf[i:] starts with the empty line that ends
// a head: n is its length (2 for CRLF, 1 for a bare LF when lenient), 0 if
// buf[i] starts a field line. err is ErrNeedMore for a lone CR at the end
// of buf.
func endOfHead(buf []byte, i int, lenient bool) (n int, err error) {
	switch buf[i] {
	case '\r':
		if i+1 == len(buf) {
			return 0, ErrNeedMore
		}
		if buf[i+1] != '\n' {
			return 0, errBareCR
		}
		return 2, nil
	case '\n':
		if lenient {
			return 1, nil
		}
		return 0, errBareLF
	}
	return 0, nil
}

// parseContentLength parses a Content-Length value: 1*DIGIT, at most 18
// digits so that it fits an int64 without overflow checks (RFC 9110 8.6).
// It returns -1 for anything else (a sign, a list, spaces, an empty
// value).
func parseContentLength(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for _, c := range v {
		if chars[c]&cDigit == 0 {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// maxConnOptions bounds the Connection options other than close,
// keep-alive and upgrade that a message may carry. Each names a field to
// strip, and the writers compare every field name with every option, so
// the bound keeps that quadratic step small. Real clients send one or two.
const maxConnOptions = 32

// connOptions are the Connection options the parsers act on.
type connOptions struct {
	close, keepAlive, upgrade bool
	// other counts the options that name fields (to strip when
	// forwarding).
	other int
}

// add records the options of one Connection field value (RFC 9110 7.6.1:
// Connection = #connection-option, a list of tokens).
func (o *connOptions) add(v []byte) *Error {
	for len(v) > 0 {
		var e []byte
		e, v = nextListElem(v)
		if len(e) == 0 {
			continue
		}
		for _, c := range e {
			if chars[c]&cToken == 0 {
				return errConnection
			}
		}
		switch {
		case equalFold(e, "close"):
			o.close = true
		case equalFold(e, "keep-alive"):
			o.keepAlive = true
		case equalFold(e, "upgrade"):
			o.upgrade = true
		default:
			o.other++
			if o.other > maxConnOptions {
				return errConnOptions
			}
		}
	}
	return nil
}

// connectionNames reports whether one of the Connection fields among hs
// lists name as an option (RFC 9110 7.6.1).
func connectionNames(hs []Header, name []byte) bool {
	for i := range hs {
		if fieldKind(hs[i].Name) != fieldConnection {
			continue
		}
		v := hs[i].Value
		for len(v) > 0 {
			var e []byte
			e, v = nextListElem(v)
			if equalFoldBytes(e, name) {
				return true
			}
		}
	}
	return false
}

// teList accumulates the transfer codings of Transfer-Encoding fields
// (RFC 9112 6.1):
//
//	Transfer-Encoding = #transfer-coding
//	transfer-coding   = token *( OWS ";" OWS transfer-parameter )
type teList struct {
	n        int  // codings seen
	chunked  int  // of which chunked
	lastIsCh bool // the last coding seen is chunked
}

// add parses one field value into l; it reports false on a syntax error,
// including "chunked" with parameters (chunked has none, and some parsers
// would not recognise it, a classic desync).
func (l *teList) add(v []byte) bool {
	for len(v) > 0 {
		var e []byte
		e, v = nextListElem(v)
		if len(e) == 0 {
			continue
		}
		j := 0
		for j < len(e) && chars[e[j]]&cToken != 0 {
			j++
		}
		if j == 0 {
			return false
		}
		name, params := e[:j], trimOWS(e[j:])
		if len(params) > 0 && params[0] != ';' {
			return false
		}
		for _, c := range params {
			if chars[c]&cValue == 0 {
				return false
			}
		}
		l.n++
		l.lastIsCh = equalFold(name, "chunked")
		if l.lastIsCh {
			if len(params) > 0 {
				return false
			}
			l.chunked++
		}
	}
	return true
}

// onlyChunked reports whether the codings are exactly "chunked".
func (l *teList) onlyChunked() bool { return l.n == 1 && l.chunked == 1 }
