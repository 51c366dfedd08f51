package config

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/discovery"
	"github.com/shellac-lb/shellac/route"
)

// validate checks the provisioned configuration as a whole. Directors
// are checked in validate_directors.go.
func (p *parser) validate(c *Config) {
	p.validateServer(c)
	p.validateLimits(&c.Limits)
	p.validateAdmin(c)
	p.validateLog(&c.Log)
	for _, name := range sortedNames(c.Probes) {
		p.validateProbe(c.Probes[name], []string{"probes", name})
	}
	for _, name := range sortedNames(c.Backends) {
		p.validateBackend(c, c.Backends[name], []string{"backends", name})
	}
	for _, name := range sortedNames(c.Directors) {
		p.validateDirector(c, c.Directors[name], []string{"directors", name})
	}
	p.validateCycles(c)
	for i, r := range c.Routes {
		p.validateRoute(c, r, []string{"routes", index(i)})
	}
	p.validateRules(c)
}

func sortedNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (p *parser) validateServer(c *Config) {
	s := &c.Server
	if len(s.Listen) == 0 && len(s.TLS) == 0 {
		p.errorf([]string{"server", "listen"}, "no address to listen on")
	}
	for i, a := range s.Listen {
		path := []string{"server", "listen", index(i)}
		if why := checkAddr(a, false); why != "" {
			p.errorf(path, "%q %s", a, why)
		} else if slices.Index(s.Listen, a) < i {
			p.errorf(path, "%q is listed twice", a)
		}
	}
	if s.EventLoops < 0 {
		p.errorf([]string{"server", "event_loops"}, "must be ≥ 0 (0 = one per CPU)")
	}
	if d := s.DefaultDirector; d != "" && !c.isMember(d) {
		p.errorf([]string{"server", "default_director"}, "%q is neither a director nor a backend", d)
	}
	p.validateTLS(c)
}

func (p *parser) validateLimits(l *Limits) {
	positive := func(key string, v int64) {
		if v <= 0 {
			p.errorf([]string{"limits", key}, "must be > 0, got %d", v)
		}
	}
	positive("max_connections", int64(l.MaxConnections))
	positive("max_request_line_bytes", int64(l.MaxRequestLineBytes))
	positive("max_header_bytes", int64(l.MaxHeaderBytes))
	positive("max_headers", int64(l.MaxHeaders))
	positive("max_tls_handshakes", int64(l.MaxTLSHandshakes))
	positive("tls_handshake_timeout", int64(l.TLSHandshakeTimeout.Duration))
	if l.MaxConnectionsPerIP < 0 {
		p.errorf([]string{"limits", "max_connections_per_ip"}, "must be ≥ 0 (0 = unlimited), got %d", l.MaxConnectionsPerIP)
	}
	if l.MaxBodyBytes < 0 {
		p.errorf([]string{"limits", "max_body_bytes"}, "must be ≥ 0 (0 = unlimited), got %d", l.MaxBodyBytes)
	}
	if l.ClientHeaderTimeout.Duration == 0 {
		p.errorf([]string{"limits", "client_header_timeout"}, "must be > 0: a client could hold a connection forever")
	}
	if l.ClientIdleTimeout.Duration == 0 {
		p.errorf([]string{"limits", "client_idle_timeout"}, "must be > 0: idle connections would never be closed")
	}
}

func (p *parser) validateAdmin(c *Config) {
	a := c.Admin
	path := []string{"admin", "listen"}
	if a.Listen == "" {
		return // admin API off
	}
	if why := checkAddr(a.Listen, false); why != "" {
		p.errorf(path, "%q %s", a.Listen, why)
		return
	}
	if !isLoopback(a.Listen) && a.TokenFile == "" {
		p.errorf(path, "%s is not a loopback address: set admin.token_file", a.Listen)
	}
	if slices.Contains(c.Server.Listen, a.Listen) {
		p.errorf(path, "%s is also in server.listen", a.Listen)
	}
}

func (p *parser) validateLog(l *Log) {
	oneOf(p, []string{"log", "format"}, l.Format, "json", "text")
	oneOf(p, []string{"log", "level"}, l.Level, "debug", "info", "warn", "error")
}

// oneOf reports whether v is one of valid, and records an error listing
// them when it is not.
func oneOf(p *parser, path []string, v string, valid ...string) bool {
	if slices.Contains(valid, v) {
		return true
	}
	p.errorf(path, "%q is not one of %s", v, quoteList(valid))
	return false
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// checkName checks the name of a probe, backend or director.
func (p *parser) checkName(path []string, kind string) {
	name := path[len(path)-1]
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return r >= 0x80 || !isBareKeyByte(byte(r)) }) >= 0 {
		p.errorf(path, "%s name %q: use only letters, digits, '_' and '-'", kind, name)
	}
}

func (p *parser) validateProbe(pr *Probe, path []string) {
	p.checkName(path, "probe")
	at := func(key string) []string { return sub(path, key) }
	switch {
	case pr.URL != "" && len(pr.Request) > 0:
		p.errorf(at("request"), "set url or request, not both")
	case len(pr.Request) > 0:
		for i, line := range pr.Request {
			if strings.ContainsAny(line, "\r\n") {
				p.errorf(sub(path, "request", index(i)), "must not contain CR or LF: give one line per element")
			}
		}
		if f := strings.Fields(pr.Request[0]); len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
			p.errorf(sub(path, "request", index(0)), `%q is not a request line like "GET /healthz HTTP/1.1"`, pr.Request[0])
		}
	case p.has(at("request")...):
		p.errorf(at("request"), "is empty")
	case !strings.HasPrefix(pr.URL, "/") || strings.ContainsAny(pr.URL, " \t\r\n"):
		p.errorf(at("url"), `%q must be a path starting with "/", without spaces`, pr.URL)
	}
	if pr.ExpectedStatus < 100 || pr.ExpectedStatus > 599 {
		p.errorf(at("expected_status"), "%d is not an HTTP status (100-599)", pr.ExpectedStatus)
	}
	if pr.Interval.Duration == 0 {
		p.errorf(at("interval"), "must be > 0: it is the time between probes")
	}
	if pr.Timeout.Duration == 0 {
		p.errorf(at("timeout"), "must be > 0")
	} else if pr.Interval.Duration > 0 && pr.Timeout.Duration > pr.Interval.Duration {
		p.errorf(at("timeout"), "%v is longer than interval %v", pr.Timeout, pr.Interval)
	}
	if pr.Window < 1 || pr.Window > 64 {
		p.errorf(at("window"), "%d is not in 1..64", pr.Window)
		return
	}
	if pr.Threshold < 1 || pr.Threshold > pr.Window {
		p.errorf(at("threshold"), "%d is not in 1..window (%d)", pr.Threshold, pr.Window)
	}
	if pr.Initial < 0 || pr.Initial > pr.Window {
		p.errorf(at("initial"), "%d is not in 0..window (%d)", pr.Initial, pr.Window)
	}
}

func (p *parser) validateBackend(c *Config, b *Backend, path []string) {
	if b.DiscoveredFrom == "" {
		// A discovered backend is named TEMPLATE:host:port by app.
		p.checkName(path, "backend")
	}
	at := func(key string) []string { return sub(path, key) }
	switch {
	case b.Type == BackendNetwork:
	case directors.IsRegisteredBackend(b.Type):
		_, err := directors.NewRegisteredBackend(b.Type, b.Name, b.Options)
		p.reportFactory(path, err)
		return
	default:
		p.errorf(at("type"), `unknown backend type %q (leave it out for a network backend, or use one of: %s)`,
			b.Type, strings.Join(directors.BackendTypes(), ", "))
		return
	}
	switch {
	case b.IsTemplate():
		p.validateTemplate(c, b, path)
	case b.Address == "":
		p.errorf(at("address"), `is required (or set discover = "dns+srv://…", or type = "synthetic")`)
	default:
		if why := checkAddr(b.Address, true); why != "" {
			p.errorf(at("address"), "%q %s", b.Address, why)
		}
		for _, k := range []string{"resolvers", "min_ttl", "max_ttl", "grace"} {
			if p.has(at(k)...) {
				p.errorf(at(k), "is for DNS discovery: it needs discover = \"dns+…\"")
			}
		}
	}
	if b.Probe != "" && c.Probes[b.Probe] == nil {
		p.errorf(at("probe"), "there is no probe %q", b.Probe)
	}
	if b.ConnectTimeout.Duration == 0 {
		p.errorf(at("connect_timeout"), "must be > 0")
	}
	if b.MaxConnections < 0 {
		p.errorf(at("max_connections"), "must be ≥ 0 (0 = unlimited), got %d", b.MaxConnections)
	}
	if b.MaxIdle < 0 {
		p.errorf(at("max_idle"), "must be ≥ 0, got %d", b.MaxIdle)
	}
	if strings.ContainsAny(b.HostHeader, " \t\r\n\x00/") {
		p.errorf(at("host_header"), "%q is not a valid Host", b.HostHeader)
	}
	if b.ProxyHeader < 0 || b.ProxyHeader > 2 {
		p.errorf(at("proxy_header"), "%d is not 0 (off), 1 or 2 (PROXY protocol version)", b.ProxyHeader)
	}
	p.validateBackendTLS(b, path)
	p.validateOutlier(b, path)
}

// validateTemplate checks a DNS-discovery template: its target, its
// resolvers and TTL bounds, and that nothing names it where one backend
// is needed (a route, default_director, a saintmode director): it stands
// for a set of backends, which only a director's members can be.
func (p *parser) validateTemplate(c *Config, b *Backend, path []string) {
	at := func(key string) []string { return sub(path, key) }
	if b.Address != "" {
		p.errorf(at("address"), "a discovered backend has no address: its endpoints come from discover")
	}
	if _, err := discovery.ParseTarget(b.Discover); err != nil {
		p.errorf(at("discover"), "%v", strings.TrimPrefix(err.Error(), "discovery: "))
	}
	for i, r := range b.Resolvers {
		if why := checkAddr(r, false); why != "" || strings.HasPrefix(r, unixPrefix) {
			p.errorf(sub(path, "resolvers", index(i)), "%q is not a DNS server's host:port", r)
		}
	}
	if b.MinTTL.Duration < 10*time.Millisecond {
		p.errorf(at("min_ttl"), "must be ≥ 10ms, got %v", b.MinTTL.Duration)
	}
	if b.MaxTTL.Duration < b.MinTTL.Duration {
		p.errorf(at("max_ttl"), "%v is below min_ttl %v", b.MaxTTL.Duration, b.MinTTL.Duration)
	}
	if b.Grace.Duration < 0 {
		p.errorf(at("grace"), "must be ≥ 0 (0 = keep the last answer until DNS answers again)")
	}
	if c.Server.DefaultDirector == b.Name {
		p.errorf([]string{"server", "default_director"}, "%q is a discovered backend (a set of endpoints): list it in a director's members and name the director", b.Name)
	}
	for i, r := range c.Routes {
		if r.Director == b.Name {
			p.errorf([]string{"routes", index(i), "director"}, "%q is a discovered backend (a set of endpoints): list it in a director's members and name the director", b.Name)
		}
	}
	for name, d := range c.Directors {
		if d.Type == Saintmode && d.Member == b.Name {
			p.errorf([]string{"directors", name, "member"}, "%q is a discovered backend (a set of endpoints): a saintmode director wraps one member; wrap a director that lists it", b.Name)
		}
	}
}

// retryKinds are the values of a route's retry_on: route's list, which
// the table builder reads too.
var retryKinds = route.RetryOnNames()

func (p *parser) validateRoute(c *Config, r *Route, path []string) {
	at := func(key string) []string { return sub(path, key) }
	if r.Director == "" {
		p.errorf(at("director"), "is required")
	} else if !c.isMember(r.Director) {
		p.errorf(at("director"), "%q is neither a director nor a backend", r.Director)
	}
	if r.Host != "" && !validHostPattern(r.Host) {
		p.errorf(at("host"), `%q is not a host name, optionally starting with "*." and ending with ":port"`, r.Host)
	}
	if r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/") {
		p.errorf(at("path_prefix"), `%q must start with "/"`, r.PathPrefix)
	}
	if r.Retries < 0 {
		p.errorf(at("retries"), "must be ≥ 0, got %d", r.Retries)
	} else if r.Retries > 0 && len(r.RetryOn) == 0 {
		p.errorf(at("retries"), `has no effect without retry_on (e.g. retry_on = ["connect", "reset"])`)
	}
	for i, k := range r.RetryOn {
		ep := sub(path, "retry_on", index(i))
		if oneOf(p, ep, k, retryKinds...) && slices.Index(r.RetryOn, k) < i {
			p.errorf(ep, "%q is listed twice", k)
		}
	}
	p.validateRetryBudget(r, path)
}

// isMember reports whether name is a backend or a director.
func (c *Config) isMember(name string) bool {
	return c.Backends[name] != nil || c.Directors[name] != nil
}

const unixPrefix = "unix:"

// checkAddr returns why s is not a "host:port" or "unix:/path" address,
// or "" when it is one. The host may be an IP address, a bracketed IPv6
// address or a name; it may be empty (all interfaces) only when
// hostRequired is false.
func checkAddr(s string, hostRequired bool) string {
	if path, ok := strings.CutPrefix(s, unixPrefix); ok {
		if !strings.HasPrefix(path, "/") || len(path) < 2 {
			return "is not unix:/absolute/path"
		}
		return ""
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return `is not "host:port" or "unix:/path"`
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "has no valid port (1-65535)"
	}
	switch {
	case host == "":
		if hostRequired {
			return "has no host"
		}
	case strings.Contains(host, ":"):
		if ip := net.ParseIP(host); ip == nil || !strings.HasPrefix(s, "[") {
			return "has an invalid IPv6 address (write [addr]:port)"
		}
	case net.ParseIP(host) == nil && !validHostname(host):
		return "has an invalid host name"
	}
	return ""
}

// isLoopback reports whether the valid address s can be reached only
// from this machine.
func isLoopback(s string) bool {
	if strings.HasPrefix(s, unixPrefix) {
		return true
	}
	host, _, _ := net.SplitHostPort(s)
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHostname reports whether h is a DNS name: dot-separated labels of
// letters, digits, '-' and '_' (underscores appear in real internal names).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isBareKeyByte(label[i]) {
				return false
			}
		}
	}
	return true
}

// validHostPattern reports whether a route's host pattern is valid: a
// host name or IP address, optionally "*." first and ":port" last.
func validHostPattern(h string) bool {
	if host, port, err := net.SplitHostPort(h); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
		if strings.Contains(host, ":") {
			return net.ParseIP(host) != nil
		}
		h = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return net.ParseIP(h[1:len(h)-1]) != nil
	}
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		return validHostname(rest)
	}
	return net.ParseIP(h) != nil || validHostname(h)
}

// isToken reports whether s is an RFC 9110 token (header and cookie names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isBareKeyByte(c) && !strings.ContainsRune("!#$%&'*+.^`|~", rune(c)) {
			return false
		}
	}
	return true
}
