// Package admin serves shellac's admin API (docs/spec.md section 5): JSON over
// HTTP for status, run-time changes, reloads and explanations, plus a
// Prometheus /metrics endpoint. It drives the running instance through
// the Control interface and never touches the request path: metrics read
// the atomics the event loops already keep.
//
// The API listens on a loopback address (or a UNIX socket) unless a
// bearer token is configured: New refuses any other address without one.
// With a token, every request must carry "Authorization: Bearer TOKEN".
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
)

// maxBody bounds request bodies: they are small JSON objects.
const maxBody = 1 << 20

// Options configure a Server.
type Options struct {
	// Listen is "host:port" or "unix:/path".
	Listen string
	// TokenFile holds the bearer token; its content with surrounding
	// whitespace trimmed. Required unless Listen is a loopback address.
	TokenFile string
	// Logger receives operational messages; nil = slog.Default().
	Logger *slog.Logger
}

// Server is the admin API.
type Server struct {
	ctl   Control
	opts  Options
	token *tokenCheck // nil: no token required
	log   *slog.Logger
	reg   *prometheus.Registry
	h     http.Handler

	ln  net.Listener
	srv *http.Server

	sock     os.FileInfo // the UNIX socket bound, to remove at Shutdown
	sockPath string
}

// New returns the admin API for ctl. It reads the token file, and refuses
// a non-loopback address without a token.
func New(ctl Control, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{ctl: ctl, opts: opts, log: opts.Logger}
	if opts.TokenFile != "" {
		b, err := os.ReadFile(opts.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin: token_file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return nil, fmt.Errorf("admin: token_file %s is empty", opts.TokenFile)
		}
		s.token = newTokenCheck(tok, opts.Logger)
	}
	if opts.Listen == "" {
		return nil, errors.New("admin: no listen address")
	}
	if !IsLoopback(opts.Listen) && s.token == nil {
		return nil, fmt.Errorf("admin: refusing to listen on %s, which is not a loopback address, without admin.token_file", opts.Listen)
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(
		newCollector(ctl),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "shellac_admin_auth_failures_total",
			Help: "Admin API requests refused for a missing or wrong bearer token.",
		}, func() float64 { return float64(s.AuthFailures()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	s.h = s.auth(s.routes())
	return s, nil
}

// IsLoopback reports whether addr ("host:port" or "unix:/path") can be
// reached only from this machine: a UNIX socket, "localhost", or a
// loopback IP. An empty host (all interfaces) is not loopback.
func IsLoopback(addr string) bool {
	if strings.HasPrefix(addr, "unix:") {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler returns the API's handler (authentication included), for tests
// and for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.h }

// Start listens and serves in the background.
func (s *Server) Start() error {
	network, addr := "tcp", s.opts.Listen
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(p) // a stale socket from an earlier run
		}
	}
	// SO_REUSEPORT, as the proxy's listeners: a new process started for
	// an upgrade binds the same address while this one still runs.
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		if !strings.HasPrefix(network, "tcp") {
			return nil
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		// The path is removed at Shutdown only while it is still this
		// socket's: after an upgrade it is the new process's.
		ul.SetUnlinkOnClose(false)
		s.sock, _ = os.Lstat(addr)
		s.sockPath = addr
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin API stopped", "err", err)
		}
	}()
	s.log.Info("admin API listening", "listen", ln.Addr().String(), "token", s.token != nil)
	return nil
}

// Addr returns the address the API listens on (nil before Start).
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting and waits for running admin requests until
// ctx expires.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if s.sock != nil {
		if fi, e := os.Lstat(s.sockPath); e == nil && os.SameFile(fi, s.sock) {
			_ = os.Remove(s.sockPath)
		}
	}
	return err
}

// methods dispatches on the request method, answering 405 with a JSON
// body (and Allow) for the others. ServeMux's own 405 is plain text.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	if h, ok := m[http.MethodGet]; ok && r.Method == http.MethodHead {
		h(w, r)
		return
	}
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/status", methods{http.MethodGet: s.getStatus})
	mux.Handle("/metrics", methods{http.MethodGet: promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}).ServeHTTP})
	mux.Handle("/backends/{name}", methods{http.MethodPut: s.putBackend, http.MethodDelete: s.deleteBackend})
	mux.Handle("/backends/{name}/health", methods{http.MethodPost: s.postHealth})
	mux.Handle("/backends/{name}/uneject", methods{http.MethodPost: s.postUneject})
	mux.Handle("/directors/{name}/members/{member}", methods{http.MethodPut: s.putMember, http.MethodDelete: s.deleteMember})
	mux.Handle("/reload", methods{http.MethodPost: s.postReload})
	mux.Handle("/explain", methods{http.MethodGet: s.getExplain})
	mux.Handle("/config", methods{http.MethodGet: s.getConfig})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	return mux
}

// writeJSON answers v as indented JSON (curl-friendly).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers {"error": message}.
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorBody{Error: fmt.Sprintf(format, args...)})
}

// writeErr answers err mapped by errorResponse; configuration errors get
// configStatus.
func (s *Server) writeErr(w http.ResponseWriter, err error, configStatus int) {
	status, body := errorResponse(err, configStatus)
	if status >= 500 {
		s.log.Error("admin request failed", "err", err)
	}
	writeJSON(w, status, body)
}

// readBody reads the request body, bounded by maxBody; it answers the
// error itself and returns false when the body cannot be read.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
		} else {
			writeError(w, http.StatusBadRequest, "reading the request body: %v", err)
		}
		return nil, false
	}
	return b, true
}

// decodeJSON decodes data, one JSON value, into v (numbers into an
// interface stay json.Number; with strict, unknown object keys are
// refused). It answers 400 itself and returns false when data is not
// that.
func decodeJSON(w http.ResponseWriter, data []byte, v any, strict bool) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		if _, e := dec.Token(); !errors.Is(e, io.EOF) {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body")
		}
		writeError(w, http.StatusBadRequest, "malformed JSON body: %v", err)
		return false
	}
	return true
}
