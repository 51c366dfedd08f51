package http1

// Response is a parsed response head. Reason and the Headers alias the
// buffer given to Parse: they are valid until that buffer is discarded or
// the Response is Reset or parsed into again; do not retain them, copy
// instead. A Response is reused like a Request: Parse resets it and keeps
// the capacity of Headers.
type Response struct {
	// Status is the three-digit status code, 100 to 599.
	Status int
	// Minor is the minor HTTP version: 0, or 1 for HTTP/1.1 and any
	// later 1.x (RFC 9110 2.5).
	Minor int
	// Reason is the reason phrase, possibly empty.
	Reason []byte
	// Headers are the header fields in the order received.
	Headers []Header
	// HeadLen is the length of the head including its final empty line:
	// the n returned by Parse.
	HeadLen int
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports a chunked body (Transfer-Encoding: chunked).
	Chunked bool
	// KeepAlive reports whether the backend keeps the connection open
	// after this response: HTTP/1.1 unless "Connection: close"; HTTP/1.0
	// only with "Connection: keep-alive".
	KeepAlive bool

	// closeDelimited: a Transfer-Encoding without chunked (RFC 9112 6.3
	// rule 4: the body runs until the connection closes).
	closeDelimited bool
	conn           connOptions
}

// Reset clears r for reuse, keeping the capacity of Headers.
func (r *Response) Reset() {
	clear(r.Headers)
	*r = Response{Headers: r.Headers[:0], ContentLength: -1}
}

// Parse parses the response head at the start of buf into r and returns
// its length n (buf[n:] starts the body). It returns ErrNeedMore when buf
// holds a valid but incomplete head, and an *Error otherwise; a proxy
// answers 502 to any of them. Limits.MaxRequestLine bounds the status
// line.
//
// Parsing is tolerant where tolerance is safe, because the proxy rebuilds
// the head it forwards from what it parsed, so the client never sees an
// interpretation other than the proxy's:
//
//   - a bare LF ends a line (RFC 9112 2.2 MAY);
//   - whitespace between a field name and its colon is removed (RFC 9112
//     5.1 requires a proxy to remove it);
//   - the reason phrase may be missing along with its space
//     ("HTTP/1.1 200" CRLF);
//   - Content-Length may repeat, or be a list, if every value is the same
//     (RFC 9110 8.6); the writer then sends it once;
//   - Transfer-Encoding fields combine into one list (RFC 9110 5.3); one
//     without chunked makes the body close-delimited (RFC 9112 6.3).
//
// and strict where the framing is at stake: obs-fold (RFC 9112 5.2 allows
// a proxy to reject it rather than rewrite it), control characters in
// values, conflicting or malformed Content-Length, Transfer-Encoding with
// Content-Length, Transfer-Encoding in HTTP/1.0, and "chunked" that is
// repeated, has parameters, or comes with another coding (the proxy would
// have to decode that other coding to dechunk for HTTP/1.0 clients) are
// all errors.
func (r *Response) Parse(buf []byte, lim *Limits) (n int, err error) {
	r.Reset()
	maxLine, maxHead, maxFields := lim.get()

	// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF
	const proto = "HTTP/1."
	for j := 0; j < len(proto); j++ {
		if j == len(buf) {
			return 0, ErrNeedMore
		}
		if buf[j] != proto[j] {
			return 0, errNotHTTP1
		}
	}
	if len(buf) < len("HTTP/1.1 200") {
		return 0, statusNeedMore(buf, maxLine)
	}
	if chars[buf[7]]&cDigit == 0 || buf[8] != ' ' {
		return 0, errStatusLine
	}
	if buf[7] != '0' {
		r.Minor = 1
	}
	d0, d1, d2 := buf[9], buf[10], buf[11]
	if chars[d0]&cDigit == 0 || chars[d1]&cDigit == 0 || chars[d2]&cDigit == 0 {
		return 0, errStatusCode
	}
	r.Status = int(d0-'0')*100 + int(d1-'0')*10 + int(d2-'0')
	if r.Status < 100 || r.Status > 599 {
		return 0, errStatusCode
	}
	i := 12
	if i == len(buf) {
		return 0, statusNeedMore(buf, maxLine)
	}
	rs := i
	if buf[i] == ' ' {
		i++
		rs = i
		for i < len(buf) && chars[buf[i]]&cValue != 0 {
			i++
		}
		if i == len(buf) {
			return 0, statusNeedMore(buf, maxLine)
		}
	}
	r.Reason = buf[rs:i:i]
	if i > maxLine {
		return 0, errStatusTooLong
	}
	switch buf[i] {
	case '\r':
		if i+1 == len(buf) {
			return 0, ErrNeedMore
		}
		if buf[i+1] != '\n' {
			return 0, errBareCR
		}
		i += 2
	case '\n':
		i++
	default:
		return 0, errReason
	}

	var (
		te    teList
		nTE   int
		clSet bool
	)
	for {
		if i == len(buf) {
			return 0, headNeedMore(buf, 0, maxHead)
		}
		k, err := endOfHead(buf, i, true)
		if err != nil {
			if err == ErrNeedMore {
				return 0, headNeedMore(buf, 0, maxHead)
			}
			return 0, err
		}
		if k > 0 {
			i += k
			if i > maxHead {
				return 0, errHeadTooLarge
			}
			break
		}
		if len(r.Headers) == maxFields {
			return 0, errTooManyFields // and this line starts one more
		}
		name, value, next, err := scanField(buf, i, true)
		if err != nil {
			if err == ErrNeedMore {
				return 0, headNeedMore(buf, 0, maxHead)
			}
			return 0, err
		}
		if next > maxHead {
			return 0, errHeadTooLarge
		}
		i = next
		r.Headers = append(r.Headers, Header{Name: name, Value: value})

		switch fieldKind(name) {
		case fieldContentLength:
			// Content-Length = 1*DIGIT, or a list of identical values.
			if len(value) == 0 {
				return 0, errContentLength
			}
			for v := value; len(v) > 0; {
				var e []byte
				e, v = nextListElem(v)
				cl := parseContentLength(e)
				if cl < 0 {
					return 0, errContentLength
				}
				if clSet && cl != r.ContentLength {
					return 0, errCLConflict
				}
				r.ContentLength, clSet = cl, true
			}
		case fieldTransferEncoding:
			nTE++
			if !te.add(value) {
				return 0, errTEChunked
			}
		case fieldConnection:
			if err := r.conn.add(value); err != nil {
				return 0, err
			}
		}
	}

	if nTE > 0 {
		switch {
		case r.Minor == 0:
			return 0, errTE10
		case clSet:
			return 0, errCLAndTE
		case te.n == 0:
			return 0, errTEEmpty
		case te.chunked == 0:
			r.closeDelimited = true
		case !te.onlyChunked():
			return 0, errTEChunked
		default:
			r.Chunked = true
		}
	}
	if r.Minor == 1 {
		r.KeepAlive = !r.conn.close
	} else {
		r.KeepAlive = r.conn.keepAlive && !r.conn.close
	}
	r.HeadLen = i
	return i, nil
}

// statusNeedMore returns ErrNeedMore for an incomplete status line, or an
// error when it is already longer than maxLine.
func statusNeedMore(buf []byte, maxLine int) error {
	if len(buf) > maxLine+1 {
		return errStatusTooLong
	}
	return ErrNeedMore
}

// Framing is how the length of a message body is determined (RFC 9112 6.3).
type Framing uint8

// Framings.
const (
	// FramingNone: there is no body (a response to HEAD, 1xx, 204, 304,
	// or Content-Length: 0).
	FramingNone Framing = iota
	// FramingLength: the body is ContentLength bytes.
	FramingLength
	// FramingChunked: the body is chunked; decode with a ChunkDecoder.
	FramingChunked
	// FramingClose: the body runs until the backend closes the connection.
	FramingClose
)

// String returns the framing's name.
func (f Framing) String() string {
	switch f {
	case FramingNone:
		return "none"
	case FramingLength:
		return "length"
	case FramingChunked:
		return "chunked"
	case FramingClose:
		return "close"
	}
	return "unknown"
}

// Framing returns how r's body is delimited (RFC 9112 6.3), given whether
// it answers a HEAD request. Content-Length: 0 yields FramingNone.
func (r *Response) Framing(isHeadRequest bool) Framing {
	switch {
	case isHeadRequest || r.Status < 200 || r.Status == 204 || r.Status == 304:
		return FramingNone
	case r.Chunked:
		return FramingChunked
	case r.closeDelimited:
		return FramingClose
	case r.ContentLength == 0:
		return FramingNone
	case r.ContentLength > 0:
		return FramingLength
	}
	return FramingClose
}

// Header returns the value of the first field named name (compared
// without regard to ASCII case), or nil when there is none. The value is
// valid until the parsed buffer is discarded or r is Reset.
func (r *Response) Header(name string) []byte {
	for i := range r.Headers {
		if equalFoldString(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}
