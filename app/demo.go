package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DemoBackend is an in-process HTTP server used by `shellac demo`.
type DemoBackend struct {
	Name string
	Addr string
	srv  *http.Server
}

// Close stops the backend.
func (d *DemoBackend) Close() error { return d.srv.Close() }

// StartDemoBackends starts n demo backends on 127.0.0.1 ephemeral ports.
// Each answers:
//
//	/                 "hello from NAME"
//	/slow?ms=N        after N milliseconds
//	/status/CODE      with that status
//	/bytes?n=N        N bytes
//	/headers          the request headers it received
func StartDemoBackends(n int) ([]*DemoBackend, error) {
	var out []*DemoBackend
	for i := 1; i <= n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, d := range out {
				d.Close()
			}
			return nil, err
		}
		d := &DemoBackend{Name: fmt.Sprintf("demo%d", i), Addr: ln.Addr().String()}
		d.srv = &http.Server{Handler: demoHandler(d.Name), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = d.srv.Serve(ln) }()
		out = append(out, d)
	}
	return out, nil
}

func demoHandler(name string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(min(ms, 60000)) * time.Millisecond)
		fmt.Fprintf(w, "slow hello from %s after %dms\n", name, ms)
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		if err != nil || code < 200 || code > 599 {
			code = 400
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "%d from %s\n", code, name)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		n = min(max(n, 0), 1<<30)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		buf := make([]byte, 32<<10)
		for i := range buf {
			buf[i] = 'a' + byte(i%26)
		}
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s (backend %s)\n", r.Method, r.RequestURI, r.Proto, name)
		_ = r.Header.Write(w)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "hello from %s\n", name)
	})
	return mux
}

// DemoConfig returns the TOML configuration `shellac demo` runs: a
// round-robin director over the demo backends, and a synthetic backend on
// /maintenance.
func DemoConfig(listen, admin string, backends []*DemoBackend) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# shellac demo configuration (generated)
[server]
listen = [%q]
default_director = "web"
shutdown_timeout = "5s"

[admin]
listen = %q   # "" turns the admin API off

[log]
access = ""

`, listen, admin)
	var names []string
	for _, d := range backends {
		fmt.Fprintf(&b, "[backends.%s]\naddress = %q\nfirst_byte_timeout = \"5s\"\n\n", d.Name, d.Addr)
		names = append(names, strconv.Quote(d.Name))
	}
	fmt.Fprintf(&b, `[backends.maintenance]
type = "synthetic"
status = 503
body = "down for maintenance\n"
headers = { "Retry-After" = "120" }

[directors.web]
type = "round_robin"
members = [%s]

[[routes]]
path_prefix = "/maintenance"
director = "maintenance"

[[routes]]
director = "web"
retries = 1
retry_on = ["connect", "reset"]
`, strings.Join(names, ", "))
	return b.String()
}
