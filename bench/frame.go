package bench

import (
	"bytes"
	"errors"
)

// This file holds the little HTTP/1.1 framing the harness needs on both
// sides: the backends parse request heads and skip request bodies, the
// built-in generator parses response heads and skips response bodies. It
// is not a general parser; it trusts its peers (the harness talks only to
// proxies it configured itself) and only finds where messages end.

var (
	errNeedMore   = errors.New("bench: need more input")
	errBadMessage = errors.New("bench: malformed HTTP message")
	errHeadTooBig = errors.New("bench: message head too large")
	errBadChunk   = errors.New("bench: malformed chunked body")
)

// maxHead bounds a message head and a chunk-size or trailer line.
const maxHead = 64 << 10

var crlfcrlf = []byte("\r\n\r\n")

// head is what the harness needs from a request or response head.
type head struct {
	method         []byte // request only; valid until the buffer it was parsed from changes
	path           []byte // request only; same lifetime as method
	status         int    // response only
	contentLength  int64  // -1 when absent
	chunked        bool   // Transfer-Encoding ends in chunked
	close          bool   // Connection: close, or HTTP/1.0 without keep-alive
	expectContinue bool   // Expect: 100-continue
}

// parseHead parses the message head at the start of b and returns it with
// the number of bytes it occupies (terminating blank line included). It
// returns errNeedMore when b does not hold a whole head yet.
func parseHead(b []byte, response bool) (h head, n int, err error) {
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		if len(b) > maxHead {
			return h, 0, errHeadTooBig
		}
		return h, 0, errNeedMore
	}
	n = end + 4
	h.contentLength = -1
	lines := b[:end+2]
	i := bytes.IndexByte(lines, '\n')
	first := bytes.TrimSuffix(lines[:i], []byte{'\r'})
	lines = lines[i+1:]
	http10 := false
	keepAlive := false
	if response {
		// HTTP/1.1 200 OK
		if len(first) < 12 || !bytes.HasPrefix(first, []byte("HTTP/1.")) {
			return h, 0, errBadMessage
		}
		http10 = first[7] == '0'
		s := first[9:12]
		for _, c := range s {
			if c < '0' || c > '9' {
				return h, 0, errBadMessage
			}
			h.status = h.status*10 + int(c-'0')
		}
	} else {
		// GET /path HTTP/1.1
		sp1 := bytes.IndexByte(first, ' ')
		sp2 := bytes.LastIndexByte(first, ' ')
		if sp1 <= 0 || sp2 <= sp1 {
			return h, 0, errBadMessage
		}
		h.method, h.path = first[:sp1], first[sp1+1:sp2]
		http10 = bytes.Equal(first[sp2+1:], []byte("HTTP/1.0"))
	}
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		line := bytes.TrimSuffix(lines[:i], []byte{'\r'})
		lines = lines[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			cl, ok := parseDecimal(value)
			if !ok {
				return h, 0, errBadMessage
			}
			h.contentLength = cl
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = hasSuffixFold(value, "chunked")
		case bytes.EqualFold(name, []byte("Connection")):
			if containsFold(value, "close") {
				h.close = true
			}
			if containsFold(value, "keep-alive") {
				keepAlive = true
			}
		case bytes.EqualFold(name, []byte("Expect")):
			h.expectContinue = containsFold(value, "100-continue")
		}
	}
	if http10 && !keepAlive {
		h.close = true
	}
	return h, n, nil
}

// bodyless reports whether a response with this status to a non-HEAD
// request carries no body.
func bodyless(status int) bool {
	return status < 200 || status == 204 || status == 304
}

func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// containsFold reports whether s contains the lower-case ASCII word w,
// ignoring case.
func containsFold(s []byte, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if hasPrefixFold(s[i:], w) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s []byte, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if lower(s[j]) != w[j] {
			return false
		}
	}
	return true
}

func hasSuffixFold(s []byte, w string) bool {
	return len(s) >= len(w) && hasPrefixFold(s[len(s)-len(w):], w)
}

// chunkState is where a chunkedBody is within a chunked body.
type chunkState uint8

const (
	chunkSize    chunkState = iota // expecting a chunk-size line
	chunkData                      // inside chunk data
	chunkDataEnd                   // expecting the CRLF after chunk data
	chunkTrailer                   // expecting trailer lines or the final blank line
)

// chunkedBody skips a chunked body that may arrive in any number of pieces.
// The zero value is ready for a new body.
type chunkedBody struct {
	state chunkState
	left  int64 // bytes of chunk data, or of the CRLF after it, still to skip
	data  int64 // chunk data bytes seen so far (the decoded body length)
}

// consume skips as much of the body as b holds. It returns how many bytes
// of b belong to the body and whether the body ended there; bytes after n
// belong to the next message. A partial line is left unconsumed, so the
// caller must present it again with more bytes appended.
func (c *chunkedBody) consume(b []byte) (n int, done bool, err error) {
	for n < len(b) {
		switch c.state {
		case chunkSize:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				if len(b)-n > maxHead {
					return n, false, errBadChunk
				}
				return n, false, nil
			}
			line := bytes.TrimSuffix(b[n:n+i], []byte{'\r'})
			if semi := bytes.IndexByte(line, ';'); semi >= 0 {
				line = line[:semi]
			}
			size, ok := parseHex(bytes.TrimSpace(line))
			if !ok {
				return n, false, errBadChunk
			}
			n += i + 1
			if size == 0 {
				c.state = chunkTrailer
			} else {
				c.state, c.left = chunkData, size
			}
		case chunkData:
			k := min(c.left, int64(len(b)-n))
			n += int(k)
			c.left -= k
			c.data += k
			if c.left == 0 {
				c.state, c.left = chunkDataEnd, 2
			}
		case chunkDataEnd:
			for c.left > 0 && n < len(b) {
				n++
				c.left--
			}
			if c.left == 0 {
				c.state = chunkSize
			}
		case chunkTrailer:
			i := bytes.IndexByte(b[n:], '\n')
			if i < 0 {
				if len(b)-n > maxHead {
					return n, false, errBadChunk
				}
				return n, false, nil
			}
			line := b[n : n+i]
			n += i + 1
			if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
				*c = chunkedBody{data: c.data}
				return n, true, nil
			}
		}
	}
	return n, false, nil
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int64(c-'0')
		case 'a' <= lower(c) && lower(c) <= 'f':
			n = n<<4 | int64(lower(c)-'a'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// appendChunked appends body to dst as a chunked body cut into chunks of
// at most chunk bytes, with the final zero-size chunk.
func appendChunked(dst, body []byte, chunk int) []byte {
	for len(body) > 0 {
		k := min(chunk, len(body))
		dst = appendHex(dst, k)
		dst = append(dst, "\r\n"...)
		dst = append(dst, body[:k]...)
		dst = append(dst, "\r\n"...)
		body = body[k:]
	}
	return append(dst, "0\r\n\r\n"...)
}

func appendHex(dst []byte, n int) []byte {
	const digits = "0123456789abcdef"
	if n == 0 {
		return append(dst, '0')
	}
	var tmp [16]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = digits[n&15]
		n >>= 4
	}
	return append(dst, tmp[i:]...)
}
