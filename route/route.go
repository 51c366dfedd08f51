// Package route is the data plane's routing table: which route a request
// takes (host and path match), the director or backend it goes to, and the
// route's retry policy. A Table is immutable once built; the proxy holds
// the current one behind an atomic pointer and swaps in a new one on a
// reload. The table is built from the configuration by app/topology; this
// package knows nothing of the configuration.
package route

import (
	"strconv"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/rules"
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
	// When, if set, must match too (the route's match table).
	When rules.Cond
	// Request and Response are the route's rules, run after the global
	// request rules and before the global response rules.
	Request, Response *rules.List
}

// Match reports whether a request for host and path takes this route,
// its matcher aside (see MatchCtx). It does not allocate.
func (rt *Route) Match(host, path []byte) bool {
	if !rules.MatchHost(rt.Host, host) {
		return false
	}
	p := rt.PathPrefix
	return len(path) >= len(p) && string(path[:len(p)]) == p
}

// MatchCtx reports whether the request in c takes this route: host, path
// prefix and matcher. It does not allocate (but for regexp matchers).
func (rt *Route) MatchCtx(c *rules.Ctx) bool {
	return rt.Match(c.Req.Host, c.Req.Path) && (rt.When == nil || rt.When.Eval(c))
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
	// Request rules run on every request before a route is chosen;
	// Response rules on every relayed response, after the route's.
	Request, Response *rules.List
}

// Match returns the route for a request for host and path, ignoring the
// routes' matchers (a route with one never matches here), or the
// default. It does not allocate.
func (t *Table) Match(host, path []byte) *Route {
	for _, rt := range t.Routes {
		if rt.When == nil && rt.Match(host, path) {
			return rt
		}
	}
	return t.Default
}

// MatchCtx returns the route for the request in c, or the default (nil
// when there is none). It does not allocate but for regexp matchers.
func (t *Table) MatchCtx(c *rules.Ctx) *Route {
	for _, rt := range t.Routes {
		if rt.MatchCtx(c) {
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

// Limiters returns the rate limiters of every rule list in t, by the
// rule's place in the configuration ("request_rules[0]",
// "routes[1].request_rules[2]").
func (t *Table) Limiters() map[string]*rules.Limiter {
	out := map[string]*rules.Limiter{}
	add := func(prefix string, l *rules.List) {
		for p, lim := range l.Limiters() {
			out[prefix+p] = lim
		}
	}
	add("request_rules", t.Request)
	for i, rt := range t.Routes {
		add("routes["+strconv.Itoa(i)+"].request_rules", rt.Request)
	}
	return out
}
