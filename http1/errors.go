package http1

import "errors"

// ErrNeedMore is returned by the parsers when the input is a valid but
// incomplete prefix: call again with the same bytes and more appended.
var ErrNeedMore = errors.New("http1: need more data")

// Error is a protocol error found while parsing. Status is the HTTP status
// a server should answer with: 400, 414, 417, 431, 501 or 505 from this
// package (413, for bodies, is the caller's). For a response or a
// response body the proxy answers 502 whatever Status says.
//
// The parsers return pointers to package-level values so that rejecting
// input never allocates: match with errors.As and do not modify them.
type Error struct {
	Status int
	Msg    string
}

// Error returns the message with the "http1: " prefix.
func (e *Error) Error() string { return "http1: " + e.Msg }

func badRequest(msg string) *Error { return &Error{Status: 400, Msg: msg} }

// Request-line errors.
var (
	errLeadingLines   = badRequest("too many empty lines before the request line")
	errBareLF         = badRequest("bare LF line terminator")
	errBareCR         = badRequest("CR not followed by LF")
	errMethod         = badRequest("method is not a token")
	errRequestLine    = badRequest("malformed request line")
	errTarget         = badRequest("invalid request-target")
	errAsterisk       = badRequest("asterisk-form request-target outside OPTIONS")
	errScheme         = badRequest("absolute-form request-target with a scheme other than http or https")
	errAuthority      = badRequest("invalid authority in absolute-form request-target")
	errVersion        = badRequest("malformed HTTP version")
	errLineTooLong    = &Error{Status: 414, Msg: "request line too long"}
	errVersionSupport = &Error{Status: 505, Msg: "HTTP version not supported"}
	errConnect        = &Error{Status: 501, Msg: "CONNECT not implemented"}
)

// Header-section errors (requests and responses).
var (
	errObsFold          = badRequest("obsolete line folding")
	errFieldName        = badRequest("field name is not a token")
	errFieldValue       = badRequest("invalid byte in field value")
	errHeadTooLarge     = &Error{Status: 431, Msg: "header section too large"}
	errTooManyFields    = &Error{Status: 431, Msg: "too many header fields"}
	errNoHost           = badRequest("HTTP/1.1 request without Host")
	errDupHost          = badRequest("more than one Host field")
	errHost             = badRequest("invalid Host field value")
	errContentLength    = badRequest("invalid Content-Length")
	errDupCL            = badRequest("more than one Content-Length field")
	errCLConflict       = badRequest("conflicting Content-Length values")
	errCLAndTE          = badRequest("both Transfer-Encoding and Content-Length")
	errTE10             = badRequest("Transfer-Encoding in an HTTP/1.0 message")
	errTEDup            = badRequest("more than one Transfer-Encoding field")
	errTEChunked        = badRequest("chunked is not the only and final transfer coding")
	errTEEmpty          = badRequest("empty Transfer-Encoding")
	errFramingLookalike = badRequest("field name resembles Content-Length or Transfer-Encoding")
	errTEUnknown        = &Error{Status: 501, Msg: "transfer coding not implemented"}
	errConnection       = badRequest("invalid Connection option")
	errConnOptions      = badRequest("too many Connection options")
	errExpect           = &Error{Status: 417, Msg: "unsupported expectation"}
	errStatusLine       = badRequest("malformed status line")
	errStatusCode       = badRequest("invalid status code")
	errNotHTTP1         = badRequest("not an HTTP/1.x message")
	errReason           = badRequest("invalid byte in reason phrase")
	errStatusTooLong    = badRequest("status line too long")
)

// Chunked-body errors.
var (
	errChunkSize     = badRequest("invalid chunk size")
	errChunkOverflow = badRequest("chunk size too large")
	errChunkExt      = badRequest("invalid chunk extension")
	errChunkLine     = badRequest("chunk size line too long")
	errChunkCRLF     = badRequest("missing CRLF after chunk data")
	errTrailer       = badRequest("invalid trailer field")
	errTrailerSize   = badRequest("trailer section too large")
	errTrailerField  = badRequest("field not allowed in a trailer section")
	errChunkExtTotal = badRequest("chunk extensions too large")
	errPercent       = badRequest("invalid percent-encoding in the path")
)

// PROXY protocol errors.
var (
	errProxy = badRequest("invalid PROXY protocol header")
)
