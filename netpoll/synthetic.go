package netpoll

import (
	"strconv"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
)

// syntheticWriter collects a Responder's answer; one per loop, reused.
type syntheticWriter struct {
	status int
	hdr    []byte // "Name: value\r\n" lines
	body   []byte
}

// maxRetainedSynthetic bounds the scratch memory a loop keeps after a
// large synthetic response.
const maxRetainedSynthetic = 64 << 10

func (w *syntheticWriter) reset() {
	w.status = 200
	if cap(w.hdr) > maxRetainedSynthetic {
		w.hdr = nil
	}
	if cap(w.body) > maxRetainedSynthetic {
		w.body = nil
	}
	w.hdr, w.body = w.hdr[:0], w.body[:0]
}

// WriteStatus sets the status code.
func (w *syntheticWriter) WriteStatus(code int) {
	if code >= 100 && code <= 999 {
		w.status = code
	}
}

// AddHeader adds a header; framing fields are ours to set.
func (w *syntheticWriter) AddHeader(name, value string) {
	switch {
	case asciiEqualFold(name, "Content-Length"),
		asciiEqualFold(name, "Transfer-Encoding"),
		asciiEqualFold(name, "Connection"):
		return
	}
	if !validFieldName(name) || !validFieldValue(value) {
		return
	}
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ": "...)
	w.hdr = append(w.hdr, value...)
	w.hdr = append(w.hdr, "\r\n"...)
}

// Write appends to the body.
func (w *syntheticWriter) Write(p []byte) (int, error) {
	w.body = append(w.body, p...)
	return len(p), nil
}

var _ directors.ResponseWriter = (*syntheticWriter)(nil)

// respondSynthetic answers the exchange with a custom backend b.
func (cc *clientConn) respondSynthetic(b *directors.Backend, rsp directors.Responder, req *http1.Request) {
	l := cc.l
	ex := &cc.ex
	b.Begin()
	cc.rec.Backend = b.Name()
	w := &l.synth
	w.reset()
	cc.dreq.Head = req
	rsp.Respond(&cc.dreq, w)
	cc.dreq.Head = nil
	closeConn := !ex.keepAlive || l.srv.draining.Load()
	cc.closeAfter = closeConn
	out := http1.AppendStatusLine(l.out[:0], w.status)
	out = append(out, w.hdr...)
	noBody := ex.isHead || w.status == 204 || w.status == 304 || w.status < 200
	if w.status != 204 && w.status >= 200 {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(len(w.body)), 10)
		out = append(out, "\r\n"...)
	}
	switch {
	case closeConn:
		out = append(out, "Connection: close\r\n"...)
	case ex.minor == 0:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	out = append(out, "\r\n"...)
	ex.status = w.status
	ex.respStarted = true
	if c := w.status / 100; c >= 1 && c <= 5 {
		b.Stats.Responses[c].Add(1)
	}
	if noBody {
		cc.write(out)
	} else {
		cc.writev(out, w.body)
	}
	l.out = out[:0]
	b.End(false)
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
