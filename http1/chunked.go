package http1

// Bounds on the parts of a chunked body that are not payload.
const (
	// maxChunkLine bounds a chunk-size line with its extensions.
	maxChunkLine = 4 << 10
	// maxTrailer bounds the trailer section.
	maxTrailer = 64 << 10
	// maxChunkSize bounds a chunk-size (2^62, so that sums stay in int64).
	maxChunkSize = 1 << 62
	// maxChunkExt bounds the chunk extensions of a whole body: they carry
	// nothing shellac uses, so many small chunks with long extensions are
	// only overhead (RFC 9112 7.1.1: a server ought to limit them).
	maxChunkExt = 4 << 10
	// trailerName is how much of a trailer field name is kept to be
	// checked against trailerForbidden (longer names are none of them).
	trailerName = 20
)

// trailerForbidden lists the fields a trailer section must not carry
// (RFC 9110 6.5.1: framing, routing, request modifiers and connection
// management), plus the ones shellac itself sets (X-Forwarded-*,
// Forwarded). Names are matched case-insensitively, with "_" taken as
// "-" so that look-alikes (Content_Length) are refused too.
var trailerForbidden = [...]string{
	"content-length", "transfer-encoding", "trailer", "host", "connection",
	"keep-alive", "te", "upgrade", "proxy-connection", "expect",
	"forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
	"content-encoding", "content-range", "authorization", "cookie", "set-cookie",
}

// Decoder states. The zero value expects the first chunk-size.
const (
	stSize0         uint8 = iota // first HEXDIG of a chunk-size
	stSize                       // more HEXDIG
	stBWS                        // BWS before ";"
	stExtNameBWS                 // BWS after ";", then chunk-ext-name
	stExtName                    // in chunk-ext-name
	stExtAfterName               // BWS after the name, then "=" or ";"
	stExtValBWS                  // BWS after "=", then chunk-ext-val
	stExtValToken                // in a token chunk-ext-val
	stExtQuoted                  // in a quoted-string chunk-ext-val
	stExtQuotedEsc               // after "\" in a quoted-string
	stExtAfterQuote              // after the closing DQUOTE
	stSizeLF                     // LF ending the chunk-size line
	stData                       // chunk-data, size bytes left
	stDataCR                     // CR after chunk-data
	stDataLF                     // LF after chunk-data
	stTrailerStart               // start of a trailer line, or the final CRLF
	stTrailerName                // in a trailer field name
	stTrailerValue               // in a trailer field value
	stTrailerLF                  // LF ending a trailer line
	stEndLF                      // LF of the final CRLF
	stDone                       // the body is complete
	stFailed                     // an error was returned
)

// ChunkDecoder decodes a chunked body (RFC 9112 7.1) incrementally, from
// pieces split at arbitrary points. The zero value is ready to decode a
// body; Reset makes it ready for the next one. It allocates nothing.
//
//	chunked-body   = *chunk last-chunk trailer-section CRLF
//	chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	chunk-size     = 1*HEXDIG
//	last-chunk     = 1*("0") [ chunk-ext ] CRLF
//	chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	chunk-ext-name = token
//	chunk-ext-val  = token / quoted-string
//	trailer-section = *( field-line CRLF )
//
// Decoding is strict: a chunk-size of more than 16 digits or above 2^62,
// a "0x" prefix or a sign, whitespace after the size not followed by ";",
// malformed extensions, a bare LF or CR, anything but CRLF after the data,
// trailer lines that are not field-name ":" field-value (obs-fold
// included), and trailer fields on the trailerForbidden list are errors
// with Status 400. Extensions are validated and skipped. The size line is
// bounded to 4 KiB, the extensions of the whole body to 4 KiB, and the
// trailer section to 64 KiB.
type ChunkDecoder struct {
	state   uint8
	digits  uint8
	size    uint64 // the chunk-size being read, then the data bytes left
	line    int    // bytes of the current chunk-size line so far
	trailer int    // bytes of the trailer section so far
	ext     int    // bytes of chunk extensions so far
	name    [trailerName]byte
	nameLen uint8 // bytes of the trailer name in name; trailerName+1 when longer
	err     *Error
}

// Left returns the bytes of chunk data announced by the current chunk's
// size line and not decoded yet (0 between chunks), so that a body limit
// can refuse a chunk as soon as its size is read.
func (d *ChunkDecoder) Left() uint64 {
	if d.state == stData || d.state == stSizeLF {
		return d.size
	}
	return 0
}

// Reset makes d ready to decode a new body.
func (d *ChunkDecoder) Reset() { *d = ChunkDecoder{} }

// Decode consumes the next step of a chunked body from p: control bytes
// (a chunk-size line, the CRLF after chunk data, trailer lines) up to and
// including at most one run of chunk data. It returns n, the bytes of p
// consumed; data, the payload within p[:n] (a subslice of p, valid as long
// as p is; empty when this step had none); and done when the last chunk
// and the trailer section are complete, p[n:] being what follows the
// body.
//
// Control bytes split across calls are remembered, so any split of the
// body decodes the same. When p is empty, or once done, n is 0. Callers
// loop until they have consumed their buffer:
//
//	for n < len(buf) {
//		k, data, fin, err := d.Decode(buf[n:])
//		n += k
//		…
//		if fin || k == 0 { break }
//	}
//
// On error n counts the bytes before the offending one, and every later
// call returns the same error.
func (d *ChunkDecoder) Decode(p []byte) (n int, data []byte, done bool, err error) {
	switch d.state {
	case stDone:
		return 0, nil, true, nil
	case stFailed:
		return 0, nil, false, d.err
	}
	i := 0
	for i < len(p) {
		if d.state == stData {
			k := len(p) - i
			if uint64(k) > d.size {
				k = int(d.size)
			}
			data = p[i : i+k : i+k]
			i += k
			d.size -= uint64(k)
			if d.size == 0 {
				d.state = stDataCR
			}
			return i, data, false, nil
		}
		c := p[i]
		if d.state < stData {
			d.line++
			if d.line > maxChunkLine {
				return d.fail(i, errChunkLine)
			}
			if d.state > stSize && d.state < stSizeLF {
				if d.ext++; d.ext > maxChunkExt {
					return d.fail(i, errChunkExtTotal)
				}
			}
		} else if d.state >= stTrailerStart {
			d.trailer++
			if d.trailer > maxTrailer {
				return d.fail(i, errTrailerSize)
			}
		}
		switch d.state {
		case stSize0, stSize:
			if chars[c]&cHex != 0 {
				if d.digits == 16 {
					return d.fail(i, errChunkOverflow)
				}
				d.digits++
				d.size = d.size<<4 | uint64(hexVal[c])
				d.state = stSize
				break
			}
			if d.state == stSize0 {
				return d.fail(i, errChunkSize)
			}
			if d.size > maxChunkSize {
				return d.fail(i, errChunkOverflow)
			}
			switch c {
			case ';':
				d.state = stExtNameBWS
			case ' ', '\t':
				d.state = stBWS
			case '\r':
				d.state = stSizeLF
			default:
				return d.fail(i, errChunkSize)
			}
		case stBWS, stExtAfterQuote:
			switch c {
			case ';':
				d.state = stExtNameBWS
			case ' ', '\t':
				d.state = stBWS
			case '\r':
				if d.state == stBWS {
					// BWS is only allowed before ";".
					return d.fail(i, errChunkExt)
				}
				d.state = stSizeLF
			default:
				return d.fail(i, errChunkExt)
			}
		case stExtNameBWS:
			switch {
			case c == ' ' || c == '\t':
			case isToken(c):
				d.state = stExtName
			default:
				return d.fail(i, errChunkExt)
			}
		case stExtName:
			switch {
			case isToken(c):
			case c == '=':
				d.state = stExtValBWS
			case c == ';':
				d.state = stExtNameBWS
			case c == ' ' || c == '\t':
				d.state = stExtAfterName
			case c == '\r':
				d.state = stSizeLF
			default:
				return d.fail(i, errChunkExt)
			}
		case stExtAfterName:
			switch c {
			case ' ', '\t':
			case '=':
				d.state = stExtValBWS
			case ';':
				d.state = stExtNameBWS
			default:
				return d.fail(i, errChunkExt)
			}
		case stExtValBWS:
			switch {
			case c == ' ' || c == '\t':
			case c == '"':
				d.state = stExtQuoted
			case isToken(c):
				d.state = stExtValToken
			default:
				return d.fail(i, errChunkExt)
			}
		case stExtValToken:
			switch {
			case isToken(c):
			case c == ';':
				d.state = stExtNameBWS
			case c == ' ' || c == '\t':
				d.state = stBWS
			case c == '\r':
				d.state = stSizeLF
			default:
				return d.fail(i, errChunkExt)
			}
		case stExtQuoted:
			switch {
			case c == '"':
				d.state = stExtAfterQuote
			case c == '\\':
				d.state = stExtQuotedEsc
			case chars[c]&cQdtext != 0:
			default:
				return d.fail(i, errChunkExt)
			}
		case stExtQuotedEsc:
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if chars[c]&cValue == 0 {
				return d.fail(i, errChunkExt)
			}
			d.state = stExtQuoted
		case stSizeLF:
			if c != '\n' {
				return d.fail(i, errBareCR)
			}
			d.line = 0
			d.digits = 0
			if d.size == 0 {
				d.state = stTrailerStart
			} else {
				d.state = stData
			}
		case stDataCR:
			if c != '\r' {
				return d.fail(i, errChunkCRLF)
			}
			d.state = stDataLF
		case stDataLF:
			if c != '\n' {
				return d.fail(i, errChunkCRLF)
			}
			d.state = stSize0
		case stTrailerStart:
			switch {
			case c == '\r':
				d.state = stEndLF
			case isToken(c):
				d.state = stTrailerName
				d.nameLen = 0
				d.keepName(c)
			default:
				// Includes obs-fold, a bare LF and an empty name.
				return d.fail(i, errTrailer)
			}
		case stTrailerName:
			switch {
			case isToken(c):
				d.keepName(c)
			case c == ':':
				if d.forbiddenName() {
					return d.fail(i, errTrailerField)
				}
				d.state = stTrailerValue
			default:
				return d.fail(i, errTrailer)
			}
		case stTrailerValue:
			switch {
			case chars[c]&cValue != 0:
			case c == '\r':
				d.state = stTrailerLF
			default:
				return d.fail(i, errTrailer)
			}
		case stTrailerLF:
			if c != '\n' {
				return d.fail(i, errTrailer)
			}
			d.state = stTrailerStart
		case stEndLF:
			if c != '\n' {
				return d.fail(i, errTrailer)
			}
			d.state = stDone
			return i + 1, nil, true, nil
		}
		i++
	}
	return i, nil, false, nil
}

// keepName appends c, lower-cased with "_" as "-", to the trailer name
// being read.
func (d *ChunkDecoder) keepName(c byte) {
	if d.nameLen >= trailerName {
		d.nameLen = trailerName + 1
		return
	}
	switch {
	case c >= 'A' && c <= 'Z':
		c += 'a' - 'A'
	case c == '_':
		c = '-'
	}
	d.name[d.nameLen] = c
	d.nameLen++
}

// forbiddenName reports whether the trailer name just read is on the
// trailerForbidden list.
func (d *ChunkDecoder) forbiddenName() bool {
	if d.nameLen > trailerName {
		return false
	}
	name := d.name[:d.nameLen]
	for _, f := range trailerForbidden {
		if string(name) == f {
			return true
		}
	}
	return false
}

// fail records err and returns it with the i bytes consumed before it.
func (d *ChunkDecoder) fail(i int, err *Error) (int, []byte, bool, error) {
	d.state = stFailed
	d.err = err
	return i, nil, false, err
}
