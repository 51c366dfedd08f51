package rules

import (
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// commonRules are ten rules of the forms operators write most: a
// canonical-host redirect, a CIDR deny, a method filter, header edits with
// and without variables, a request id, a prefix strip, a director choice
// and a rate limit.
func commonRules(b *testing.B) *List {
	canary := directors.NewRoundRobin("canary")
	env := &Env{Member: func(string) (directors.Member, bool) { return canary, true }}
	l, errs := Compile([]*Rule{
		{When: &Match{Host: []string{"example.org"}}, Redirect: "https://example.com%{uri}", Code: 301},
		{When: &Match{PathPrefix: []string{"/admin"}, Not: &Match{Src: []string{"10.0.0.0/8", "192.168.0.0/16"}}}, Respond: 403},
		{When: &Match{Not: &Match{Method: []string{"GET", "HEAD", "POST", "PUT", "DELETE"}}}, Respond: 405},
		{SetHeader: map[string]string{"X-Forwarded-Host": "%{host}"}},
		{AddHeader: map[string]string{"Via": "1.1 shellac"}},
		{DelHeader: []string{"X-Debug", "Proxy-Authorization"}},
		{RequestID: "X-Request-Id"},
		{When: &Match{PathPrefix: []string{"/api/"}}, StripPrefix: "/api"},
		{When: &Match{Header: map[string]string{"X-Canary": "1"}}, Director: "canary"},
		{RateLimit: &RateLimit{Rate: 1e9, Burst: 1e9}},
	}, PhaseRequest, env)
	if errs != nil {
		b.Fatal(errs[0])
	}
	return l
}

// BenchmarkRequestRules runs the ten common rules on a typical request.
// Run with -benchmem: the rules must allocate nothing.
func BenchmarkRequestRules(b *testing.B) {
	l := commonRules(b)
	c := ctxFor(b, "GET /api/users?id=7 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench\r\nX-Canary: 1\r\n\r\n", "10.1.2.3")
	req, dreq := c.Req, c.DReq
	path, target, query := req.Path, req.Target, req.Query
	ipText := []byte("10.1.2.3")
	b.ReportAllocs()
	for b.Loop() {
		req.Path, req.Target, req.Query = path, target, query
		c.Reset()
		c.Req, c.DReq, c.ClientIP, c.ClientIPText, c.Now = req, dreq, dreq.ClientIP, ipText, 1e18
		if l.Request(c) {
			b.Fatal("answered")
		}
	}
}

// BenchmarkNoRules is the cost of the Ctx reset and an empty list.
func BenchmarkNoRules(b *testing.B) {
	var l *List
	c := ctxFor(b, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "10.1.2.3")
	req := c.Req
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		c.Req = req
		l.Request(c)
	}
}
