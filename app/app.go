// Package app runs a shellac instance from a configuration: it builds the
// live topology, starts the proxy, and handles reloads and shutdown. cmd
// only parses flags and calls it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/netpoll"
	"github.com/shellac-lb/shellac/topology"
)

// App is a running shellac instance.
type App struct {
	Log *slog.Logger

	mu    sync.Mutex // serialises reloads and run-time changes
	path  string
	cfg   *config.Config
	table *topology.Table
	srv   *netpoll.Server

	started bool
}

// New builds an App from cfg (not started). path is the file to re-read on
// reload; it may be empty.
func New(cfg *config.Config, path string, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	t, err := topology.Build(cfg, nil)
	if err != nil {
		return nil, err
	}
	a := &App{Log: log, path: path, cfg: cfg, table: t}
	a.srv = netpoll.New(ServerOptions(cfg, log), t)
	return a, nil
}

// ServerOptions maps the configuration onto the proxy's options.
func ServerOptions(cfg *config.Config, log *slog.Logger) netpoll.Options {
	s, l := cfg.Server, cfg.Limits
	return netpoll.Options{
		Listen:         s.Listen,
		EventLoops:     s.EventLoops,
		ProxyProtocol:  s.ProxyProtocol,
		XForwardedFor:  s.XForwardedFor,
		MaxConnections: l.MaxConnections,
		Limits: http1.Limits{
			MaxRequestLine: l.MaxRequestLineBytes,
			MaxHeaderBytes: l.MaxHeaderBytes,
			MaxHeaders:     l.MaxHeaders,
		},
		MaxBodyBytes:        l.MaxBodyBytes,
		ClientHeaderTimeout: l.ClientHeaderTimeout.Duration,
		ClientIdleTimeout:   l.ClientIdleTimeout.Duration,
		Logger:              log,
	}
}

// Start starts listening. Starting a started App does nothing.
func (a *App) Start() error {
	if a.started {
		return nil
	}
	a.started = true
	if err := a.srv.Start(); err != nil {
		return err
	}
	a.Log.Info("shellac listening", "listen", a.cfg.Server.Listen, "backends", len(a.table.Backends), "directors", len(a.table.Directors))
	return nil
}

// Server returns the proxy.
func (a *App) Server() *netpoll.Server { return a.srv }

// Table returns the live topology.
func (a *App) Table() *topology.Table {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.table
}

// Reload re-reads the configuration file and swaps the new topology in.
// On any error the running configuration stays and the error (with line
// numbers) is returned. Settings that need new listeners or event loops
// (listen, event_loops) take effect only on restart; that is logged.
func (a *App) Reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.path == "" {
		return errors.New("app: no configuration file to reload")
	}
	cfg, err := config.Load(a.path)
	if err != nil {
		return err
	}
	t, err := topology.Build(cfg, a.table)
	if err != nil {
		return err
	}
	old := a.table
	a.srv.SetTable(t)
	for name, b := range old.Backends {
		if t.Backends[name] != b {
			b.SetGone() // drains: no new requests, idle connections close
		}
	}
	a.cfg, a.table = cfg, t
	a.Log.Info("configuration reloaded", "file", a.path)
	return nil
}

// Shutdown drains in-flight requests and stops.
func (a *App) Shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }

// Run starts a (unless Start already did) and serves until SIGTERM or SIGINT (graceful drain bounded
// by server.shutdown_timeout), reloading on SIGHUP.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(); err != nil {
		return err
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	for {
		select {
		case <-ctx.Done():
			return a.drain()
		case s := <-sig:
			if s == syscall.SIGHUP {
				if err := a.Reload(); err != nil {
					a.Log.Error("reload failed; keeping the running configuration", "err", err)
				}
				continue
			}
			a.Log.Info("draining", "signal", s.String())
			return a.drain()
		}
	}
}

func (a *App) drain() error {
	d := a.cfg.Server.ShutdownTimeout.Duration
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
