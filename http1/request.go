// Package http1 is shellac's HTTP/1.1 parser and writer (STUB: being written).
package http1

// Header is one header field; slices point into the parsed buffer.
type Header struct{ Name, Value []byte }

// Request is a parsed request head (stub).
type Request struct {
	Method        []byte
	Target        []byte
	Path          []byte
	Query         []byte
	Host          []byte
	Minor         int
	Headers       []Header
	HeadLen       int
	ContentLength int64
	Chunked       bool
	KeepAlive     bool
	Expect100     bool
	Upgrade       bool
}

// Header returns the first value of the named field (stub).
func (r *Request) Header(name string) []byte { return nil }
