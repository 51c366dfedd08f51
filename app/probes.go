package app

import (
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/health"
	"github.com/shellac-lb/shellac/route"
)

// probeSpec maps a [probes.NAME] table onto the health package's spec.
// The configuration was provisioned and validated already (Initial holds
// its default, threshold - 1, when it was not written).
func probeSpec(p *config.Probe) *health.ProbeSpec {
	return &health.ProbeSpec{
		URL:            p.URL,
		Request:        p.Request,
		ExpectedStatus: p.ExpectedStatus,
		Interval:       p.Interval.Duration,
		Timeout:        p.Timeout.Duration,
		Window:         p.Window,
		Threshold:      p.Threshold,
		Initial:        p.Initial,
	}
}

// syncProbes makes the running probes match cfg for the backends of t:
// a backend with `probe = "name"` is probed with that spec (a backend
// whose spec did not change keeps its prober and window; a new one gets
// its initial verdict before syncProbes returns), and a backend without
// one is not probed (and healthy unless an operator set it sick). Called
// with a.mu held.
func (a *App) syncProbes(cfg *config.Config, t *route.Table) {
	for name, b := range t.Backends {
		a.syncProbe(cfg, name, b)
	}
}

// syncProbe is syncProbes for one backend.
func (a *App) syncProbe(cfg *config.Config, name string, b *directors.Backend) {
	bc := cfg.Backends[name]
	if bc == nil || bc.Probe == "" || b.Responder() != nil {
		a.probes.Remove(b)
		return
	}
	pc := cfg.Probes[bc.Probe]
	if pc == nil {
		return // refused by config validation
	}
	if err := a.probes.Set(b, probeSpec(pc)); err != nil {
		a.Log.Error("cannot start probe", "backend", name, "probe", bc.Probe, "err", err)
	}
}

// onHealthChange logs a probe's verdict flip. Called by the health
// manager from the backend's probing goroutine.
func (a *App) onHealthChange(ch health.Change) {
	if ch.Backend.Gone() {
		return // removed: Manager.Remove resets its verdict to healthy, which is no news
	}
	verdict := "sick"
	if ch.Healthy {
		verdict = "healthy"
	}
	a.Log.Info("backend health changed", "backend", ch.Backend.Name(), "probe", verdict,
		"window", ch.Status.Marks, "good", ch.Status.String(), "last_error", ch.Status.LastError)
}
