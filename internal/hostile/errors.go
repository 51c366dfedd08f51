package hostile

import "errors"

// Errors of the case-file parser.
var (
	// ErrLiteral: a raw section holds a literal byte that must be escaped.
	ErrLiteral = errors.New("hostile: literal control or non-ASCII byte in raw section")
	// ErrEscape: a malformed escape in a raw section.
	ErrEscape = errors.New("hostile: bad escape")
	// ErrTooLarge: a raw section decodes to more than MaxRawBytes.
	ErrTooLarge = errors.New("hostile: raw section too large")
	// ErrNoSeparator: a case file has no "--" line before its raw bytes.
	ErrNoSeparator = errors.New("hostile: no \"--\" line before the raw bytes")
	// ErrField: a header line of a case file is malformed, unknown or
	// repeated.
	ErrField = errors.New("hostile: bad case field")
	// ErrMissing: a required header field of a case file is absent.
	ErrMissing = errors.New("hostile: missing case field")
)

// Errors of the strict request reader (StrictRequest).
var (
	// ErrIncomplete: the bytes end inside a request.
	ErrIncomplete = errors.New("hostile: incomplete request")
	// ErrMalformed: the bytes are not one strictly well-framed request.
	ErrMalformed = errors.New("hostile: malformed request")
)
