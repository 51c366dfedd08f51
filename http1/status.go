package http1

// Status codes the proxy answers or looks at itself (RFC 9110 section 15).
// Responses relayed from a backend keep whatever code the backend sent.
const (
	StatusSwitchingProtocols = 101
	StatusOK                 = 200
	StatusNoContent          = 204
	StatusNotModified        = 304
	StatusBadRequest         = 400
	StatusRequestTimeout     = 408
	StatusContentTooLarge    = 413
	StatusInternalError      = 500
	StatusBadGateway         = 502
	StatusUnavailable        = 503
	StatusGatewayTimeout     = 504
)

// StatusClass returns the class of a status code: 1 for 1xx up to 5 for
// 5xx, or 0 for a code outside 100-599.
func StatusClass(code int) int {
	if code < 100 || code > 599 {
		return 0
	}
	return code / 100
}

// Interim reports whether code is an interim (1xx) response, which a
// final response follows (RFC 9110 section 15.2).
func Interim(code int) bool { return code >= 100 && code < 200 }

// NoBody reports whether a response with this code never has content
// (RFC 9110 sections 15.2, 15.3.5 and 15.4.5): 1xx, 204 and 304.
func NoBody(code int) bool {
	return Interim(code) || code == StatusNoContent || code == StatusNotModified
}
