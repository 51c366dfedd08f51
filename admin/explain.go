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
}

// explainLimits parse the request head /explain builds.
var explainLimits = http1.Limits{MaxRequestLine: 1 << 16, MaxHeaderBytes: 1 << 20, MaxHeaders: 1000}

// getExplain: GET /explain?route=N|director=NAME&host=&path=&method=
// &header.NAME=VALUE&cookie=&client_ip=&key=.
func (s *Server) getExplain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := s.ctl.View()
	t := v.Table

	var dreq directors.Request
	dreq.Now = time.Now().UnixNano()
	if ks := q.Get("key"); ks != "" {
		k, err := strconv.ParseUint(ks, 10, 32)
		if err != nil {
			writeError(w, http.StatusBadRequest, "key %q: want an integer 0..4294967295", ks)
			return
		}
		dreq.Key, dreq.HasKey = uint32(k), true
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

	ex := Explanation{Alternatives: []string{}}
	var target directors.Member
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
		rt := t.Match(head.Host, head.Path)
		if rt == nil {
			writeError(w, http.StatusNotFound, "no route matches host %q path %q and there is no default_director: the request would get a 503", head.Host, head.Path)
			return
		}
		ex.Route, target = routeIndex(t, rt), rt.Target
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
	writeJSON(w, http.StatusOK, ex)
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
