package health

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// avgRate bounds the weight of the running average of good probes' times,
// as Varnish's AVG_RATE.
const avgRate = 4

// Status is a snapshot of one backend's probe, for the admin API.
type Status struct {
	Healthy   bool   // the probe's verdict: Good >= Threshold
	Good      int    // good results in the window
	Window    int    // results kept
	Threshold int    // good results needed
	Marks     string // the window, oldest first, newest last (see the package doc)

	Probes       uint64        // probes run since the prober started
	LastTime     time.Time     // when the last probe started; zero before the first
	LastDuration time.Duration // how long it took
	LastOutcome  Outcome       // how far it got; meaningless before the first probe
	LastStatus   int           // status code it read; 0 when none
	LastError    string        // why it failed; "" when it was good
	Average      time.Duration // running average time of good probes, as Varnish's
}

// String returns the status as varnishadm backend.list shows it, "5/8 good"
// or "2/8 bad".
func (s Status) String() string {
	verdict := " bad"
	if s.Healthy {
		verdict = " good"
	}
	return strconv.Itoa(s.Good) + "/" + strconv.Itoa(s.Window) + verdict
}

// Change is passed to Options.OnChange when a backend's probe verdict flips.
type Change struct {
	Backend *directors.Backend
	Healthy bool   // the new verdict
	Status  Status // the probe's state right after the flip
}

// prober probes one backend from its own goroutine.
type prober struct {
	b        *directors.Backend
	spec     ProbeSpec // provisioned; immutable
	t        target
	onChange func(Change)

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu     sync.Mutex // guards the fields below; taken by run and Status
	win    window
	last   result
	probes uint64
	avg    time.Duration
	rate   float64
}

func newProber(b *directors.Backend, spec ProbeSpec, onChange func(Change)) *prober {
	cfg := b.Config()
	return &prober{
		b:    b,
		spec: spec,
		t: target{
			network:     cfg.Network,
			address:     cfg.Address,
			req:         spec.appendRequest(nil, cfg),
			proxyHeader: cfg.ProxyHeader,
			tls:         cfg.TLS,
			timeout:     spec.Timeout,
			expect:      spec.ExpectedStatus,
		},
		onChange: onChange,
		done:     make(chan struct{}),
		win:      newWindow(spec.Window, spec.Initial),
	}
}

// start writes the initial verdict (from the Initial results) and starts
// probing. Called once, by Manager.Set.
func (p *prober) start() {
	p.mu.Lock()
	st := p.statusLocked()
	p.mu.Unlock()
	p.publish(st)

	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(ctx)
}

// stop stops the prober and waits for its goroutine to return; after it,
// the prober writes no verdict.
func (p *prober) stop() {
	p.cancel()
	<-p.done
}

// exited reports whether the prober's goroutine returned.
func (p *prober) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// run probes every Interval until ctx is cancelled or the backend is gone.
// The first probe fires at a random offset within the first interval, so
// that backends configured together are not probed in lockstep; each next
// one fires Interval after the previous one ended, as in Varnish.
func (p *prober) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTimer(jitter(p.spec.Interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p.b.Gone() {
			return
		}
		r := p.t.probe(ctx)
		if ctx.Err() != nil {
			return // stopped during the probe: its result says nothing of the backend
		}
		p.publish(p.record(r))
		t.Reset(p.spec.Interval)
	}
}

// jitter returns a random offset in [0, interval).
func jitter(interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return rand.N(interval)
}

// record shifts r into the window and returns the new status. Takes p.mu.
func (p *prober) record(r result) Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.win.push(r.outcome)
	p.last = r
	p.probes++
	if r.outcome == OutcomeGood {
		// Varnish's exponential average: the first good probes count fully,
		// then each weighs 1/avgRate.
		if p.rate < avgRate {
			p.rate++
		}
		p.avg += time.Duration(float64(r.dur-p.avg) / p.rate)
	}
	return p.statusLocked()
}

// publish writes st's verdict to the backend and calls the change hook when
// it flips; every verdict also goes to the backend's outlier detection,
// where a healthy one ends an ejection whose time is over. Called only
// from the prober's own goroutine, or by start before the goroutine
// exists, so there is one writer per backend.
func (p *prober) publish(st Status) {
	p.b.ProbeChecked(st.Healthy)
	if st.Healthy == p.b.ProbeHealthy() {
		return
	}
	p.b.SetProbeHealthy(st.Healthy)
	if p.onChange != nil {
		p.onChange(Change{Backend: p.b, Healthy: st.Healthy, Status: st})
	}
}

// status returns a snapshot of the probe's state. Takes p.mu.
func (p *prober) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statusLocked()
}

// statusLocked is status; p.mu must be held.
func (p *prober) statusLocked() Status {
	st := Status{
		Healthy:   p.win.healthy(p.spec.Threshold),
		Good:      p.win.good(),
		Window:    p.spec.Window,
		Threshold: p.spec.Threshold,
		Marks:     string(p.win.appendMarks(make([]byte, 0, MaxWindow))),
		Probes:    p.probes,
		Average:   p.avg,
	}
	if p.probes > 0 {
		st.LastTime = p.last.start
		st.LastDuration = p.last.dur
		st.LastOutcome = p.last.outcome
		st.LastStatus = p.last.status
		if p.last.err != nil {
			st.LastError = p.last.err.Error()
		}
	}
	return st
}
