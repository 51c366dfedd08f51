package config

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TOML returns c as a TOML document that Parse accepts and turns back
// into an equal Config (positions aside). Every setting is written out,
// defaults included, so the output is the effective configuration; a
// director or backend gets only the options of its own type.
func (c *Config) TOML() ([]byte, error) {
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Encode writes c to w as TOML (see TOML).
func (c *Config) Encode(w io.Writer) error {
	e := &encoder{}
	c.encode(e)
	_, err := w.Write(e.b.Bytes())
	return err
}

func (c *Config) encode(e *encoder) {
	s, l := c.Server, c.Limits
	e.table("server")
	e.strs("listen", s.Listen)
	e.int("event_loops", int64(s.EventLoops))
	if s.DefaultDirector != "" {
		e.str("default_director", s.DefaultDirector)
	}
	e.bool("proxy_protocol", s.ProxyProtocol)
	e.dur("shutdown_timeout", s.ShutdownTimeout)
	e.bool("x_forwarded_for", s.XForwardedFor)
	e.bool("tcp_smart_accept", s.TCPSmartAccept)
	for _, t := range s.TLS {
		e.arrayTable("server", "tls")
		e.strs("listen", t.Listen)
		e.str("min_version", t.MinVersion)
		if t.Ciphers != nil {
			e.strs("ciphers", t.Ciphers)
		}
		if t.Curves != nil {
			e.strs("curves", t.Curves)
		}
		e.bool("session_tickets", t.SessionTickets)
		e.str("client_auth", t.ClientAuth)
		if t.ClientCA != "" {
			e.str("client_ca", t.ClientCA)
		}
		for _, c := range t.Certificates {
			e.arrayTable("server", "tls", "certificates")
			e.str("cert", c.Cert)
			e.str("key", c.Key)
			if c.OCSP != "" {
				e.str("ocsp", c.OCSP)
			}
		}
	}

	e.table("limits")
	e.int("max_connections", int64(l.MaxConnections))
	e.int("max_connections_per_ip", int64(l.MaxConnectionsPerIP))
	e.int("max_request_line_bytes", int64(l.MaxRequestLineBytes))
	e.int("max_header_bytes", int64(l.MaxHeaderBytes))
	e.int("max_headers", int64(l.MaxHeaders))
	e.int("max_body_bytes", l.MaxBodyBytes)
	e.dur("client_header_timeout", l.ClientHeaderTimeout)
	e.dur("client_idle_timeout", l.ClientIdleTimeout)
	e.dur("tls_handshake_timeout", l.TLSHandshakeTimeout)
	e.int("max_tls_handshakes", int64(l.MaxTLSHandshakes))

	e.table("admin")
	e.str("listen", c.Admin.Listen)
	e.str("token_file", c.Admin.TokenFile)

	e.table("log")
	e.str("access", c.Log.Access)
	e.str("format", c.Log.Format)
	e.str("level", c.Log.Level)

	for _, name := range sortedNames(c.Probes) {
		c.Probes[name].encode(e, name)
	}
	// Discovered backends are not configuration: their template is
	// written, and they are left out of the directors too.
	for _, name := range sortedNames(c.Backends) {
		if c.Backends[name].DiscoveredFrom == "" {
			c.Backends[name].encode(e, name)
		}
	}
	for _, name := range sortedNames(c.Directors) {
		c.withoutDiscovered(c.Directors[name]).encode(e, name)
	}
	e.rules(c.RequestRules, "request_rules")
	e.rules(c.ResponseRules, "response_rules")
	for _, r := range c.Routes {
		r.encode(e)
	}
}

// withoutDiscovered returns d without its discovered members (d itself
// when it has none).
func (c *Config) withoutDiscovered(d *Director) *Director {
	discovered := func(m string) bool { b := c.Backends[m]; return b != nil && b.DiscoveredFrom != "" }
	if !slices.ContainsFunc(d.Members, discovered) {
		return d
	}
	x := *d
	x.Members = slices.DeleteFunc(slices.Clone(d.Members), discovered)
	x.Weights, x.Idents = maps.Clone(d.Weights), maps.Clone(d.Idents)
	for m := range x.Weights {
		if discovered(m) {
			delete(x.Weights, m)
		}
	}
	for m := range x.Idents {
		if discovered(m) {
			delete(x.Idents, m)
		}
	}
	return &x
}

func (pr *Probe) encode(e *encoder, name string) {
	e.table("probes", name)
	if len(pr.Request) > 0 {
		e.strs("request", pr.Request)
	} else {
		e.str("url", pr.URL)
	}
	e.int("expected_status", int64(pr.ExpectedStatus))
	e.dur("interval", pr.Interval)
	e.dur("timeout", pr.Timeout)
	e.int("window", int64(pr.Window))
	e.int("threshold", int64(pr.Threshold))
	e.int("initial", int64(pr.Initial))
}

func (b *Backend) encode(e *encoder, name string) {
	e.table("backends", name)
	if b.Type != BackendNetwork {
		// A registered type: only the options written (its factory
		// owns the defaults).
		e.str("type", b.Type)
		e.options(b.Options)
		return
	}
	if b.IsTemplate() {
		e.str("discover", b.Discover)
		if len(b.Resolvers) > 0 {
			e.strs("resolvers", b.Resolvers)
		}
		e.dur("min_ttl", b.MinTTL)
		e.dur("max_ttl", b.MaxTTL)
		e.dur("grace", b.Grace)
	} else {
		e.str("address", b.Address)
	}
	if b.Probe != "" {
		e.str("probe", b.Probe)
	}
	e.dur("connect_timeout", b.ConnectTimeout)
	e.dur("first_byte_timeout", b.FirstByteTimeout)
	e.dur("between_bytes_timeout", b.BetweenBytesTimeout)
	e.int("max_connections", int64(b.MaxConnections))
	e.int("max_idle", int64(b.MaxIdle))
	e.dur("idle_timeout", b.IdleTimeout)
	e.str("host_header", b.HostHeader)
	e.int("proxy_header", int64(b.ProxyHeader))
	b.encodeTLS(e)
	b.encodeOutlier(e)
}

func (d *Director) encode(e *encoder, name string) {
	e.table("directors", name)
	e.str("type", d.Type)
	if d.Type == Saintmode {
		e.str("member", d.Member)
		e.int("threshold", int64(d.Threshold))
		return
	}
	e.strs("members", d.Members)
	e.int("max_ejection_percent", int64(d.MaxEjectionPercent))
	if !slices.Contains(directorTypes, d.Type) {
		// A registered type: weights, then the options written.
		if len(d.Weights) > 0 {
			e.floatMap("weights", d.Weights)
		}
		e.options(d.Options)
		return
	}
	switch d.Type {
	case Random, Hash:
		if len(d.Weights) > 0 {
			e.floatMap("weights", d.Weights)
		}
		if d.Type == Hash {
			e.strs("key", d.Key)
		}
	case Fallback:
		e.bool("sticky", d.Sticky)
	case Shard:
		if len(d.Weights) > 0 {
			e.floatMap("weights", d.Weights)
		}
		if len(d.Idents) > 0 {
			e.strMap("idents", d.Idents)
		}
		e.int("replicas", int64(d.Replicas))
		e.str("by", d.By)
		if d.By == "key" {
			e.strs("key", d.Key)
		}
		e.int("alt", int64(d.Alt))
		e.str("healthy", d.Healthy)
		e.dur("rampup", d.Rampup)
		e.float("warmup", d.Warmup)
		e.str("digest", d.Digest)
		e.float("bound", d.Bound)
	}
}

func (r *Route) encode(e *encoder) {
	e.arrayTable("routes")
	if r.Host != "" {
		e.str("host", r.Host)
	}
	if r.PathPrefix != "" {
		e.str("path_prefix", r.PathPrefix)
	}
	e.str("director", r.Director)
	e.int("retries", int64(r.Retries))
	if len(r.RetryOn) > 0 {
		e.strs("retry_on", r.RetryOn)
	}
	e.dur("blacklist", r.Blacklist)
	e.bool("pipe", r.Pipe)
	if r.Match != nil {
		e.kv("match", inline(reflect.ValueOf(r.Match).Elem()))
	}
	e.rules(r.RequestRules, "routes", "request_rules")
	e.rules(r.ResponseRules, "routes", "response_rules")
	r.encodeRetryBudget(e)
}

// encoder writes TOML.
type encoder struct{ b bytes.Buffer }

func (e *encoder) header(open, close string, path []string) {
	if e.b.Len() > 0 {
		e.b.WriteByte('\n')
	}
	keys := make([]string, len(path))
	for i, k := range path {
		keys[i] = quoteKey(k)
	}
	fmt.Fprintf(&e.b, "%s%s%s\n", open, strings.Join(keys, "."), close)
}

func (e *encoder) table(path ...string)      { e.header("[", "]", path) }
func (e *encoder) arrayTable(path ...string) { e.header("[[", "]]", path) }

func (e *encoder) kv(k, v string) { fmt.Fprintf(&e.b, "%s = %s\n", quoteKey(k), v) }

func (e *encoder) str(k, v string)           { e.kv(k, quoteString(v)) }
func (e *encoder) int(k string, v int64)     { e.kv(k, strconv.FormatInt(v, 10)) }
func (e *encoder) bool(k string, v bool)     { e.kv(k, strconv.FormatBool(v)) }
func (e *encoder) dur(k string, v Duration)  { e.kv(k, quoteString(v.String())) }
func (e *encoder) float(k string, v float64) { e.kv(k, formatFloat(v)) }

func (e *encoder) strs(k string, vs []string) {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quoteString(v)
	}
	e.kv(k, "["+strings.Join(q, ", ")+"]")
}

func (e *encoder) strMap(k string, m map[string]string) {
	var parts []string
	for _, n := range sortedNames(m) {
		parts = append(parts, quoteKey(n)+" = "+quoteString(m[n]))
	}
	e.kv(k, "{ "+strings.Join(parts, ", ")+" }")
}

func (e *encoder) floatMap(k string, m map[string]float64) {
	var parts []string
	for _, n := range sortedNames(m) {
		parts = append(parts, quoteKey(n)+" = "+formatFloat(m[n]))
	}
	e.kv(k, "{ "+strings.Join(parts, ", ")+" }")
}

// options writes a registered type's raw options, sorted by key.
func (e *encoder) options(opts map[string]any) {
	for _, k := range sortedNames(opts) {
		e.kv(k, rawTOML(opts[k]))
	}
}

// rawTOML returns a raw option value as TOML: the types the TOML decoder
// produces, and the Go forms directors.Options also accepts.
func rawTOML(v any) string {
	switch x := v.(type) {
	case string:
		return quoteString(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return formatFloat(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = quoteString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case []any:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = rawTOML(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case map[string]string:
		var parts []string
		for _, n := range sortedNames(x) {
			parts = append(parts, quoteKey(n)+" = "+quoteString(x[n]))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case map[string]any:
		var parts []string
		for _, n := range sortedNames(x) {
			parts = append(parts, quoteKey(n)+" = "+rawTOML(x[n]))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return quoteString(fmt.Sprint(v)) // not from TOML; written as a string
}

// formatFloat writes f as a TOML float: always with a fraction or an
// exponent, so it reads back as a float.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// quoteKey returns k as a TOML key: bare when it can be, else quoted.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		if !isBareKeyByte(k[i]) {
			return quoteString(k)
		}
	}
	return k
}

// quoteString returns s as a TOML basic string. Control characters are
// escaped; invalid UTF-8 becomes U+FFFD (TOML text is UTF-8).
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
