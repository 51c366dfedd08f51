package http1

import "strconv"

// hopHeaders marks, by field kind, the hop-by-hop fields (RFC 9110 7.6.1)
// that the writers never forward as received.
var hopHeaders = [numFieldKinds]bool{
	fieldConnection:       true,
	fieldKeepAlive:        true,
	fieldProxyConnection:  true, // non-standard, still sent by libcurl and old browsers
	fieldTE:               true,
	fieldTransferEncoding: true, // re-emitted as "chunked" while the proxy keeps the chunked framing
	fieldUpgrade:          true, // kept, with "Connection: upgrade", only when upgrading
	// Not here, unlike httputil's list:
	//  - Trailer: it announces the trailer fields of a chunked body that
	//    the proxy forwards unchanged, so it stays true end to end.
	//  - Proxy-Authorization, Proxy-Authenticate: RFC 9110 does not make
	//    them hop-by-hop, and a gateway in front of an application has no
	//    use for them itself.
}

// connectionNamed reports whether h must be dropped because a Connection
// option of the message names it. RFC 9110 7.6.1: "a proxy or gateway
// MUST parse a received Connection header field before a message is
// forwarded and, for each connection-option in this field, remove any
// header or trailer field(s) from the message with the same name as the
// connection-option". Host and Content-Length are never dropped that way
// (the callers handle them before): a client naming them could otherwise
// take the routing or the framing of the forwarded message away from the
// proxy.
func connectionNamed(hs []Header, nOptions int, h *Header) bool {
	return nOptions > 0 && connectionNames(hs, h.Name)
}

// ForwardOptions control how AppendForwardRequest rewrites a request head.
type ForwardOptions struct {
	// ClientAddr is the client address text appended to X-Forwarded-For.
	ClientAddr []byte
	// XForwarded enables the X-Forwarded-* fields.
	//
	// Trust model: the proxy is the edge. It appends the address of the
	// peer it accepted (after PROXY protocol) to any X-Forwarded-For the
	// client sent, merging several such fields into one, so a backend
	// must trust only the entries added by the proxies it knows, counted
	// from the right. X-Forwarded-Proto and X-Forwarded-Host describe the
	// connection this proxy accepted and only it can vouch for them, so
	// client-sent ones are dropped and replaced. Without XForwarded all
	// three pass through untouched.
	XForwarded bool
	// HTTPS sends X-Forwarded-Proto: https (the client spoke TLS).
	HTTPS bool
	// DefaultHost is sent as Host when the request has none (HTTP/1.0).
	DefaultHost []byte
	// KeepUpgrade keeps the Upgrade field of an upgrade request (one with
	// Request.Upgrade set) and sends "Connection: upgrade"; otherwise
	// Upgrade is stripped like any hop-by-hop field.
	KeepUpgrade bool
	// Edit, when not nil, drops and adds fields (request rules). Dropping
	// Host also stops the Host that would be added for a request without
	// one: the caller must add its own.
	Edit *FieldEdit
}

// AppendForwardRequest appends to dst the head of r as forwarded to a
// backend and returns the extended buffer. dst is owned by the caller; no
// allocation happens when it has the capacity.
//
// The request line is the method and target as received, always with
// HTTP/1.1. Header fields keep their order, minus the hop-by-hop ones (see
// above). Transfer-Encoding is sent as "chunked" when r.Chunked; the body
// is forwarded as received. Content-Length and Expect are kept. For an
// absolute-form target the Host field is replaced by the target's
// authority, which is what the backend must use too (RFC 9112 3.2.2);
// when the request has no Host at all, one is added from the authority or
// else from o.DefaultHost, right after the request line. No Connection
// field is sent (HTTP/1.1 keeps the backend connection open) except
// "Connection: upgrade" for an upgrade. The X-Forwarded-* fields, when
// enabled, come last.
func AppendForwardRequest(dst []byte, r *Request, o *ForwardOptions) []byte {
	if o == nil {
		o = &ForwardOptions{}
	}
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	dst = append(dst, r.Target...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	if !r.hostField && !o.Edit.drops(hostName) {
		switch {
		case r.absolute:
			dst = appendField(dst, "Host", r.Host)
		case len(o.DefaultHost) > 0:
			dst = appendField(dst, "Host", o.DefaultHost)
		}
	}
	upgrade := o.KeepUpgrade && r.Upgrade
	nXFF := 0
	for i := range r.Headers {
		h := &r.Headers[i]
		kind := fieldKind(h.Name)
		if hopHeaders[kind] {
			switch {
			case kind == fieldTransferEncoding && r.Chunked:
				dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
			case kind == fieldUpgrade && upgrade:
				dst = appendHeader(dst, h)
			}
			continue
		}
		switch kind {
		case fieldHost:
			if o.Edit.drops(h.Name) {
				continue
			}
			if r.absolute {
				dst = appendField(dst, "Host", r.Host)
			} else {
				dst = appendHeader(dst, h)
			}
			continue
		case fieldContentLength:
			dst = appendHeader(dst, h)
			continue
		case fieldXForwardedFor:
			if o.XForwarded {
				nXFF++ // merged into one field below
				continue
			}
		case fieldXForwardedProto, fieldXForwardedHost:
			if o.XForwarded {
				continue // replaced below
			}
		}
		if connectionNamed(r.Headers, r.conn.other, h) || o.Edit.drops(h.Name) {
			continue
		}
		dst = appendHeader(dst, h)
	}
	if o.Edit != nil {
		dst = append(dst, o.Edit.Add...)
	}
	if upgrade {
		dst = append(dst, "Connection: upgrade\r\n"...)
	}
	if o.XForwarded {
		dst = appendXFF(dst, r, nXFF, o.ClientAddr)
		if o.HTTPS {
			dst = append(dst, "X-Forwarded-Proto: https\r\n"...)
		} else {
			dst = append(dst, "X-Forwarded-Proto: http\r\n"...)
		}
		if len(r.Host) > 0 {
			dst = appendField(dst, "X-Forwarded-Host", r.Host)
		}
	}
	return append(dst, "\r\n"...)
}

var (
	xffName  = []byte("x-forwarded-for")
	hostName = []byte("host")
)

// appendXFF appends one X-Forwarded-For field: the values of r's nXFF
// X-Forwarded-For fields (those not named by a Connection option), then
// addr, joined with ", ". Nothing is appended when all are empty.
func appendXFF(dst []byte, r *Request, nXFF int, addr []byte) []byte {
	start := len(dst)
	dst = append(dst, "X-Forwarded-For: "...)
	mark := len(dst)
	if nXFF > 0 {
		stripped := r.conn.other > 0 && connectionNames(r.Headers, xffName) // RFC 9110 7.6.1
		for i := range r.Headers {
			h := &r.Headers[i]
			if stripped || len(h.Value) == 0 || fieldKind(h.Name) != fieldXForwardedFor {
				continue
			}
			if len(dst) > mark {
				dst = append(dst, ", "...)
			}
			dst = append(dst, h.Value...)
		}
	}
	if len(addr) > 0 {
		if len(dst) > mark {
			dst = append(dst, ", "...)
		}
		dst = append(dst, addr...)
	}
	if len(dst) == mark {
		return dst[:start]
	}
	return append(dst, "\r\n"...)
}

// ResponseOptions control how AppendForwardResponse rewrites a response
// head.
type ResponseOptions struct {
	// Close sends "Connection: close": the proxy closes the client
	// connection after this response.
	Close bool
	// ClientMinor is the client's minor HTTP version. An HTTP/1.0 client
	// that keeps the connection gets "Connection: keep-alive".
	ClientMinor int
	// Dechunk: the proxy sends a chunked body's payload only (to an
	// HTTP/1.0 client) and delimits it by closing the connection, so
	// neither Transfer-Encoding nor Content-Length is sent.
	Dechunk bool
	// KeepUpgrade keeps the Upgrade field and sends "Connection:
	// upgrade" (a 101 response being tunnelled).
	KeepUpgrade bool
	// Edit, when not nil, drops and adds fields (response rules).
	Edit *FieldEdit
}

// AppendForwardResponse appends to dst the head of r as forwarded to the
// client and returns the extended buffer (no allocation when dst has the
// capacity).
//
// The status line is "HTTP/1.1", r's status and reason. Header fields
// keep their order minus the hop-by-hop ones, as for AppendForwardRequest. A chunked
// response keeps "Transfer-Encoding: chunked" unless o.Dechunk drops it; a
// Transfer-Encoding without chunked (a close-delimited body, still coded)
// is forwarded as received. Content-Length is sent once, even when the
// backend repeated it. The Connection field is "upgrade" with
// o.KeepUpgrade, else "close" with o.Close, else "keep-alive" for an
// HTTP/1.0 client, else absent.
func AppendForwardResponse(dst []byte, r *Response, o *ResponseOptions) []byte {
	if o == nil {
		o = &ResponseOptions{}
	}
	dst = appendStatus(dst, r.Status, r.Reason, "")
	// RFC 9112 6.1, RFC 9110 8.6: a server sends neither Transfer-Encoding
	// nor Content-Length with a 1xx or 204 response.
	noFraming := r.Status < 200 || r.Status == 204
	clSent := noFraming
	for i := range r.Headers {
		h := &r.Headers[i]
		kind := fieldKind(h.Name)
		if hopHeaders[kind] {
			switch {
			case kind == fieldTransferEncoding && noFraming:
			case kind == fieldTransferEncoding && !r.Chunked:
				// A close-delimited body in some other coding: the
				// client must still decode it.
				dst = appendHeader(dst, h)
			case kind == fieldTransferEncoding && !o.Dechunk:
				dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
			case kind == fieldUpgrade && o.KeepUpgrade:
				dst = appendHeader(dst, h)
			}
			continue
		}
		if kind == fieldContentLength {
			if !clSent && !o.Dechunk {
				dst = append(dst, "Content-Length: "...)
				dst = strconv.AppendInt(dst, r.ContentLength, 10)
				dst = append(dst, "\r\n"...)
			}
			clSent = true
			continue
		}
		if connectionNamed(r.Headers, r.conn.other, h) || o.Edit.drops(h.Name) {
			continue
		}
		dst = appendHeader(dst, h)
	}
	if o.Edit != nil {
		dst = append(dst, o.Edit.Add...)
	}
	switch {
	case o.KeepUpgrade:
		dst = append(dst, "Connection: upgrade\r\n"...)
	case o.Close:
		dst = append(dst, "Connection: close\r\n"...)
	case o.ClientMinor == 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// AppendInterim appends an interim (1xx) response head as forwarded to an
// HTTP/1.1 client: r's status line and fields minus the hop-by-hop ones.
func AppendInterim(dst []byte, r *Response) []byte {
	return AppendForwardResponse(dst, r, &ResponseOptions{ClientMinor: 1})
}

// AppendStatusLine appends "HTTP/1.1 <status> <reason>" CRLF, with the
// RFC 9110 reason phrase of status (empty for codes it does not know). A
// status outside 100-999 is written as 500.
func AppendStatusLine(dst []byte, status int) []byte {
	if status < 100 || status > 999 {
		status = 500
	}
	return appendStatus(dst, status, nil, StatusText(status))
}

// appendStatus appends a status line whose reason phrase is reason
// followed by text (one of them is empty).
func appendStatus(dst []byte, status int, reason []byte, text string) []byte {
	if status < 100 || status > 999 {
		status = 500
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = append(dst, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10), ' ')
	dst = append(dst, reason...)
	dst = append(dst, text...)
	return append(dst, "\r\n"...)
}

// AppendError appends a complete short response for status, as the proxy
// sends when it answers by itself: the status line, "Content-Type:
// text/plain; charset=utf-8", Content-Length, "Connection: close" when
// close is set, and a body such as "503 Service Unavailable\n". A status
// that has no body (1xx, 204, 304) gets none.
func AppendError(dst []byte, status int, close bool) []byte {
	if status < 100 || status > 999 {
		status = 500
	}
	text := StatusText(status)
	dst = AppendStatusLine(dst, status)
	noBody := status < 200 || status == 204 || status == 304
	if !noBody {
		n := 4 + len(text) // "NNN" "\n", plus " " text
		if text != "" {
			n++
		}
		dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, "\r\n"...)
	}
	if close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if noBody {
		return dst
	}
	dst = strconv.AppendInt(dst, int64(status), 10)
	if text != "" {
		dst = append(dst, ' ')
		dst = append(dst, text...)
	}
	return append(dst, '\n')
}

func appendHeader(dst []byte, h *Header) []byte {
	dst = append(dst, h.Name...)
	dst = append(dst, ": "...)
	dst = append(dst, h.Value...)
	return append(dst, "\r\n"...)
}

func appendField(dst []byte, name string, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// StatusText returns the reason phrase of an RFC 9110 status code (plus a
// few registered extensions), or "" for an unknown code.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 102:
		return "Processing"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 207:
		return "Multi-Status"
	case 208:
		return "Already Reported"
	case 226:
		return "IM Used"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 305:
		return "Use Proxy"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 418:
		return "I'm a teapot"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 423:
		return "Locked"
	case 424:
		return "Failed Dependency"
	case 425:
		return "Too Early"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 451:
		return "Unavailable For Legal Reasons"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	case 506:
		return "Variant Also Negotiates"
	case 507:
		return "Insufficient Storage"
	case 508:
		return "Loop Detected"
	case 510:
		return "Not Extended"
	case 511:
		return "Network Authentication Required"
	}
	return ""
}

// FieldEdit changes the header fields of a forwarded message: the fields
// named in Drop (lower case) are left out, and Add (complete "Name:
// value\r\n" lines, already validated) is appended after the others. The
// framing and hop-by-hop fields are the writers' own and are never
// dropped; the caller must not add them.
type FieldEdit struct {
	Drop []string
	Add  []byte
}

// drops reports whether name is one of e's dropped names.
func (e *FieldEdit) drops(name []byte) bool {
	if e == nil {
		return false
	}
	for _, d := range e.Drop {
		if equalFold(name, d) {
			return true
		}
	}
	return false
}

// Reset empties e, keeping its memory.
func (e *FieldEdit) Reset() {
	clear(e.Drop)
	e.Drop, e.Add = e.Drop[:0], e.Add[:0]
}

// Empty reports whether e changes nothing.
func (e *FieldEdit) Empty() bool { return e == nil || len(e.Drop) == 0 && len(e.Add) == 0 }
