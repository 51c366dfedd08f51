package directors

import (
	"strings"

	"github.com/shellac-lb/shellac/http1"
)

// head returns a parsed request head for target with Host host (an
// HTTP/1.0 request without Host when host is empty) and extra header
// lines ("Name: value").
func head(target, host string, headers ...string) *http1.Request {
	var b strings.Builder
	if host == "" {
		b.WriteString("GET " + target + " HTTP/1.0\r\n")
	} else {
		b.WriteString("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	}
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	h := &http1.Request{}
	if _, err := h.Parse([]byte(b.String()), nil); err != nil {
		panic("head: " + err.Error() + " parsing " + b.String())
	}
	return h
}
