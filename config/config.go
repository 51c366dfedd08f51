// Package config reads shellac's TOML configuration (docs/spec.md section 2).
//
// Parse works in phases, each in its own file: the TOML is parsed into
// plain values (BurntSushi/toml) and a position index of every key
// (scan.go); the values are decoded into a Config, reporting unknown keys
// and wrong types (decode.go); defaults are filled in (provision.go); and
// the result is checked as a whole: ranges, addresses, references, cycles
// (validate.go, validate_directors.go). Every problem found is reported,
// each at the line and column of the key or table it concerns.
//
// A Config is plain data: package app/topology builds the live backends
// and directors from it, and nothing on the request path uses these types.
//
// Director and backend types registered by Go code (directors.Register,
// directors.RegisterBackend; see docs/writing-a-director.md) are known
// here through that registry, which lives in package directors, below
// this one, so nothing imports in a circle. For a table of a registered
// type, Parse decodes type (and, for a director, members and weights)
// itself and keeps every other key as a raw TOML value in Options; it then
// has the type's factory validate them (directors.NewRegistered), and
// reports each error the factory returns at the line of the key it names.
// The registry is filled by whoever assembles the program: package app
// registers the built-in extension types (least_conn, p2c, synthetic, in
// package directors/contrib), so every shellac binary knows them.
package config

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/rules"
)

// Config is a whole configuration file, with defaults applied.
type Config struct {
	Server Server `toml:"server"`
	Limits Limits `toml:"limits"`
	Admin  Admin  `toml:"admin"`
	Log    Log    `toml:"log"`

	// Probes, Backends and Directors are keyed by name.
	Probes    map[string]*Probe    `toml:"probes"`
	Backends  map[string]*Backend  `toml:"backends"`
	Directors map[string]*Director `toml:"directors"`
	// Routes are tried in order; the first match wins.
	Routes []*Route `toml:"routes"`
	// RequestRules run on every request before a route is chosen;
	// ResponseRules on every relayed response, after the route's
	// (docs/rules.md).
	RequestRules  []*rules.Rule `toml:"request_rules"`
	ResponseRules []*rules.Rule `toml:"response_rules"`
}

// Server is the [server] table.
type Server struct {
	// Listen holds "host:port" or "unix:/path" addresses.
	Listen []string `toml:"listen"`
	// EventLoops is the number of event loops; 0 means one per CPU.
	EventLoops int `toml:"event_loops"`
	// DefaultDirector (a director or backend) takes requests no route
	// matches; "" means such requests get a 503.
	DefaultDirector string `toml:"default_director"`
	// ProxyProtocol expects a PROXY v1/v2 header on every client connection.
	ProxyProtocol   bool     `toml:"proxy_protocol"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// XForwardedFor appends the client address to X-Forwarded-For and
	// sets X-Forwarded-Proto and X-Forwarded-Host.
	XForwardedFor bool `toml:"x_forwarded_for"`
	// TCPSmartAccept (default true) sets TCP_QUICKACK off on the
	// listeners, as HAProxy does in HTTP mode: the kernel then does not
	// acknowledge a new connection's first request on its own, and the
	// response carries the ACK, one segment fewer per connection.
	TCPSmartAccept bool `toml:"tcp_smart_accept"`
	// StateFile, when set, is where the running process keeps each
	// backend's operator override and probe window and every saintmode
	// blacklist (rewritten every second and at stop), and where a new
	// process (an upgrade or a restart) takes them from at start.
	StateFile string `toml:"state_file"`
	// TLS lists the listeners that speak TLS ([[server.tls]]).
	TLS []*TLS `toml:"tls"`
}

// Limits is the [limits] table.
type Limits struct {
	MaxConnections int `toml:"max_connections"`
	// MaxConnectionsPerIP caps the client connections from one address
	// (the PROXY protocol's, where one is received); 0 = unlimited.
	MaxConnectionsPerIP int   `toml:"max_connections_per_ip"`
	MaxRequestLineBytes int   `toml:"max_request_line_bytes"`
	MaxHeaderBytes      int   `toml:"max_header_bytes"`
	MaxHeaders          int   `toml:"max_headers"`
	MaxBodyBytes        int64 `toml:"max_body_bytes"` // 0 = unlimited
	// ClientHeaderTimeout bounds the arrival of a whole request head.
	ClientHeaderTimeout Duration `toml:"client_header_timeout"`
	ClientIdleTimeout   Duration `toml:"client_idle_timeout"`
	// TLSHandshakeTimeout bounds a TLS handshake; MaxTLSHandshakes caps
	// those under way at once (past it new TLS connections are closed).
	TLSHandshakeTimeout Duration `toml:"tls_handshake_timeout"`
	MaxTLSHandshakes    int      `toml:"max_tls_handshakes"`
}

// Admin is the [admin] table.
type Admin struct {
	// Listen is the admin API address; "" turns the admin API off.
	Listen string `toml:"listen"`
	// TokenFile holds a bearer token required on every admin request;
	// it is required when Listen is not a loopback address.
	TokenFile string `toml:"token_file"`
}

// Log is the [log] table.
type Log struct {
	// Access is "" (off), "stdout", or a file path.
	Access string `toml:"access"`
	Format string `toml:"format"` // "json" or "text"
	Level  string `toml:"level"`  // "debug", "info", "warn" or "error"
}

// Probe is a [probes.NAME] table: a health check with Varnish semantics.
type Probe struct {
	Name string `toml:"-"`
	Pos  Pos    `toml:"-"`

	// URL is the path requested; Request is a whole request instead, one
	// line per element. Exactly one of them is set.
	URL            string   `toml:"url"`
	Request        []string `toml:"request"`
	ExpectedStatus int      `toml:"expected_status"`
	Interval       Duration `toml:"interval"`
	Timeout        Duration `toml:"timeout"`
	// Window is how many recent results are kept; the backend is healthy
	// while at least Threshold of them are good. Initial results count as
	// good at start.
	Window    int `toml:"window"`
	Threshold int `toml:"threshold"`
	Initial   int `toml:"initial"`
}

// Backend types.
const (
	BackendNetwork = "" // requests go to Address
	// BackendSynthetic answers by itself with a fixed status, headers and
	// body (Options status, headers, body). It is a registered type
	// (directors/contrib), like any custom backend type.
	BackendSynthetic = "synthetic"
)

// Backend is a [backends.NAME] table: a leaf requests are sent to.
type Backend struct {
	Name string `toml:"-"`
	Pos  Pos    `toml:"-"`

	// Type is BackendNetwork, or a registered backend type
	// (directors.RegisterBackend) such as BackendSynthetic.
	Type string `toml:"type"`

	// Network backends.
	Address             string   `toml:"address"` // "host:port" or "unix:/path"
	Probe               string   `toml:"probe"`   // a probe name, or ""
	ConnectTimeout      Duration `toml:"connect_timeout"`
	FirstByteTimeout    Duration `toml:"first_byte_timeout"`    // 0 = none
	BetweenBytesTimeout Duration `toml:"between_bytes_timeout"` // 0 = none
	MaxConnections      int      `toml:"max_connections"`       // 0 = unlimited
	MaxIdle             int      `toml:"max_idle"`
	IdleTimeout         Duration `toml:"idle_timeout"` // 0 = idle connections are kept
	HostHeader          string   `toml:"host_header"`
	ProxyHeader         int      `toml:"proxy_header"` // PROXY protocol version: 0 (none), 1 or 2

	// TLS to the backend (backendtls.go), for pooled connections and
	// probes alike. TLSSNI is the name sent and verified (default: the
	// host_header, else the address's host); TLSVerify checks the
	// backend's certificate (the default) against TLSCA's PEM bundle, or
	// the system's roots without one; TLSCert and TLSKey are a client
	// certificate for backends that ask for one.
	TLS       bool   `toml:"tls"`
	TLSSNI    string `toml:"tls_sni"`
	TLSVerify bool   `toml:"tls_verify"`
	TLSCA     string `toml:"tls_ca"`
	TLSCert   string `toml:"tls_cert"`
	TLSKey    string `toml:"tls_key"`

	// Passive health (outlier.go): OutlierConsecutive failures in a row,
	// of the kinds in OutlierOn (retry_on's names), eject the backend; the
	// n-th ejection lasts n × OutlierBaseEjection, at most
	// OutlierMaxEjection. 0 turns it off, and the other keys with it.
	OutlierConsecutive  int      `toml:"outlier_consecutive"`
	OutlierOn           []string `toml:"outlier_on"`
	OutlierBaseEjection Duration `toml:"outlier_base_ejection"`
	OutlierMaxEjection  Duration `toml:"outlier_max_ejection"`

	// DNS discovery: a backend with Discover is a template. It is no live
	// backend itself; each endpoint its target resolves to becomes a
	// backend named "NAME:host:port" with the template's settings, and a
	// member of every director that lists NAME.
	Discover  string   `toml:"discover"`  // "dns+srv://NAME", "dns+a://NAME:PORT", dns+aaaa, dns+ip
	Resolvers []string `toml:"resolvers"` // "host:port" of DNS servers; default: /etc/resolv.conf
	MinTTL    Duration `toml:"min_ttl"`   // bounds on the time between lookups (the answer's TTL, clamped)
	MaxTTL    Duration `toml:"max_ttl"`
	Grace     Duration `toml:"grace"` // how long the last good answer is kept while DNS fails; 0 = until it answers
	// DiscoveredFrom names the template a discovered backend was made
	// from ("" for a backend of the file); such backends are not written
	// by TOML (their template is).
	DiscoveredFrom string `toml:"-"`

	// Options are the keys of a registered type's table other than type,
	// as raw TOML values (string, int64, float64, bool, []any,
	// map[string]any, time.Time), for its factory; nil when none.
	Options map[string]any `toml:"-"`
}

// IsTemplate reports whether b is a DNS-discovery template.
func (b *Backend) IsTemplate() bool { return b.Discover != "" }

// Network returns the network to dial for b: "tcp", "unix", or "" for a
// backend of a registered type, which answers by itself.
func (b *Backend) Network() string {
	switch {
	case b.Type != BackendNetwork:
		return ""
	case strings.HasPrefix(b.Address, unixPrefix):
		return "unix"
	}
	return "tcp"
}

// Addr returns the address to dial: "host:port", or the socket path
// without the "unix:" prefix.
func (b *Backend) Addr() string {
	return strings.TrimPrefix(b.Address, unixPrefix)
}

// Director types.
const (
	RoundRobin = "round_robin"
	Fallback   = "fallback"
	Random     = "random"
	Hash       = "hash"
	Shard      = "shard"
	Saintmode  = "saintmode"
)

// Director is a [directors.NAME] table. Which options apply depends on
// Type; Parse refuses options of another type, and only the options of
// a director's own type get defaults.
type Director struct {
	Name string `toml:"-"`
	Pos  Pos    `toml:"-"`

	// Type is one of the core types above or a registered director type
	// (directors.Register), such as least_conn or p2c.
	Type string `toml:"type"`
	// Members are backend or director names, in order (all types but
	// saintmode); Member is saintmode's single member.
	Members []string `toml:"members"`
	Member  string   `toml:"member"`
	// Weights (random, hash and registered types) default to 1.0 per
	// member.
	Weights map[string]float64 `toml:"weights"`
	// Key lists the key sources hashed by hash, and by shard with By "key":
	// url, host, client_ip, header:NAME, cookie:NAME, query:NAME,
	// int:header:NAME.
	Key []string `toml:"key"`

	// Shard options (Varnish's shard director).
	Idents   map[string]string `toml:"idents"` // ring ident per member; default its name
	Replicas int               `toml:"replicas"`
	By       string            `toml:"by"` // "url", "hash" or "key"; default "key" when Key is set, else "hash"
	Alt      int               `toml:"alt"`
	Healthy  string            `toml:"healthy"` // "chosen", "ignore" or "all"
	Rampup   Duration          `toml:"rampup"`
	Warmup   float64           `toml:"warmup"` // -1 = Varnish's default
	Digest   string            `toml:"digest"` // DigestSHA256 or DigestFNV1a
	Bound    float64           `toml:"bound"`  // 0 = off, else ≥ 1: bounded-load factor

	// Threshold (saintmode) is how many blacklisted objects make the
	// member sick for everything.
	Threshold int `toml:"threshold"`
	// Sticky (fallback) keeps the current member while it stays healthy.
	Sticky bool `toml:"sticky"`
	// MaxEjectionPercent (every type but saintmode) caps the share of the
	// backends under the director that outlier detection ejects at once.
	MaxEjectionPercent int `toml:"max_ejection_percent"`

	// Options are, for a registered type, the keys of its table other
	// than type, members and weights, as raw TOML values for its factory
	// (see Backend.Options); nil when none.
	Options map[string]any `toml:"-"`
}

// Shard digests.
const (
	// DigestSHA256 hashes keys as Varnish does (SHA-256, last four bytes
	// little-endian), so the key→backend mapping is Varnish's.
	DigestSHA256 = "sha256"
	// DigestFNV1a is FNV-1a 64 folded to 32 bits (directors.DigestFNV1a):
	// several times faster than SHA-256 and the same in every shellac
	// instance, but keys map differently from Varnish.
	DigestFNV1a = "fnv1a"
)

// Route is a [[routes]] entry.
type Route struct {
	Pos Pos `toml:"-"`

	// Host is "" (any), a host name, or "*.example.com" (any subdomain).
	Host string `toml:"host"`
	// PathPrefix is "" (any) or a path starting with "/".
	PathPrefix string `toml:"path_prefix"`
	// Director is the director or backend that takes matching requests.
	Director string `toml:"director"`
	// Retries is how many other backends are tried after a failure of a
	// kind in RetryOn: "connect", "reset", "5xx", "timeout".
	Retries int      `toml:"retries"`
	RetryOn []string `toml:"retry_on"`
	// Blacklist, when positive, blacklists a retried failure's (backend,
	// object) for this long in every saintmode director on the path.
	Blacklist Duration `toml:"blacklist"`
	// Pipe tunnels the connection (Varnish's return(pipe)).
	Pipe bool `toml:"pipe"`
	// Match adds conditions (method, header, query, client address…) to
	// host and path_prefix.
	Match *rules.Match `toml:"match"`
	// RequestRules run, after the global ones, on the requests this route
	// takes; ResponseRules on their responses, before the global ones.
	RequestRules  []*rules.Rule `toml:"request_rules"`
	ResponseRules []*rules.Rule `toml:"response_rules"`
	// RetryBudgetPercent, when positive, caps the retries in flight at
	// this share of the requests in flight through the route, or at
	// RetryBudgetMin, whichever is larger (outlier.go).
	RetryBudgetPercent float64 `toml:"retry_budget_percent"`
	RetryBudgetMin     int     `toml:"retry_budget_min"`
}

// Duration is a time.Duration written as a Go duration string ("250ms").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string; negative durations are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText returns the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String returns the duration as time.Duration does, without zero
// trailing units: "1m" rather than "1m0s", "2h" rather than "2h0m0s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(`"` + s + `" is not a duration (write e.g. "250ms", "2s", "1m30s")`)
	}
	if v < 0 {
		return 0, errors.New(`"` + s + `" is negative`)
	}
	return v, nil
}

// Load reads the file at path and parses it with Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(path, data)
}

// Parse parses a configuration. name is the file name used in error
// positions. On failure the error is an Errors holding every problem
// found, and the Config is nil.
func Parse(name string, data []byte) (*Config, error) {
	p, errs := newParser(name, data)
	if errs != nil {
		return nil, errs.err()
	}
	cfg := p.decode()
	p.provision(cfg)
	p.validate(cfg)
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}
