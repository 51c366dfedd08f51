// Package app runs a shellac instance from a configuration: it builds the
// live topology, starts the proxy, the health probes, the access log and
// the admin API, and handles reloads, run-time changes and shutdown. cmd
// only parses flags and calls it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/app/topology"
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/health"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/proxy"
	"github.com/shellac-lb/shellac/route"
)

// adminShutdownTimeout bounds how long Shutdown waits for admin requests.
const adminShutdownTimeout = 5 * time.Second

// App is a running shellac instance.
type App struct {
	Log *slog.Logger

	// mu serialises Start, reloads and run-time changes, and guards the
	// fields below. The request path never takes it: it reads the table
	// the proxy holds.
	mu     sync.Mutex
	path   string
	cfg    *config.Config // the running configuration, run-time changes included; never modified, replaced
	table  *route.Table
	srv    *proxy.Server
	probes *health.Manager
	admin  *admin.Server

	// alog is the access log; nil when off. The proxy's request hook is
	// set only while it is on, so a proxy without an access log builds no
	// per-request records.
	alog    atomic.Pointer[accessLog]
	dropped atomic.Uint64 // access log lines dropped, over every log

	reloads, reloadFailures atomic.Uint64

	// disc holds the DNS-discovery watchers, by template (under mu).
	disc            map[string]*discoverer
	discoveryErrors atomic.Uint64

	// restore holds the state file read at New until its entries are
	// applied (nil without one); stateStop/stateDone run its writer.
	restore              *restorer
	stateStop, stateDone chan struct{}

	// outlierWake is poked by backends when they are ejected or return;
	// outlierStop/outlierDone run the watcher that logs it (outlier.go).
	outlierWake              chan struct{}
	outlierStop, outlierDone chan struct{}
	// certStop/certDone run the certificate file watcher (certwatch.go);
	// certReloads and certFailures count what it did.
	certStop, certDone        chan struct{}
	certReloads, certFailures atomic.Uint64

	started bool
}

// New builds an App from cfg (not started: no socket is opened and no
// probe runs until Start). path is the file to re-read on reload; it may
// be empty.
func New(cfg *config.Config, path string, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	t, err := topology.Build(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	a := &App{Log: log, path: path, cfg: cfg, table: t, outlierWake: make(chan struct{}, 1)}
	a.regroup()
	opts := ServerOptions(cfg, log)
	if opts.TLS, err = tlsListeners(cfg, path); err != nil {
		return nil, err
	}
	if cfg.Log.Access != "" {
		opts.OnRequest = a.onRequest
	}
	a.srv = proxy.New(opts, t)
	if f := cfg.Server.StateFile; f != "" {
		r, err := readState(f, time.Now())
		if err != nil {
			log.Warn("state file not used: backends start from their configuration", "err", err)
		}
		a.restore = r
	}
	a.probes = health.NewManager(health.Options{OnChange: a.onHealthChange, Restore: a.restore.window})
	return a, nil
}

// ServerOptions maps the configuration onto the proxy's options.
func ServerOptions(cfg *config.Config, log *slog.Logger) proxy.Options {
	s, l := cfg.Server, cfg.Limits
	return proxy.Options{
		Listen:              s.Listen,
		EventLoops:          s.EventLoops,
		ProxyProtocol:       s.ProxyProtocol,
		XForwardedFor:       s.XForwardedFor,
		QuickAck:            !s.TCPSmartAccept,
		MaxConnections:      l.MaxConnections,
		MaxConnectionsPerIP: l.MaxConnectionsPerIP,
		Limits: http1.Limits{
			MaxRequestLine: l.MaxRequestLineBytes,
			MaxHeaderBytes: l.MaxHeaderBytes,
			MaxHeaders:     l.MaxHeaders,
		},
		MaxBodyBytes:        l.MaxBodyBytes,
		ClientHeaderTimeout: l.ClientHeaderTimeout.Duration,
		ClientIdleTimeout:   l.ClientIdleTimeout.Duration,
		TLSHandshakeTimeout: l.TLSHandshakeTimeout.Duration,
		MaxTLSHandshakes:    l.MaxTLSHandshakes,
		Logger:              log,
	}
}

// tlsListeners builds the TLS listeners of cfg, reading their
// certificates; errors name file, the configuration's, and the
// certificate's.
func tlsListeners(cfg *config.Config, file string) ([]proxy.TLSListener, error) {
	var out []proxy.TLSListener
	for i, t := range cfg.Server.TLS {
		tc, err := t.TLSConfig()
		if err != nil {
			return nil, config.Errors{{File: file, Msg: fmt.Sprintf("server.tls[%d]: %v", i, err)}}
		}
		for _, a := range t.Listen {
			out = append(out, proxy.TLSListener{Listen: a, Config: tc})
		}
	}
	return out, nil
}

// Start starts the probes (each backend gets its initial verdict before
// the first request), opens the access log, starts the proxy, and then
// the admin API. Starting a started App does nothing. On error nothing is
// left running. Takes a.mu.
func (a *App) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return nil
	}
	cfg := a.cfg
	a.restoreTable()
	a.syncProbes(cfg, a.table)
	if cfg.Log.Access != "" {
		al, err := openAccessLog(cfg.Log, &a.dropped)
		if err != nil {
			a.probes.Stop()
			return err
		}
		a.alog.Store(al)
	}
	if err := a.srv.Start(); err != nil {
		a.stopAux()
		return err
	}
	if cfg.Admin.Listen != "" {
		adm, err := admin.New(a, admin.Options{Listen: cfg.Admin.Listen, TokenFile: cfg.Admin.TokenFile, Logger: a.Log})
		if err == nil {
			err = adm.Start()
		}
		if err != nil {
			_ = a.srv.Close()
			a.stopAux()
			return err
		}
		a.admin = adm
	}
	a.started = true
	a.outlierStop, a.outlierDone = make(chan struct{}), make(chan struct{})
	go a.runOutlierWatch(a.outlierStop, a.outlierDone)
	if len(cfg.Server.TLS) > 0 {
		a.certStop, a.certDone = make(chan struct{}), make(chan struct{})
		go a.runCertWatch(a.certStop, a.certDone)
	}
	if cfg.Server.StateFile != "" {
		a.stateStop, a.stateDone = make(chan struct{}), make(chan struct{})
		go a.runStateWriter(a.stateStop, a.stateDone)
	}
	if first := a.syncDiscovery(); len(first) > 0 {
		a.mu.Unlock()
		waitFirst(first)
		a.mu.Lock()
	}
	a.Log.Info("shellac listening", "listen", cfg.Server.Listen, "admin", cfg.Admin.Listen,
		"backends", len(a.table.Backends), "directors", len(a.table.Directors))
	return nil
}

// stopWatchers stops the state file's writer and the outlier watcher,
// if they run, and waits for them.
func (a *App) stopWatchers() {
	a.mu.Lock()
	stops := [][2]chan struct{}{{a.stateStop, a.stateDone}, {a.outlierStop, a.outlierDone}, {a.certStop, a.certDone}}
	a.stateStop, a.outlierStop, a.certStop = nil, nil, nil
	a.mu.Unlock()
	for _, s := range stops {
		if s[0] != nil {
			close(s[0])
			<-s[1]
		}
	}
}

// stopAux stops the probes and closes the access log.
func (a *App) stopAux() {
	a.probes.Stop()
	if al := a.alog.Swap(nil); al != nil {
		al.Close()
	}
}

// Server returns the proxy.
func (a *App) Server() *proxy.Server { return a.srv }

// Admin returns the admin API, nil when it is off or not started.
func (a *App) Admin() *admin.Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.admin
}

// Table returns the live topology.
func (a *App) Table() *route.Table {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.table
}

// Config returns the running configuration, run-time changes included. It
// must not be modified.
func (a *App) Config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// View returns what the admin API reports. Takes a.mu briefly.
func (a *App) View() admin.View {
	a.mu.Lock()
	t, cfg := a.table, a.cfg
	disc := a.discoveryStatus()
	a.mu.Unlock()
	return admin.View{
		Discovery:        disc,
		DiscoveryErrors:  a.discoveryErrors.Load(),
		Table:            t,
		Config:           cfg,
		Probe:            a.probes.Status,
		ClientConns:      a.srv.Conns(),
		Proxy:            a.srv.Stats(),
		AccessLogDropped: a.dropped.Load(),
		Reloads:          a.reloads.Load(),
		ReloadFailures:   a.reloadFailures.Load(),
	}
}

// Reload re-reads the configuration file and swaps the new topology in
// (see apply). On any error the running configuration stays and the
// error (config.Errors, with line numbers) is returned. Run-time changes
// made through the admin API are replaced by the file's content. Settings
// that need new listeners or event loops take effect only on restart;
// that is logged. Takes a.mu.
func (a *App) Reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.path == "" {
		a.reloadFailures.Add(1)
		return admin.Errorf(http.StatusConflict, "no configuration file to reload: shellac was started without one")
	}
	cfg, err := config.Load(a.path)
	if err == nil {
		cfg, err = a.withDiscovered(cfg)
	}
	if err == nil {
		err = a.apply(cfg, a.path)
	}
	if err != nil {
		a.reloadFailures.Add(1)
		return err
	}
	a.reloads.Add(1)
	a.syncDiscovery() // templates added, changed or removed
	a.Log.Info("configuration reloaded", "file", a.path)
	return nil
}

// apply makes cfg the running configuration: it builds the topology,
// keeping unchanged backends (their health, counters and pooled
// connections) and unchanged directors (their saintmode blacklists and
// cursors; compared with a.cfg, the running configuration, so a director
// changed through the admin API is rebuilt unless cfg says the same), gives new backends their probes' initial verdicts, swaps
// the table into the proxy, and drains the backends that were removed or
// replaced: they take no new request, in-flight requests finish on them,
// and their connections close. file names the source in errors. Called
// with a.mu held.
func (a *App) apply(cfg *config.Config, file string) error {
	t, err := topology.Build(cfg, a.table, a.cfg)
	if err != nil {
		return config.Errors{{File: file, Msg: err.Error()}}
	}
	tlsl, err := tlsListeners(cfg, file) // certificates re-read: a broken one refuses the reload
	if err != nil {
		return err
	}
	var nal *accessLog
	logChanged := cfg.Log.Access != a.cfg.Log.Access || cfg.Log.Format != a.cfg.Log.Format
	if logChanged && a.started && cfg.Log.Access != "" {
		if nal, err = openAccessLog(cfg.Log, &a.dropped); err != nil {
			return err
		}
	}
	if a.started {
		a.syncProbes(cfg, t) // before the swap: new backends start with their initial verdict
	}
	old := a.table
	a.srv.SetTable(t)
	for _, tl := range tlsl {
		_ = a.srv.SetTLSConfig(tl.Listen, tl.Config) // a new address waits for a restart (warnRestartOnly)
	}
	for name, b := range old.Backends {
		if t.Backends[name] != b {
			b.SetGone()
			a.probes.Remove(b)
		}
	}
	a.warnRestartOnly(a.cfg, cfg)
	a.cfg, a.table = cfg, t
	a.regroup()
	if logChanged && a.started {
		a.swapAccessLog(nal)
	}
	return nil
}

// swapAccessLog replaces the access log with al (nil: off) and sets the
// proxy's request hook accordingly. The old log is closed a moment later,
// so that lines queued by event loops that still held it get written.
func (a *App) swapAccessLog(al *accessLog) {
	if al == nil {
		a.srv.SetOnRequest(nil)
	}
	old := a.alog.Swap(al)
	if al != nil {
		a.srv.SetOnRequest(a.onRequest)
	}
	if old != nil {
		time.AfterFunc(100*time.Millisecond, old.Close)
	}
}

// warnRestartOnly logs the settings that changed but apply only to a new
// process.
func (a *App) warnRestartOnly(old, cfg *config.Config) {
	o, n := old.Server, cfg.Server
	var keys []string
	if fmt.Sprint(o.Listen) != fmt.Sprint(n.Listen) {
		keys = append(keys, "server.listen")
	}
	if tlsAddrs(o) != tlsAddrs(n) {
		keys = append(keys, "server.tls.listen")
	}
	if o.EventLoops != n.EventLoops {
		keys = append(keys, "server.event_loops")
	}
	if o.ProxyProtocol != n.ProxyProtocol {
		keys = append(keys, "server.proxy_protocol")
	}
	if o.XForwardedFor != n.XForwardedFor {
		keys = append(keys, "server.x_forwarded_for")
	}
	if o.TCPSmartAccept != n.TCPSmartAccept {
		keys = append(keys, "server.tcp_smart_accept")
	}
	if old.Limits != cfg.Limits {
		keys = append(keys, "limits")
	}
	if old.Admin != cfg.Admin {
		keys = append(keys, "admin")
	}
	if old.Log.Level != cfg.Log.Level {
		keys = append(keys, "log.level")
	}
	if len(keys) > 0 {
		a.Log.Warn("changed settings take effect on restart", "settings", keys)
	}
}

// Shutdown stops the admin API, drains the proxy's in-flight requests
// (until ctx expires), stops the probes and flushes the access log.
func (a *App) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	adm := a.admin
	a.mu.Unlock()
	if adm != nil {
		actx, cancel := context.WithTimeout(ctx, adminShutdownTimeout)
		_ = adm.Shutdown(actx)
		cancel()
	}
	a.stopDiscovery()
	a.stopWatchers()
	err := a.srv.Shutdown(ctx)
	if e := a.writeState(); e != nil {
		a.Log.Error("cannot write the state file", "err", e)
	}
	a.stopAux()
	return err
}

// Run starts a (unless Start already did) and serves until SIGTERM or
// SIGINT (graceful drain bounded by server.shutdown_timeout), reloading
// on SIGHUP and handing over to a new process on SIGUSR2 (upgrade.go).
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(); err != nil {
		return err
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2)
	defer signal.Stop(sig)
	reportReady()
	for {
		select {
		case <-ctx.Done():
			return a.drain()
		case s := <-sig:
			switch s {
			case syscall.SIGHUP:
				if err := a.Reload(); err != nil {
					a.Log.Error("reload failed; keeping the running configuration", "err", err)
				}
				continue
			case syscall.SIGUSR2:
				pid, err := a.upgrade()
				if err != nil {
					a.Log.Error("upgrade failed; this process keeps serving", "err", err)
					continue
				}
				a.Log.Info("upgrade: new process ready; draining", "pid", pid)
				return a.drain()
			}
			a.Log.Info("draining", "signal", s.String())
			return a.drain()
		}
	}
}

func (a *App) drain() error {
	d := a.Config().Server.ShutdownTimeout.Duration
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := a.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		a.Log.Warn("shutdown timeout: closed remaining connections", "timeout", d)
		return nil
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.Log.Info("stopped")
	return nil
}

var _ admin.Control = (*App)(nil)

// tlsAddrs lists the TLS listen addresses of s, for comparison.
func tlsAddrs(s config.Server) string {
	var b strings.Builder
	for _, t := range s.TLS {
		fmt.Fprint(&b, t.Listen)
	}
	return b.String()
}
