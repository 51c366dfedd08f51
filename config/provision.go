package config

import (
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/discovery"
	"github.com/shellac-lb/shellac/health"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/pool"
	"github.com/shellac-lb/shellac/proxy"
)

// Defaults (docs/spec.md, section 2). Each one that a package of the data
// plane also applies is that package's constant, so the two cannot drift:
// the limits are http1's, the server's proxy's, the probes' health's, the
// connection settings pool's and proxy's, the directors' directors'.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultAdminListen     = "127.0.0.1:9091"

	DefaultMaxConnections      = proxy.DefaultMaxConnections
	DefaultMaxRequestLineBytes = http1.DefaultMaxRequestLine
	DefaultMaxHeaderBytes      = http1.DefaultMaxHeaderBytes
	DefaultMaxHeaders          = http1.DefaultMaxHeaders
	DefaultClientHeaderTimeout = proxy.DefaultClientHeaderTimeout
	DefaultClientIdleTimeout   = proxy.DefaultClientIdleTimeout
	DefaultTLSHandshakeTimeout = proxy.DefaultTLSHandshakeTimeout
	DefaultMaxTLSHandshakes    = proxy.DefaultMaxTLSHandshakes

	DefaultProbeURL       = health.DefaultURL
	DefaultExpectedStatus = health.DefaultExpectedStatus
	DefaultProbeInterval  = health.DefaultInterval
	DefaultProbeTimeout   = health.DefaultTimeout
	DefaultProbeWindow    = health.DefaultWindow
	DefaultProbeThreshold = health.DefaultThreshold

	DefaultConnectTimeout      = pool.DefaultConnectTimeout
	DefaultDiscoveryMinTTL     = discovery.DefaultMinTTL
	DefaultDiscoveryMaxTTL     = discovery.DefaultMaxTTL
	DefaultFirstByteTimeout    = proxy.DefaultFirstByteTimeout
	DefaultBetweenBytesTimeout = proxy.DefaultBetweenBytesTimeout
	DefaultBackendMaxIdle      = pool.DefaultMaxIdle
	DefaultBackendIdleTimeout  = pool.DefaultIdleTimeout

	DefaultReplicas           = directors.DefaultReplicas
	DefaultBy                 = "hash" // "key" when key is set (directors.ParseBy)
	DefaultHealthy            = "chosen"
	DefaultWarmup             = -1.0 // Varnish's default (directors.NewShard)
	DefaultDigest             = DigestSHA256
	DefaultSaintmodeThreshold = directors.DefaultSaintmodeThreshold
)

// provision fills in the defaults of every key that was not written.
// Presence, not the zero value, decides: an explicit 0 stays 0 (and is
// then judged by validate). Options of a director get defaults only for
// the director's own type, so a Config never carries values of options
// that do not apply. Empty maps and lists become nil, so a Config
// compares equal to its own TOML round trip.
func (p *parser) provision(c *Config) {
	s, l := &c.Server, &c.Limits
	if !p.has("server", "listen") {
		s.Listen = []string{DefaultListen}
	}
	defDur(p, &s.ShutdownTimeout, DefaultShutdownTimeout, "server", "shutdown_timeout")
	defVal(p, &s.XForwardedFor, true, "server", "x_forwarded_for")
	defVal(p, &s.TCPSmartAccept, true, "server", "tcp_smart_accept")
	for i, t := range s.TLS {
		defVal(p, &t.SessionTickets, true, "server", "tls", index(i), "session_tickets")
		defVal(p, &t.MinVersion, "1.2", "server", "tls", index(i), "min_version")
		defVal(p, &t.ClientAuth, "none", "server", "tls", index(i), "client_auth")
	}
	if len(s.TLS) == 0 {
		s.TLS = nil
	}
	defDur(p, &l.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout, "limits", "tls_handshake_timeout")
	defVal(p, &l.MaxTLSHandshakes, DefaultMaxTLSHandshakes, "limits", "max_tls_handshakes")

	defVal(p, &l.MaxConnections, DefaultMaxConnections, "limits", "max_connections")
	defVal(p, &l.MaxRequestLineBytes, DefaultMaxRequestLineBytes, "limits", "max_request_line_bytes")
	defVal(p, &l.MaxHeaderBytes, DefaultMaxHeaderBytes, "limits", "max_header_bytes")
	defVal(p, &l.MaxHeaders, DefaultMaxHeaders, "limits", "max_headers")
	defDur(p, &l.ClientHeaderTimeout, DefaultClientHeaderTimeout, "limits", "client_header_timeout")
	defDur(p, &l.ClientIdleTimeout, DefaultClientIdleTimeout, "limits", "client_idle_timeout")

	defVal(p, &c.Admin.Listen, DefaultAdminListen, "admin", "listen")
	defVal(p, &c.Log.Access, "stdout", "log", "access")
	defVal(p, &c.Log.Format, "json", "log", "format")
	defVal(p, &c.Log.Level, "info", "log", "level")

	if len(c.Probes) == 0 {
		c.Probes = nil
	}
	if len(c.Backends) == 0 {
		c.Backends = nil
	}
	if len(c.Directors) == 0 {
		c.Directors = nil
	}
	for name, pr := range c.Probes {
		p.provisionProbe(pr, []string{"probes", name})
	}
	for name, b := range c.Backends {
		p.provisionBackend(b, []string{"backends", name})
	}
	for name, d := range c.Directors {
		p.provisionDirector(d, []string{"directors", name})
	}
	for i, r := range c.Routes {
		if len(r.RetryOn) == 0 {
			r.RetryOn = nil
		}
		p.provisionRetryBudget(r, []string{"routes", index(i)})
	}
}

func (p *parser) provisionProbe(pr *Probe, path []string) {
	if len(pr.Request) == 0 {
		pr.Request = nil
	}
	if !p.has(sub(path, "url")...) && !p.has(sub(path, "request")...) {
		pr.URL = DefaultProbeURL
	}
	defVal(p, &pr.ExpectedStatus, DefaultExpectedStatus, sub(path, "expected_status")...)
	defDur(p, &pr.Interval, DefaultProbeInterval, sub(path, "interval")...)
	defDur(p, &pr.Timeout, DefaultProbeTimeout, sub(path, "timeout")...)
	defVal(p, &pr.Window, DefaultProbeWindow, sub(path, "window")...)
	defVal(p, &pr.Threshold, DefaultProbeThreshold, sub(path, "threshold")...)
	defVal(p, &pr.Initial, max(pr.Threshold-1, 0), sub(path, "initial")...)
}

func (p *parser) provisionBackend(b *Backend, path []string) {
	if len(b.Options) == 0 {
		b.Options = nil
	}
	if b.Type != BackendNetwork {
		return // a registered type: its factory owns the defaults
	}
	defDur(p, &b.ConnectTimeout, DefaultConnectTimeout, sub(path, "connect_timeout")...)
	defDur(p, &b.FirstByteTimeout, DefaultFirstByteTimeout, sub(path, "first_byte_timeout")...)
	defDur(p, &b.BetweenBytesTimeout, DefaultBetweenBytesTimeout, sub(path, "between_bytes_timeout")...)
	defVal(p, &b.MaxIdle, DefaultBackendMaxIdle, sub(path, "max_idle")...)
	defDur(p, &b.IdleTimeout, DefaultBackendIdleTimeout, sub(path, "idle_timeout")...)
	if b.TLS {
		defVal(p, &b.TLSVerify, true, sub(path, "tls_verify")...)
	}
	p.provisionOutlier(b, path)
	if b.IsTemplate() {
		defDur(p, &b.MinTTL, DefaultDiscoveryMinTTL, sub(path, "min_ttl")...)
		defDur(p, &b.MaxTTL, DefaultDiscoveryMaxTTL, sub(path, "max_ttl")...)
	}
}

func (p *parser) provisionDirector(d *Director, path []string) {
	if len(d.Members) == 0 {
		d.Members = nil
	}
	if len(d.Key) == 0 {
		d.Key = nil
	}
	if len(d.Weights) == 0 {
		d.Weights = nil
	}
	if len(d.Idents) == 0 {
		d.Idents = nil
	}
	if len(d.Options) == 0 {
		d.Options = nil
	}
	p.provisionEjectionCap(d, path)
	switch d.Type {
	case Shard:
		defVal(p, &d.Replicas, DefaultReplicas, sub(path, "replicas")...)
		by := DefaultBy
		if len(d.Key) > 0 {
			by = "key" // key sources given: hash them (as directors.ParseBy)
		}
		defVal(p, &d.By, by, sub(path, "by")...)
		defVal(p, &d.Healthy, DefaultHealthy, sub(path, "healthy")...)
		defVal(p, &d.Warmup, DefaultWarmup, sub(path, "warmup")...)
		defVal(p, &d.Digest, DefaultDigest, sub(path, "digest")...)
	case Saintmode:
		defVal(p, &d.Threshold, DefaultSaintmodeThreshold, sub(path, "threshold")...)
	}
}

// defVal sets *dst to v unless path was written.
func defVal[T any](p *parser, dst *T, v T, path ...string) {
	if !p.has(path...) {
		*dst = v
	}
}

func defDur(p *parser, dst *Duration, v time.Duration, path ...string) {
	defVal(p, dst, Duration{v}, path...)
}

// sub returns path with more segments, never sharing path's array.
func sub(path []string, more ...string) []string {
	return append(append(make([]string, 0, len(path)+len(more)), path...), more...)
}
