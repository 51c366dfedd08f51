package discovery

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Watcher's bounds.
const (
	DefaultMinTTL = 5 * time.Second
	DefaultMaxTTL = 5 * time.Minute
)

// Options configure a Watcher.
type Options struct {
	Target   Target
	Resolver *Resolver
	// MinTTL and MaxTTL bound the time between lookups: the answer's TTL,
	// clamped. After a failure the next lookup is MinTTL away.
	MinTTL, MaxTTL time.Duration
	// Grace is how long the last good set is kept while lookups fail or
	// come back empty; 0 keeps it until DNS answers again. When it runs
	// out the set is dropped (reported empty), with a log line.
	Grace time.Duration
	// OnChange receives every new set (sorted by address), from the
	// Watcher's goroutine; the first successful lookup always reports.
	OnChange func(eps []Endpoint)
	// Log receives the failures (rate: at most one line per lookup).
	Log *slog.Logger
	// Name names the watcher in log lines.
	Name string
}

// Stats are a Watcher's counters.
type Stats struct {
	Lookups, Failures, Empty uint64
	// Endpoints is the size of the set last reported.
	Endpoints int
	// LastOK is the time of the last successful lookup (zero: none yet).
	LastOK time.Time
	// LastError is the last failure's text, "" after a success.
	LastError string
}

// Watcher re-resolves a target until stopped.
type Watcher struct {
	o      Options
	cancel context.CancelFunc
	done   chan struct{}

	lookups, failures, empty atomic.Uint64
	endpoints                atomic.Int64
	mu                       sync.Mutex
	lastOK                   time.Time
	lastErr                  string
}

// Watch starts a Watcher; it runs until Stop.
func Watch(o Options) *Watcher {
	if o.MinTTL <= 0 {
		o.MinTTL = DefaultMinTTL
	}
	if o.MaxTTL < o.MinTTL {
		o.MaxTTL = max(DefaultMaxTTL, o.MinTTL)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{o: o, cancel: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w
}

// Stop stops the watcher and waits for its goroutine (and any OnChange
// in progress) to end.
func (w *Watcher) Stop() {
	w.cancel()
	<-w.done
}

// Stats returns the counters.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{Lookups: w.lookups.Load(), Failures: w.failures.Load(), Empty: w.empty.Load(),
		Endpoints: int(w.endpoints.Load()), LastOK: w.lastOK, LastError: w.lastErr}
}

func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	var cur []Endpoint
	reported := false
	var failingSince time.Time
	for {
		eps, ttl, err := w.o.Resolver.Lookup(ctx, w.o.Target)
		if ctx.Err() != nil {
			return
		}
		w.lookups.Add(1)
		wait := w.o.MinTTL
		now := time.Now()
		if err != nil {
			w.failures.Add(1)
			if errors.Is(err, ErrEmpty) {
				w.empty.Add(1)
			}
			if failingSince.IsZero() {
				failingSince = now
			}
			w.mu.Lock()
			w.lastErr = err.Error()
			w.mu.Unlock()
			switch {
			case w.o.Grace > 0 && len(cur) > 0 && now.Sub(failingSince) >= w.o.Grace:
				w.o.Log.Warn("discovery: lookups failing past the grace period: dropping the endpoints", "name", w.o.Name, "target", w.o.Target.Name, "kept", len(cur), "grace", w.o.Grace, "err", err)
				cur = nil
				w.report(cur)
			case len(cur) > 0:
				w.o.Log.Warn("discovery: lookup failed; keeping the last good endpoints", "name", w.o.Name, "target", w.o.Target.Name, "kept", len(cur), "err", err)
			default:
				w.o.Log.Warn("discovery: lookup failed; no endpoints yet", "name", w.o.Name, "target", w.o.Target.Name, "err", err)
			}
		} else {
			failingSince = time.Time{}
			w.mu.Lock()
			w.lastOK, w.lastErr = now, ""
			w.mu.Unlock()
			wait = min(max(ttl, w.o.MinTTL), w.o.MaxTTL)
			if !reported || !slices.Equal(eps, cur) {
				cur, reported = eps, true
				w.report(cur)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (w *Watcher) report(eps []Endpoint) {
	w.endpoints.Store(int64(len(eps)))
	if w.o.OnChange != nil {
		w.o.OnChange(slices.Clone(eps))
	}
}
