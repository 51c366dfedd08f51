package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// peerParams is what every proxy's configuration is generated from, so
// that all of them are set up the same way: round robin over the same
// backends, keep-alive to them, the same number of workers.
type peerParams struct {
	Listen    string   // 127.0.0.1:port the proxy listens on
	Backends  []string // host:port of each backend, in order
	Workers   int      // threads, processes or event loops
	Dir       string   // absolute working directory of this proxy
	MaxConns  int      // client connections it must be able to hold
	FDLimit   int      // open-file limit the proxy inherits; 0 if unknown
	AdminAddr string   // shellac's admin API address
	// TLS, when set, adds a TLS listener with the harness's policy (TLS
	// 1.3 only, TLS_AES_128_GCM_SHA256, X25519) proxying as the cleartext
	// one does; the backends stay cleartext.
	TLS *tlsParams
}

// tlsParams is the TLS listener every TLS-capable peer gets.
type tlsParams struct {
	Listen   string // 127.0.0.1:port of the TLS listener
	CertFile string // PEM certificate
	KeyFile  string // PEM key
	Combined string // certificate and key in one PEM file (HAProxy's crt)
}

// peer is one proxy the harness can run as a target.
type peer struct {
	name       string // target name
	binary     string // executable looked up on PATH
	configFile string // name of the generated configuration file
	config     func(p peerParams) string
	// command returns the argv and extra environment that run the proxy
	// in the foreground with the configuration at cfg.
	command func(bin, cfg string, p peerParams) (argv, env []string)
	// check returns the argv of the proxy's own configuration checker, or
	// nil when it has none the harness uses.
	check   func(bin, cfg string, p peerParams) []string
	version []string // arguments that print the version
	// noTLS, when set, is why the peer is not run in the TLS scenarios;
	// the others get a TLS listener (peerParams.TLS).
	noTLS string
}

// peerNames lists the peers in table order.
var peerNames = []string{"haproxy", "nginx", "varnish", "caddy", "httputil", "httputil-default"}

// peers returns the proxies the harness knows, keyed by target name.
// shellac's binary is filled in by the caller.
func peers() map[string]*peer {
	return map[string]*peer{
		"shellac": {name: "shellac", configFile: "shellac.toml", config: shellacConfig,
			// No GOMAXPROCS: shellac runs with the Go runtime's default for
			// the CPUs it may use (one when pinned), as a user would run it.
			command: func(bin, cfg string, _ peerParams) ([]string, []string) {
				return []string{bin, "-config", cfg}, nil
			},
			check:   func(bin, cfg string, _ peerParams) []string { return []string{bin, "check", "-config", cfg} },
			version: []string{"version"}},
		rulesTarget: {name: rulesTarget, configFile: "shellac-rules.toml", config: shellacRulesConfig,
			command: func(bin, cfg string, _ peerParams) ([]string, []string) {
				return []string{bin, "-config", cfg}, nil
			},
			check:   func(bin, cfg string, _ peerParams) []string { return []string{bin, "check", "-config", cfg} },
			version: []string{"version"}},
		"haproxy": {name: "haproxy", binary: "haproxy", configFile: "haproxy.cfg", config: haproxyConfig,
			command: func(bin, cfg string, _ peerParams) ([]string, []string) {
				return []string{bin, "-f", cfg, "-db"}, nil
			},
			check:   func(bin, cfg string, _ peerParams) []string { return []string{bin, "-c", "-f", cfg} },
			version: []string{"-v"}},
		"nginx": {name: "nginx", binary: "nginx", configFile: "nginx.conf", config: nginxConfig,
			command: func(bin, cfg string, p peerParams) ([]string, []string) {
				return []string{bin, "-p", p.Dir + "/", "-c", cfg, "-e", filepath.Join(p.Dir, "error.log"), "-g", "daemon off;"}, nil
			},
			check: func(bin, cfg string, p peerParams) []string {
				return []string{bin, "-t", "-q", "-p", p.Dir + "/", "-c", cfg, "-e", filepath.Join(p.Dir, "error.log"), "-g", "daemon off;"}
			},
			version: []string{"-v"}},
		"varnish": {name: "varnish", binary: "varnishd", configFile: "varnish.vcl", config: varnishVCL,
			command: func(bin, cfg string, p peerParams) ([]string, []string) {
				return []string{bin, "-F", "-n", filepath.Join(p.Dir, "varnish"), "-j", "none",
					"-a", p.Listen, "-T", "none", "-f", cfg, "-s", "malloc,64m",
					"-p", "thread_pools=" + strconv.Itoa(p.Workers),
					"-p", "timeout_idle=120", "-p", "backend_idle_timeout=120"}, nil
			},
			check: func(bin, cfg string, p peerParams) []string {
				return []string{bin, "-C", "-j", "none", "-n", filepath.Join(p.Dir, "varnish-check"), "-f", cfg}
			},
			version: []string{"-V"},
			noTLS:   "varnishd does not terminate TLS"},
		"caddy": {name: "caddy", binary: "caddy", configFile: "Caddyfile", config: caddyfile,
			command: func(bin, cfg string, p peerParams) ([]string, []string) {
				return []string{bin, "run", "--config", cfg, "--adapter", "caddyfile"}, caddyEnv(p)
			},
			check: func(bin, cfg string, _ peerParams) []string {
				return []string{bin, "adapt", "--config", cfg, "--adapter", "caddyfile"}
			},
			version: []string{"version"}},
		// Go's net/http/httputil.ReverseProxy, run by this binary (no
		// binary to find on PATH), with one P as its "one worker"; tuned,
		// and with http.DefaultTransport as most Go programs run it.
		"httputil":         httputilPeer("httputil", httputilConfig),
		"httputil-default": httputilPeer("httputil-default", httputilDefaultConfig),
	}
}

// httputilPeer is a `shellac bench-httputil` target configured by config.
func httputilPeer(name string, config func(peerParams) string) *peer {
	return &peer{name: name, configFile: name + ".conf", config: config,
		command: func(bin, cfg string, p peerParams) ([]string, []string) {
			return []string{bin, "bench-httputil", "-config", cfg}, []string{"GOMAXPROCS=" + strconv.Itoa(p.Workers)}
		},
		check:   func(string, string, peerParams) []string { return nil },
		version: []string{"bench-httputil", "-version"},
		noTLS:   "the httputil baseline serves cleartext only"}
}

// caddyEnv gives caddy one P (its "one worker") and keeps its config and
// data directories inside the output folder.
func caddyEnv(p peerParams) []string {
	return []string{
		"GOMAXPROCS=" + strconv.Itoa(p.Workers),
		"HOME=" + p.Dir,
		"XDG_CONFIG_HOME=" + filepath.Join(p.Dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(p.Dir, "data"),
	}
}

const generated = "Generated by `shellac bench`: round robin over the benchmark backends,\n" +
	"keep-alive to them, %d worker(s), client idle timeout 120s."

func header(comment string, workers int) string {
	var b strings.Builder
	for l := range strings.SplitSeq(fmt.Sprintf(generated, workers), "\n") {
		b.WriteString(comment + " " + l + "\n")
	}
	return b.String()
}

// shellacConfig is shellac's TOML: one round_robin director over the
// backends, event_loops = workers, access log off.
func shellacConfig(p peerParams) string {
	var b strings.Builder
	b.WriteString(header("#", p.Workers))
	fmt.Fprintf(&b, `
[server]
listen = [%q]
event_loops = %d
default_director = "bench"
shutdown_timeout = "2s"

[limits]
max_connections = %d
client_idle_timeout = "120s"

[admin]
listen = %q

[log]
access = ""
level = "warn"
`, p.Listen, p.Workers, max(p.MaxConns*2, 100000), p.AdminAddr)
	if p.TLS != nil {
		// TLS 1.3 suites are not configurable in crypto/tls; with AES
		// hardware it picks TLS_AES_128_GCM_SHA256 for clients that
		// prefer an AES suite, as wrk's OpenSSL and Go's client do.
		fmt.Fprintf(&b, `
[[server.tls]]
listen = [%q]
min_version = "1.3"
curves = ["X25519"]
session_tickets = true

[[server.tls.certificates]]
cert = %q
key = %q
`, p.TLS.Listen, p.TLS.CertFile, p.TLS.KeyFile)
	}
	var names []string
	for i, addr := range p.Backends {
		name := fmt.Sprintf("b%d", i+1)
		names = append(names, strconv.Quote(name))
		fmt.Fprintf(&b, "\n[backends.%s]\naddress = %q\nmax_idle = 64\nidle_timeout = \"120s\"\n", name, addr)
	}
	fmt.Fprintf(&b, "\n[directors.bench]\ntype = \"round_robin\"\nmembers = [%s]\n", strings.Join(names, ", "))
	return b.String()
}

// rulesTarget names shellac run with ten rules of the common forms, for
// rows with rules on and off in one run.
const rulesTarget = "shellac-rules"

// shellacRulesConfig is shellacConfig with ten rules that every benchmark
// request passes through without being answered: seven request rules
// (a redirect and a CIDR deny that do not match, a rate limit far above
// the load, a request id, header edits, a director choice) and three
// response header rules.
func shellacRulesConfig(p peerParams) string {
	return shellacConfig(p) + `
[[request_rules]]
when = { host = ["www.bench.invalid"] }
redirect = "https://bench.invalid%{uri}"
code = 301

[[request_rules]]
when = { path_prefix = ["/admin"], not = { src = ["10.0.0.0/8"] } }
respond = 403

[[request_rules]]
rate_limit = { key = ["client_ip"], rate = 100000000, burst = 100000000 }

[[request_rules]]
request_id = "X-Request-Id"

[[request_rules]]
set_header = { "X-Forwarded-Host" = "%{host}" }
del_header = ["X-Debug"]

[[request_rules]]
add_header = { "Via" = "1.1 shellac" }

[[request_rules]]
when = { method = ["GET", "HEAD", "POST"] }
director = "bench"

[[response_rules]]
set_header = { "Strict-Transport-Security" = "max-age=31536000", "X-Content-Type-Options" = "nosniff" }

[[response_rules]]
del_header = ["X-Powered-By"]

[[response_rules]]
when = { status = [5] }
set_header = { "Cache-Control" = "no-store" }
`
}

// haproxyConfig runs nbthread workers with keep-alive on both sides and
// idle server connections shared between requests (http-reuse always).
func haproxyConfig(p peerParams) string {
	var b strings.Builder
	b.WriteString(header("#", p.Workers))
	fmt.Fprintf(&b, `
global
	nbthread %d
	maxconn %d
%s%s
defaults
	mode http
	option http-keep-alive
	http-reuse always
	timeout connect 5s
	timeout client 120s
	timeout server 120s
	timeout http-request 10s
	timeout http-keep-alive 120s
	maxconn %d

frontend bench
	bind %s
	default_backend backends
%s
backend backends
	balance roundrobin
`, p.Workers, p.MaxConns, haproxyUlimit(p), haproxyTLSGlobal(p), p.MaxConns, p.Listen, haproxyTLSFrontend(p))
	for i, addr := range p.Backends {
		fmt.Fprintf(&b, "\tserver b%d %s\n", i+1, addr)
	}
	return b.String()
}

// haproxyTLSGlobal is the TLS policy of every bind line: TLS 1.3 only,
// one suite, X25519 only. Session tickets are on by default.
func haproxyTLSGlobal(p peerParams) string {
	if p.TLS == nil {
		return ""
	}
	return "\tssl-default-bind-options ssl-min-ver TLSv1.3\n" +
		"\tssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n" +
		"\tssl-default-bind-curves X25519\n"
}

// haproxyTLSFrontend is the TLS listener, on the same backends.
func haproxyTLSFrontend(p peerParams) string {
	if p.TLS == nil {
		return ""
	}
	return fmt.Sprintf("\nfrontend bench_tls\n\tbind %s ssl crt %s alpn http/1.1\n\tdefault_backend backends\n", p.TLS.Listen, p.TLS.Combined)
}

// haproxyUlimit lets haproxy start, with a warning, when the inherited
// open-file limit is below the two descriptors per connection it reserves
// for maxconn. Idle client connections need only one each.
func haproxyUlimit(p peerParams) string {
	if p.FDLimit > 0 && p.FDLimit < 2*p.MaxConns+100 {
		return fmt.Sprintf("\tno strict-limits # open-file limit here is %d; haproxy reserves ~%d\n", p.FDLimit, 2*p.MaxConns+100)
	}
	return ""
}

// nginxConfig runs worker_processes workers with an upstream keep-alive
// pool of 64 per worker. Request bodies are streamed to the backend
// (proxy_request_buffering off) as the other proxies do; responses use
// nginx's default in-memory buffering. Every path is inside the prefix
// directory given with -p.
func nginxConfig(p peerParams) string {
	var b strings.Builder
	b.WriteString(header("#", p.Workers))
	conns, files := 2*p.MaxConns+1024, 2*p.MaxConns+2048
	if p.FDLimit > 0 {
		files = min(files, p.FDLimit)
		conns = min(conns, files-64)
	}
	fmt.Fprintf(&b, `
worker_processes %d;
worker_rlimit_nofile %d;
pid nginx.pid;
error_log error.log warn;

events {
	worker_connections %d;
}

http {
	access_log off;
	client_body_temp_path tmp/client_body;
	proxy_temp_path tmp/proxy;
	fastcgi_temp_path tmp/fastcgi;
	uwsgi_temp_path tmp/uwsgi;
	scgi_temp_path tmp/scgi;
	keepalive_timeout 120s;
	keepalive_requests 1000000;

	upstream backends {
`, p.Workers, files, conns)
	for _, addr := range p.Backends {
		fmt.Fprintf(&b, "\t\tserver %s;\n", addr)
	}
	fmt.Fprintf(&b, `		keepalive 64;
		keepalive_requests 1000000;
		keepalive_timeout 120s;
	}

	server {
		listen %s backlog=4096;
%s	}
`, p.Listen, nginxLocation)
	if p.TLS != nil {
		// ssl_conf_command (nginx 1.19.4+, OpenSSL 1.1.1+) sets the TLS 1.3
		// suites, which ssl_ciphers does not.
		fmt.Fprintf(&b, `
	server {
		listen %s ssl backlog=4096;
		ssl_certificate %s;
		ssl_certificate_key %s;
		ssl_protocols TLSv1.3;
		ssl_ecdh_curve X25519;
		ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
		ssl_session_tickets on;
%s	}
`, p.TLS.Listen, p.TLS.CertFile, p.TLS.KeyFile, nginxLocation)
	}
	b.WriteString("}\n")
	return b.String()
}

// nginxLocation proxies every path to the upstream, in each server block.
const nginxLocation = `		location / {
			proxy_pass http://backends;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_request_buffering off;
		}
`

// varnishVCL passes every request (no caching) to a round_robin director.
// Workers map to thread_pools on the command line; Varnish keeps backend
// connections alive by default.
func varnishVCL(p peerParams) string {
	var b strings.Builder
	b.WriteString("vcl 4.1;\n\n")
	b.WriteString(header("#", p.Workers))
	b.WriteString("# thread_pools, timeout_idle and backend_idle_timeout are set on the command line.\n\nimport directors;\n\n")
	for i, addr := range p.Backends {
		host, port := splitHostPort(addr)
		fmt.Fprintf(&b, "backend b%d {\n\t.host = %q;\n\t.port = %q;\n}\n\n", i+1, host, port)
	}
	b.WriteString("sub vcl_init {\n\tnew rr = directors.round_robin();\n")
	for i := range p.Backends {
		fmt.Fprintf(&b, "\trr.add_backend(b%d);\n", i+1)
	}
	b.WriteString("}\n\nsub vcl_recv {\n\tset req.backend_hint = rr.backend();\n\treturn (pass);\n}\n")
	return b.String()
}

// caddyfile proxies to the backends with lb_policy round_robin over
// HTTP/1.1 with a keep-alive pool of 64 idle connections. The admin API
// and automatic HTTPS are off, and the site binds to loopback only. The
// autosaved copy of the config goes under XDG_CONFIG_HOME (caddyEnv).
func caddyfile(p peerParams) string {
	var b strings.Builder
	b.WriteString(header("#", p.Workers))
	b.WriteString("# One worker = GOMAXPROCS set in the environment.\n")
	host, port := splitHostPort(p.Listen)
	fmt.Fprintf(&b, `
{
	admin off
	auto_https off
	servers {
		protocols h1
	}
}

http://%s:%s {
	bind %s
%s}
`, host, port, host, caddyProxy(p))
	if p.TLS != nil {
		// No SNI from clients that dial an IP address: the site has no host
		// so that its certificate is the one every handshake gets. TLS 1.3
		// suites are crypto/tls's choice (ciphers applies to TLS 1.2).
		host, port := splitHostPort(p.TLS.Listen)
		fmt.Fprintf(&b, `
https://:%s {
	bind %s
	tls %s %s {
		protocols tls1.3
		curves x25519
	}
%s}
`, port, host, p.TLS.CertFile, p.TLS.KeyFile, caddyProxy(p))
	}
	return b.String()
}

// caddyProxy is the reverse_proxy directive of each site.
func caddyProxy(p peerParams) string {
	return fmt.Sprintf(`	reverse_proxy %s {
		lb_policy round_robin
		transport http {
			versions 1.1
			keepalive 120s
			keepalive_idle_conns 64
		}
	}
`, strings.Join(p.Backends, " "))
}

func splitHostPort(addr string) (host, port string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, ""
	}
	return strings.Trim(addr[:i], "[]"), addr[i+1:]
}

// prepareDir creates the working directories a peer expects.
func prepareDir(pr *peer, p peerParams) error {
	dirs := []string{p.Dir}
	if pr.name == "nginx" {
		dirs = append(dirs, filepath.Join(p.Dir, "tmp"))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
