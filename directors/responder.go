package directors

// ResponseWriter receives a Responder's answer. proxy implements it and
// frames the response (status line, Content-Length, Connection) itself.
type ResponseWriter interface {
	// WriteStatus sets the status code; 200 if never called.
	WriteStatus(code int)
	// AddHeader adds a response header field. Framing fields
	// (Content-Length, Transfer-Encoding, Connection) are ignored.
	AddHeader(name, value string)
	// Write appends to the response body.
	Write(p []byte) (int, error)
}

// Responder is a custom leaf backend that answers requests itself instead
// of forwarding them, as Varnish's custom backends manage the fetch
// themselves. Respond runs on an event loop: it must not block, and should
// not allocate. r.Head is valid only during the call.
type Responder interface {
	Respond(r *Request, w ResponseWriter)
}
