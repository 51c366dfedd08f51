package proxy

import (
	"strconv"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/rules"
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
	w.status = http1.StatusOK
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
	w.addLine(name, s2b(value))
}

// Write appends to the body.
func (w *syntheticWriter) Write(p []byte) (int, error) {
	w.body = append(w.body, p...)
	return len(p), nil
}

var _ directors.ResponseWriter = (*syntheticWriter)(nil)

// respondSynthetic answers the exchange with b, a backend that answers by
// itself (its Responder), for the request req.
func (ex *exchange) respondSynthetic(b *directors.Backend, req *http1.Request) {
	l := ex.cl.l
	b.Begin()
	ex.rec.Backend = b.Name()
	w := &l.synth
	w.reset()
	ex.dreq.Head = req
	b.Responder().Respond(&ex.dreq, w)
	ex.dreq.Head = nil
	ex.writeSynthetic(w)
	if c := http1.StatusClass(w.status); c > 0 {
		b.Stats.Responses[c].Add(1)
	}
	b.End(false)
}

// respondRule answers with a rule's reply (redirect, respond, 429).
func (ex *exchange) respondRule(rp *rules.Reply) {
	w := &ex.cl.l.synth
	w.reset()
	w.status = rp.Status
	if len(rp.Location) > 0 {
		w.addLine("Location", rp.Location)
	}
	if rp.RetryAfter > 0 {
		w.hdr = append(w.hdr, "Retry-After: "...)
		w.hdr = strconv.AppendInt(w.hdr, int64(rp.RetryAfter), 10)
		w.hdr = append(w.hdr, "\r\n"...)
	}
	if rp.ContentType != "" && rp.Body != "" {
		w.addLine("Content-Type", s2b(rp.ContentType))
	}
	w.body = append(w.body, rp.Body...)
	ex.writeSynthetic(w)
}

func (w *syntheticWriter) addLine(name string, value []byte) {
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ": "...)
	w.hdr = append(w.hdr, value...)
	w.hdr = append(w.hdr, "\r\n"...)
}

// writeSynthetic sends the response w holds, framed by Content-Length.
func (ex *exchange) writeSynthetic(w *syntheticWriter) {
	l := ex.cl.l
	closeConn := !ex.keepAlive || l.srv.draining.Load()
	ex.closeAfter = closeConn
	out := http1.AppendStatusLine(l.out[:0], w.status)
	out = append(out, w.hdr...)
	if w.status != http1.StatusNoContent && !http1.Interim(w.status) {
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
	if ex.isHead || http1.NoBody(w.status) {
		ex.cl.write(out)
	} else {
		ex.cl.writev(out, w.body)
	}
	l.out = out[:0]
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
