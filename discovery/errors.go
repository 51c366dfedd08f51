package discovery

import "errors"

// Errors of the package.
var (
	// ErrTarget: a discovery target that cannot be parsed.
	ErrTarget = errors.New("discovery: bad target")
	// ErrEmpty: DNS answered, with no usable record.
	ErrEmpty = errors.New("discovery: empty answer")
	// ErrRcode: DNS answered with an error code (NXDOMAIN, SERVFAIL…).
	ErrRcode = errors.New("discovery: DNS error")
)
