package http1

// Byte classes. Each byte value maps to a set of class bits, so that the
// parsers test a byte with one table load and an and. The table is built
// from the RFC ABNF below at init time (it is 256 bytes).
//
//	tchar       = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "."
//	              / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA    ; RFC 9110 5.6.2
//	VCHAR       = %x21-7E                                          ; RFC 5234
//	obs-text    = %x80-FF                                          ; RFC 9110 5.6.4
//	field-vchar = VCHAR / obs-text                                 ; RFC 9110 5.5
//	reg-name    = *( unreserved / pct-encoded / sub-delims )       ; RFC 3986 3.2.2
//	unreserved  = ALPHA / DIGIT / "-" / "." / "_" / "~"
//	sub-delims  = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
//	qdtext      = HTAB / SP / "!" / %x23-5B / %x5D-7E / obs-text   ; RFC 9110 5.6.4
const (
	// cToken: tchar.
	cToken uint8 = 1 << iota
	// cTarget: a byte allowed in a request-target. shellac accepts any
	// VCHAR except "#" (a fragment is never sent, RFC 9112 3.2), rather
	// than the exact RFC 3986 set, because browsers send some of the
	// excluded delimiters ("|", "{", "^" …) unescaped; the target is
	// forwarded as received, so leniency here cannot desynchronise the
	// backend.
	cTarget
	// cValue: a byte allowed inside a field value or reason phrase:
	// field-vchar / SP / HTAB.
	cValue
	// cHost: a byte of a reg-name other than "%" (unreserved /
	// sub-delims).
	cHost
	// cHex: HEXDIG.
	cHex
	// cDigit: DIGIT.
	cDigit
	// cQdtext: qdtext.
	cQdtext
)

var chars [256]uint8

// lower maps ASCII upper-case letters to lower case and every other byte
// to itself.
var lower [256]byte

// hexVal is the value of a hex digit.
var hexVal [256]uint8

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		lower[c] = b
		if 'A' <= b && b <= 'Z' {
			lower[c] = b + 'a' - 'A'
		}
		alpha := 'a' <= lower[c] && lower[c] <= 'z'
		digit := '0' <= b && b <= '9'
		var m uint8
		if alpha || digit || contains("!#$%&'*+-.^_`|~", b) {
			m |= cToken
		}
		if 0x21 <= b && b <= 0x7e && b != '#' {
			m |= cTarget
		}
		if 0x21 <= b && b != 0x7f || b == ' ' || b == '\t' {
			m |= cValue
		}
		if alpha || digit || contains("-._~!$&'()*+,;=", b) {
			m |= cHost
		}
		switch {
		case digit:
			m |= cHex | cDigit
			hexVal[c] = b - '0'
		case 'a' <= lower[c] && lower[c] <= 'f':
			m |= cHex
			hexVal[c] = lower[c] - 'a' + 10
		}
		if b == '\t' || b == ' ' || b == '!' || 0x23 <= b && b <= 0x5b || 0x5d <= b && b <= 0x7e || b >= 0x80 {
			m |= cQdtext
		}
		chars[c] = m
	}
}

func contains(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func isToken(c byte) bool { return chars[c]&cToken != 0 }

// equalFold reports whether b equals the lower-case ASCII string s,
// ignoring ASCII case in b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower[b[i]] != s[i] {
			return false
		}
	}
	return true
}

// equalFoldBytes reports whether a and b are equal ignoring ASCII case.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower[a[i]] != lower[b[i]] {
			return false
		}
	}
	return true
}

// equalFoldString reports whether b equals s ignoring ASCII case in both.
func equalFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower[b[i]] != lower[s[i]] {
			return false
		}
	}
	return true
}

// trimOWS removes optional whitespace (SP / HTAB) from both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextListElem returns the first element of a comma-separated list
// (RFC 9110 5.6.1) with OWS trimmed, and the rest of the list after its
// comma. Empty elements are returned as empty slices; callers skip them.
func nextListElem(b []byte) (elem, rest []byte) {
	for i := 0; i < len(b); i++ {
		if b[i] == ',' {
			return trimOWS(b[:i]), b[i+1:]
		}
	}
	return trimOWS(b), nil
}

// validHost reports whether h is uri-host [ ":" port ] (RFC 3986 3.2.2,
// 3.2.3), the syntax of a Host field value and of the authority of an http
// URI without userinfo. An empty host is valid here (RFC 9112 3.2 allows
// an empty Host field); callers that need a host check for it.
//
//	uri-host   = IP-literal / IPv4address / reg-name
//	IP-literal = "[" ( IPv6address / IPvFuture ) "]"
//	port       = *DIGIT   ; at most five digits here
//
// IP literals are checked for their character set (hex digits, ":", ".",
// and the IPvFuture characters), not for a well-formed address: the check
// is there to keep delimiters and controls out, not to resolve.
func validHost(h []byte) bool {
	i := 0
	if len(h) > 0 && h[0] == '[' {
		i = 1
		for i < len(h) && h[i] != ']' {
			c := h[i]
			if chars[c]&cHost == 0 && c != ':' {
				return false
			}
			i++
		}
		if i == len(h) || i == 1 {
			return false
		}
		i++ // ']'
	} else {
		for i < len(h) {
			c := h[i]
			if chars[c]&cHost != 0 {
				i++
				continue
			}
			if c == '%' && i+2 < len(h) && chars[h[i+1]]&cHex != 0 && chars[h[i+2]]&cHex != 0 {
				i += 3
				continue
			}
			break
		}
	}
	if i == len(h) {
		return true
	}
	if h[i] != ':' {
		return false
	}
	port := h[i+1:]
	if len(port) > 5 {
		return false
	}
	for _, c := range port {
		if chars[c]&cDigit == 0 {
			return false
		}
	}
	return true
}

// IsTokenChar reports whether c may appear in a token (RFC 9110 5.6.2):
// a method or a field name.
func IsTokenChar(c byte) bool { return isToken(c) }
