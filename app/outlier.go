package app

import (
	"time"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/app/topology"
	"github.com/shellac-lb/shellac/directors"
)

// This file holds the control side of passive health (outlier ejection,
// directors/outlier.go): the ejection groups kept in step with the
// directors' members, the log line of every ejection and return, and the
// operator's un-eject.
//
// The event loops eject backends and the clock or a probe returns them;
// none of them logs. Each backend pokes a.outlierWake when it is ejected
// or returns, and the watcher goroutine, woken by it or by the end of the
// nearest ejection, compares every backend with what it saw last and
// logs the difference.

// outlierIdle is how long the watcher sleeps when no ejection ends
// sooner (a poke wakes it anyway).
const outlierIdle = time.Minute

// regroup gives the live backends their ejection groups and the
// watcher's wake-up channel. Called with a.mu held after every change of
// the table or of a director's members.
func (a *App) regroup() {
	topology.Regroup(a.cfg, a.table)
	for _, b := range a.table.Backends {
		b.SetOutlierNotify(a.outlierWake)
	}
}

// Uneject returns the backend name to service at once, as an operator
// asks, and reports whether it was ejected. Its failure count and
// ejection multiplier start over. Takes a.mu.
func (a *App) Uneject(name string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.table.Backends[name]
	if b == nil {
		return false, admin.NotFound("backend", name)
	}
	return b.Uneject(), nil
}

// outlierSeen is what the watcher last saw of a backend.
type outlierSeen struct {
	ejections uint64
	ejected   bool
}

// runOutlierWatch logs ejections and returns until stop is closed, then
// closes done.
func (a *App) runOutlierWatch(stop, done chan struct{}) {
	defer close(done)
	seen := map[*directors.Backend]outlierSeen{}
	t := time.NewTimer(outlierIdle)
	defer t.Stop()
	for {
		t.Reset(a.logOutliers(seen, time.Now()))
		select {
		case <-stop:
			return
		case <-a.outlierWake:
		case <-t.C:
		}
	}
}

// logOutliers logs, for every backend that detects outliers, the
// ejections and the return since seen, updates seen, and returns how
// long until the nearest ejection ends. Several ejections of one backend
// between two looks (shorter than the time the watcher takes to wake)
// give one line that counts them.
func (a *App) logOutliers(seen map[*directors.Backend]outlierSeen, now time.Time) time.Duration {
	tbl := a.Table()
	next := outlierIdle
	live := make(map[*directors.Backend]bool, len(tbl.Backends))
	for name, b := range tbl.Backends {
		live[b] = true
		st := b.OutlierStatus(now.UnixNano())
		if !st.Enabled {
			continue
		}
		was := seen[b]
		if n := st.Ejections - was.ejections; n > 0 {
			args := []any{"backend", name, "ejections", st.Ejections, "consecutive_failures", b.Config().Outlier.Consecutive}
			if n > 1 {
				args = append(args, "since_last_line", n)
			}
			if st.Ejected {
				p := b.Config().Outlier
				d := min(time.Duration(st.Multiplier)*p.BaseEjection, p.MaxEjection)
				args = append(args, "until", time.Unix(0, st.Until).UTC().Format(time.RFC3339Nano), "duration", d.String())
			}
			a.Log.Warn("backend ejected", args...)
		}
		if (was.ejected || st.Ejections > was.ejections) && !st.Ejected {
			a.Log.Info("backend returned from ejection", "backend", name, "ejections", st.Ejections)
		}
		if st.Ejected && !st.AwaitingProbe {
			next = min(next, max(time.Unix(0, st.Until).Sub(now), time.Millisecond))
		}
		seen[b] = outlierSeen{ejections: st.Ejections, ejected: st.Ejected}
	}
	for b := range seen {
		if !live[b] {
			delete(seen, b)
		}
	}
	return next
}
