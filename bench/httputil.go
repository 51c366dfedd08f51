package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// httputilConfig is the baseline's configuration: its listen address and
// backends, one per line ("listen ADDR", "backend ADDR"), with a transport
// tuned for a proxy (idle connections kept per backend).
func httputilConfig(p peerParams) string { return httputilConfigFor(p, "tuned") }

// httputilDefaultConfig configures the baseline as a Go programmer gets it
// out of the box: http.DefaultTransport, which keeps 2 idle connections per
// backend, so under 64 concurrent requests most backend connections are
// dialled and closed again.
func httputilDefaultConfig(p peerParams) string { return httputilConfigFor(p, "default") }

// httputilConfigFor writes the configuration with the named transport.
func httputilConfigFor(p peerParams, transport string) string {
	var b strings.Builder
	b.WriteString(header("#", p.Workers))
	fmt.Fprintf(&b, "listen %s\n", p.Listen)
	fmt.Fprintf(&b, "transport %s\n", transport)
	for _, be := range p.Backends {
		fmt.Fprintf(&b, "backend %s\n", be)
	}
	return b.String()
}

// httputilSettings is what an httputil configuration file says.
type httputilSettings struct {
	listen   string
	backends []string
	// defaultTransport selects http.DefaultTransport over the tuned one.
	defaultTransport bool
}

// readHTTPUtilConfig parses what httputilConfigFor wrote.
func readHTTPUtilConfig(r io.Reader) (cfg httputilSettings, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, " ")
		switch {
		case ok && key == "listen":
			cfg.listen = val
		case ok && key == "backend":
			cfg.backends = append(cfg.backends, val)
		case ok && key == "transport" && (val == "tuned" || val == "default"):
			cfg.defaultTransport = val == "default"
		default:
			return cfg, fmt.Errorf("bad line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return cfg, err
	}
	if cfg.listen == "" || len(cfg.backends) == 0 {
		return cfg, errors.New("need a listen line and at least one backend line")
	}
	return cfg, nil
}

// newRoundRobinProxy returns Go's httputil.ReverseProxy balancing round
// robin over backends, with keep-alive to them: the baseline a Go
// programmer gets from the standard library. With defaultTransport it uses
// http.DefaultTransport as is.
func newRoundRobinProxy(backends []string, defaultTransport bool) *httputil.ReverseProxy {
	targets := make([]*url.URL, len(backends))
	for i, be := range backends {
		targets[i] = &url.URL{Scheme: "http", Host: be}
	}
	var next atomic.Uint64
	var transport http.RoundTripper = &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     120 * time.Second,
		DisableCompression:  true,
	}
	if defaultTransport {
		transport = http.DefaultTransport
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
			pr.Out.Host = pr.In.Host
		},
		Transport: transport,
		ErrorLog:  nil,
	}
}

// HTTPUtilMain is the hidden `shellac bench-httputil -config FILE`
// subcommand: Go's httputil.ReverseProxy as a benchmark target. It serves
// until SIGTERM or SIGINT.
func HTTPUtilMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-httputil", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", "", "configuration written by shellac bench")
	version := fs.Bool("version", false, "print what this target is")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Fprintf(stdout, "Go net/http/httputil.ReverseProxy %s\n", runtime.Version())
		return 0
	}
	f, err := os.Open(*cfg)
	if err != nil {
		fmt.Fprintf(stderr, "bench-httputil: %v\n", err)
		return 1
	}
	settings, err := readHTTPUtilConfig(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "bench-httputil: %s: %v\n", *cfg, err)
		return 1
	}
	ln, err := net.Listen("tcp", settings.listen)
	if err != nil {
		fmt.Fprintf(stderr, "bench-httputil: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: newRoundRobinProxy(settings.backends, settings.defaultTransport), IdleTimeout: 120 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "bench-httputil: %v\n", err)
		return 1
	}
	return 0
}
