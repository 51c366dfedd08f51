// Package route is the data plane's routing table: which route a request
// takes (host and path match), the director or backend it goes to, and the
// route's retry policy. A Table is immutable once built; the proxy holds
// the current one behind an atomic pointer and swaps in a new one on a
// reload. The table is built from the configuration by app/topology; this
// package knows nothing of the configuration.
package route

import (
	"github.com/shellac-lb/shellac/directors"
)

// Route sends matching requests to a director or backend.
type Route struct {
	// Host is the host pattern, lower case: "" matches any host,
	// "*.example.com" any subdomain of example.com; without a port in the
	// pattern the request's port is ignored.
	Host string
	// PathPrefix matches the start of the request path; "" matches any.
	PathPrefix string
	// Target is the director or backend requests go to.
	Target directors.Member
	// Retry says which failed tries are tried again on another backend.
	Retry RetryPolicy
	// Pipe tunnels the connection after the first request (Varnish's
	// return(pipe)).
	Pipe bool
}

// matchHost reports whether the request host h (any case, maybe with a
// port) matches the route's pattern. It does not allocate.
func (rt *Route) matchHost(h []byte) bool {
	p := rt.Host
	if p == "" {
		return true
	}
	if !hasPort(p) {
		h = stripPort(h)
	}
	if len(p) > 1 && p[0] == '*' && p[1] == '.' {
		suffix := p[1:] // ".example.com"
		return len(h) > len(suffix) && equalFold(h[len(h)-len(suffix):], suffix)
	}
	return equalFold(h, p)
}

// Match reports whether a request for host and path takes this route.
func (rt *Route) Match(host, path []byte) bool {
	if !rt.matchHost(host) {
		return false
	}
	p := rt.PathPrefix
	return len(path) >= len(p) && string(path[:len(p)]) == p
}

func hasPort(p string) bool {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case ':':
			return true
		case ']':
			return false
		}
	}
	return false
}

// stripPort removes ":port" from a host, IPv6 literals included.
func stripPort(h []byte) []byte {
	for i := len(h) - 1; i >= 0; i-- {
		switch h[i] {
		case ':':
			return h[:i]
		case ']':
			return h
		}
		if h[i] < '0' || h[i] > '9' {
			return h
		}
	}
	return h
}

// equalFold compares ASCII case-insensitively; p is lower case.
func equalFold(b []byte, p string) bool {
	if len(b) != len(p) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// Table is an immutable routing table with the objects it refers to.
type Table struct {
	// Routes are tried in order; the first match wins.
	Routes []*Route
	// Default takes requests no route matched; nil answers 503.
	Default *Route
	// Backends and Directors by name.
	Backends  map[string]*directors.Backend
	Directors map[string]directors.Director
}

// Match returns the route for a request, or nil. It does not allocate.
func (t *Table) Match(host, path []byte) *Route {
	for _, rt := range t.Routes {
		if rt.Match(host, path) {
			return rt
		}
	}
	return t.Default
}

// Index returns the position of rt in t.Routes, or -1 (the default route,
// or a route of another table).
func (t *Table) Index(rt *Route) int {
	for i, r := range t.Routes {
		if r == rt {
			return i
		}
	}
	return -1
}
