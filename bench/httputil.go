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
// backends, one per line ("listen ADDR", "backend ADDR").
func httputilConfig(p peerParams) string {
	var b strings.Builder
	b.WriteString(header("#", p.Workers))
	fmt.Fprintf(&b, "listen %s\n", p.Listen)
	for _, be := range p.Backends {
		fmt.Fprintf(&b, "backend %s\n", be)
	}
	return b.String()
}

// readHTTPUtilConfig parses what httputilConfig wrote.
func readHTTPUtilConfig(r io.Reader) (listen string, backends []string, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, " ")
		switch {
		case ok && key == "listen":
			listen = val
		case ok && key == "backend":
			backends = append(backends, val)
		default:
			return "", nil, fmt.Errorf("bad line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	if listen == "" || len(backends) == 0 {
		return "", nil, errors.New("need a listen line and at least one backend line")
	}
	return listen, backends, nil
}

// newRoundRobinProxy returns Go's httputil.ReverseProxy balancing round
// robin over backends, with keep-alive to them: the baseline a Go
// programmer gets from the standard library.
func newRoundRobinProxy(backends []string) *httputil.ReverseProxy {
	targets := make([]*url.URL, len(backends))
	for i, be := range backends {
		targets[i] = &url.URL{Scheme: "http", Host: be}
	}
	var next atomic.Uint64
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     120 * time.Second,
			DisableCompression:  true,
		},
		ErrorLog: nil,
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
	listen, backends, err := readHTTPUtilConfig(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "bench-httputil: %s: %v\n", *cfg, err)
		return 1
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "bench-httputil: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: newRoundRobinProxy(backends), IdleTimeout: 120 * time.Second}
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
