package rules

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/http1"
)

// FuzzTemplate checks that the template parser never panics, refuses
// every control character, and that a parsed template renders for any
// request without producing a line break.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"", "plain", "%{path}", "%%{x}", "%{header:X-A}/%{query:q}/%{cookie:c}", "%{", "%{}", "a%", "%{backend}", "\x00", "%{uri}%{host}%{client_ip}%{request_id}", "%{query:\x00}", "%{cookie:a\rb}", "%{query:a b}"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	req := &http1.Request{}
	if _, err := req.Parse([]byte("GET /p?q=1 HTTP/1.1\r\nHost: h\r\nX-A: v\r\nCookie: c=1\r\n\r\n"), nil); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string, response bool) {
		ph := PhaseRequest
		if response {
			ph = PhaseResponse
		}
		tm, err := parseTemplate(s, ph)
		if err != nil {
			return
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			t.Fatalf("%q accepted", s)
		}
		c := &Ctx{Req: req, ClientIPText: []byte("192.0.2.1"), RequestID: []byte("id"), Backend: "b", Status: 200}
		out := tm.append(nil, c)
		if bytes.ContainsAny(out, "\r\n") {
			t.Fatalf("%q rendered %q", s, out)
		}
	})
}

// FuzzForwardWithRules runs header, rewrite and request-id rules on any
// request the parser accepts: the head forwarded with their edits must
// parse again, carry the set field exactly once, and keep the framing.
func FuzzForwardWithRules(f *testing.F) {
	f.Add([]byte("GET /api/x?q=1 HTTP/1.1\r\nHost: a\r\nX-Set: old\r\nx-set: old2\r\nCookie: s=1\r\n\r\n"))
	f.Add([]byte("POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("GET http://b.example/api/z HTTP/1.1\r\nHost: b.example\r\nX-Request-Id: r1\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	l, errs := Compile([]*Rule{
		{RequestID: "X-Request-Id"},
		{SetHeader: map[string]string{"X-Set": "%{header:X-Other}|%{cookie:s}|%{query:q}|%{uri}", "Host": "%{host}"}},
		{AddHeader: map[string]string{"X-Add": "%{path}"}, DelHeader: []string{"X-Del"}},
		{StripPrefix: "/api"},
		{Rewrite: &Rewrite{Regex: "/+", To: "/"}},
	}, PhaseRequest, nil)
	if errs != nil {
		f.Fatal(errs[0])
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := &http1.Request{}
		if _, err := req.Parse(raw, nil); err != nil {
			return
		}
		c := &Ctx{}
		c.Reset()
		c.Req, c.ClientIPText = req, []byte("192.0.2.1")
		l.Request(c)
		chunked, cl := req.Chunked, req.ContentLength
		out := http1.AppendForwardRequest(nil, req, &http1.ForwardOptions{Edit: &c.Edit, DefaultHost: []byte("d")})
		back := &http1.Request{}
		n, err := back.Parse(out, nil)
		if err != nil || n != len(out) {
			t.Fatalf("forwarded head does not parse (%v):\n%q\nfrom %q", err, out, raw)
		}
		if back.Chunked != chunked || back.ContentLength != cl {
			t.Fatalf("framing changed: chunked %v→%v, length %d→%d", chunked, back.Chunked, cl, back.ContentLength)
		}
		count := 0
		for _, h := range back.Headers {
			if strings.EqualFold(string(h.Name), "x-set") {
				count++
			}
			if strings.EqualFold(string(h.Name), "x-del") {
				t.Fatalf("X-Del forwarded: %q", out)
			}
		}
		if count != 1 {
			t.Fatalf("%d X-Set fields forwarded: %q", count, out)
		}
	})
}
