package admin

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/route"
	"github.com/shellac-lb/shellac/rules"
)

// Explanation is the answer of GET /explain: where a request would go
// now, and why.
type Explanation struct {
	// Route is the index of the matching [[routes]] entry, "default" for
	// server.default_director, or null when a director was named.
	Route any `json:"route"`
	// Target is the route's director or backend (or the one named).
	Target string `json:"target"`
	// Chosen is the backend the request would be sent to; null when none
	// is healthy (the request would get a 503).
	Chosen *string `json:"chosen"`
	// Alternatives are the other backends in the order the directors
	// would fall back to them (health not considered).
	Alternatives []string `json:"alternatives"`
	// Path is the names walked from Target down to the chosen backend.
	Path []string `json:"path"`
	// Keys are the ring keys shard directors on the path computed.
	Keys map[string]uint32 `json:"keys,omitempty"`
	// Rules lists the rules that matched, in the order they ran, as
	// "LIST[i] NAME: action" (request rules; response rules too when a
	// status= was given).
	Rules []string `json:"rules"`
	// Answer is the response a rule would give instead of a backend
	// (redirect, respond, 429); then Target and Chosen are empty.
	Answer *RuleAnswer `json:"answer,omitempty"`
	// Forwarded is the request target sent to the backend, when a rule
	// rewrote it.
	Forwarded string `json:"forwarded,omitempty"`
}

// RuleAnswer is a rule's own response.
type RuleAnswer struct {
	Status   int    `json:"status"`
	Location string `json:"location,omitempty"`
}

// explainLimits parse the request head /explain builds.
var explainLimits = http1.Limits{MaxRequestLine: 1 << 16, MaxHeaderBytes: 1 << 20, MaxHeaders: 1000}

// getExplain: GET /explain?route=N|director=NAME&host=&path=&method=
// &header.NAME=VALUE&cookie=&client_ip=&key=STRING|hash=N&status=N.
func (s *Server) getExplain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := s.ctl.View()
	t := v.Table

	var dreq directors.Request
	dreq.Now = time.Now().UnixNano()
	if hs := q.Get("hash"); hs != "" {
		k, err := strconv.ParseUint(hs, 10, 32)
		if err != nil {
			writeError(w, http.StatusBadRequest, "hash %q: want an integer 0..4294967295 (key= takes a string)", hs)
			return
		}
		dreq.Key, dreq.HasKey = uint32(k), true
	}
	if q.Has("key") {
		dreq.KeyText = []byte(q.Get("key"))
	}
	status := 0
	if ss := q.Get("status"); ss != "" {
		n, err := strconv.Atoi(ss)
		if err != nil || n < 100 || n > 999 {
			writeError(w, http.StatusBadRequest, "status %q: want a status code 100..999", ss)
			return
		}
		status = n
	}
	if ip := q.Get("client_ip"); ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			writeError(w, http.StatusBadRequest, "client_ip %q: %v", ip, err)
			return
		}
		dreq.ClientIP = a.Unmap()
	}
	head, msg := explainHead(q)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "%s", msg)
		return
	}
	dreq.Head = head

	ex := Explanation{Alternatives: []string{}, Rules: []string{}}
	rc := &rules.Ctx{}
	rc.Reset()
	rc.Req, rc.ClientIP, rc.DReq, rc.Now = head, dreq.ClientIP, &dreq, dreq.Now
	if dreq.ClientIP.IsValid() {
		rc.ClientIPText = []byte(dreq.ClientIP.String())
	}
	var target directors.Member
	var rt *route.Route
	switch {
	case q.Has("director"):
		name := q.Get("director")
		if d := t.Directors[name]; d != nil {
			target = d
		} else if b := t.Backends[name]; b != nil {
			target = b
		} else {
			s.writeErr(w, NotFound("director or backend", name), 0)
			return
		}
	case q.Has("route"):
		i, err := strconv.Atoi(q.Get("route"))
		if err != nil || i < 0 || i >= len(t.Routes) {
			writeError(w, http.StatusNotFound, "no route %q: there are %d routes, numbered from 0 (see /status)", q.Get("route"), len(t.Routes))
			return
		}
		ex.Route, target = i, t.Routes[i].Target
	default:
		orig := string(head.Target)
		answered := trace(rc, &ex.Rules, "request_rules", t.Request.Request)
		if !answered {
			rt = t.MatchCtx(rc)
			if rt != nil {
				answered = trace(rc, &ex.Rules, routeName(t, rt)+".request_rules", rt.Request.Request)
			}
		}
		if string(head.Target) != orig {
			ex.Forwarded = string(head.Target)
		}
		if answered {
			ex.Answer = &RuleAnswer{Status: rc.Reply.Status, Location: string(rc.Reply.Location)}
			if rt != nil {
				ex.Route = routeIndex(t, rt)
			}
			writeJSON(w, http.StatusOK, ex)
			return
		}
		switch {
		case rc.Target != nil:
			target = rc.Target
		case rt != nil:
			target = rt.Target
		}
		if target == nil {
			writeError(w, http.StatusNotFound, "no route matches host %q path %q and there is no default_director: the request would get a 503", head.Host, head.Path)
			return
		}
		if rt != nil {
			ex.Route = routeIndex(t, rt)
		}
	}
	ex.Target = target.Name()

	chosen, alts, path := directors.Explain(target, &dreq)
	if chosen != nil {
		n := chosen.Name()
		ex.Chosen = &n
	}
	for _, b := range alts {
		ex.Alternatives = append(ex.Alternatives, b.Name())
	}
	ex.Path = path
	if ex.Path == nil {
		ex.Path = []string{}
	}
	for _, name := range path {
		if d, ok := t.Directors[name].(interface {
			KeyOf(*directors.Request) uint32
		}); ok {
			if ex.Keys == nil {
				ex.Keys = map[string]uint32{}
			}
			ex.Keys[name] = d.KeyOf(&dreq)
		}
	}
	if status > 0 {
		backend := ""
		if chosen != nil {
			backend = chosen.Name()
		}
		rc.ResetResponse(status, backend)
		respond := func(l *rules.List) func(*rules.Ctx) bool {
			return func(c *rules.Ctx) bool { l.Response(c); return false }
		}
		if rt != nil {
			trace(rc, &ex.Rules, routeName(t, rt)+".response_rules", respond(rt.Response))
		}
		trace(rc, &ex.Rules, "response_rules", respond(t.Response))
	}
	writeJSON(w, http.StatusOK, ex)
}

// trace runs a rule list with c's trace on, appending what matched to
// out, prefixed with the list's place; it returns run's answer.
func trace(c *rules.Ctx, out *[]string, place string, run func(*rules.Ctx) bool) bool {
	var lines []string
	c.Trace = &lines
	answered := run(c)
	c.Trace = nil
	for _, l := range lines {
		*out = append(*out, place+l)
	}
	return answered
}

// routeName is "routes[i]" for a route of t, "default" for the default.
func routeName(t *route.Table, rt *route.Route) string {
	if i := t.Index(rt); i >= 0 {
		return "routes[" + strconv.Itoa(i) + "]"
	}
	return "default"
}

// routeIndex returns rt's index in t.Routes, or "default".
func routeIndex(t *route.Table, rt *route.Route) any {
	if i := t.Index(rt); i >= 0 {
		return i
	}
	return "default"
}

// explainHead builds and parses the request head the query describes, so
// directors see exactly what they would see from a client. It returns a
// message saying what is wrong instead when the head is not valid.
func explainHead(q url.Values) (*http1.Request, string) {
	method := q.Get("method")
	if method == "" {
		method = "GET"
	}
	path := q.Get("path")
	if path == "" {
		path = "/"
	}
	host := q.Get("host")
	var b strings.Builder
	b.WriteString(method + " " + path)
	if host == "" {
		b.WriteString(" HTTP/1.0\r\n") // HTTP/1.1 requires a Host
	} else {
		b.WriteString(" HTTP/1.1\r\nHost: " + host + "\r\n")
	}
	for k, vs := range q {
		name, ok := strings.CutPrefix(k, "header.")
		if !ok {
			continue
		}
		if strings.EqualFold(name, "host") {
			return nil, "set the Host with host=, not header.Host="
		}
		for _, v := range vs {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	if c := q.Get("cookie"); c != "" {
		b.WriteString("Cookie: " + c + "\r\n")
	}
	b.WriteString("\r\n")
	req := &http1.Request{}
	if _, err := req.Parse([]byte(b.String()), &explainLimits); err != nil {
		return nil, "the request described (method, path, host, header.*, cookie) is not valid HTTP/1.1: " + err.Error()
	}
	return req, ""
}
