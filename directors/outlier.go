package directors

import (
	"sync/atomic"
	"time"
)

// This file holds passive health: outlier detection on a Backend, as
// Envoy's outlier_detection (consecutive failures) and HAProxy's
// `observe layer7`. proxy reports the outcome of every try
// (ObserveFailure, ObserveSuccess); a backend that fails
// OutlierPolicy.Consecutive times in a row is ejected for a while, and
// directors skip it until it returns. No timer runs: the end of an
// ejection is a timestamp compared with the request's clock when the
// backend is asked whether it is usable. An EjectionGroup per director
// keeps ejections below the director's max_ejection_percent.
//
// Everything here is atomics: no lock, no allocation on the request path.

// FailKind is a set of kinds of failed tries, as outlier detection counts
// them. The bits are route.RetryOn's (route defines its kinds from
// these), so outlier_on and retry_on take the same names.
type FailKind uint8

// Failure kinds.
const (
	FailConnect FailKind = 1 << iota // the connect was refused, unreachable or timed out
	FailReset                        // the backend closed or reset the connection, or answered garbage
	Fail5xx                          // the backend answered 5xx
	FailTimeout                      // no response head within first_byte_timeout, or the body stalled

	// FailAny is every kind: outlier_on's default.
	FailAny = FailConnect | FailReset | Fail5xx | FailTimeout
)

// Outlier detection defaults (docs/spec.md section 2).
const (
	DefaultBaseEjection       = 30 * time.Second
	DefaultMaxEjection        = 5 * time.Minute
	DefaultMaxEjectionPercent = 50
)

// OutlierPolicy is a backend's passive health settings: Consecutive
// failures of a kind in On, with no response in between, eject the
// backend. The n-th ejection lasts n × BaseEjection, at most MaxEjection;
// n goes down by one for each BaseEjection the backend then stays in
// service (Envoy's multiplier). The zero policy detects nothing.
type OutlierPolicy struct {
	Consecutive  int           // failures in a row that eject; 0 = off
	On           FailKind      // kinds that count
	BaseEjection time.Duration // length of a first ejection
	MaxEjection  time.Duration // longest ejection
}

// outlierState is a Backend's passive health. until is the hot field:
// it is read on every pick, the rest only when a try fails or an
// ejection ends.
type outlierState struct {
	until       atomic.Int64 // ejected until (Unix nanos); 0: in service
	consecutive atomic.Int64 // counted failures since the last response or ejection
	gated       atomic.Bool  // a probe watches the backend: it returns only on a good probe after until
	busy        atomic.Bool  // an ejection is being decided
	mult        atomic.Int64 // multiplier of the last ejection
	back        atomic.Int64 // when the last ejection ended (Unix nanos)
	ejections   atomic.Uint64
	refused     atomic.Uint64 // ejections a max_ejection_percent refused
	groups      atomic.Pointer[[]*EjectionGroup]
	notify      atomic.Pointer[chan struct{}]
}

// ObserveFailure reports a failed try of kind k on b at now (Unix nanos;
// the event loop's coarse clock). When it is the policy's Consecutive-th
// counted failure in a row, b is ejected, unless an operator forced it
// healthy or one of its groups is at its max_ejection_percent (then the
// next counted failure asks again). Failures of other kinds are not
// counted and do not reset the count. Called on the event loops.
func (b *Backend) ObserveFailure(k FailKind, now int64) {
	p := &b.cfg.Outlier
	if p.Consecutive <= 0 || p.On&k == 0 {
		return
	}
	if b.outlier.consecutive.Add(1) >= int64(p.Consecutive) {
		b.eject(now)
	}
}

// ObserveSuccess reports a try that got a response head that is not a
// 5xx: it resets b's count of consecutive failures. It writes nothing
// when there is nothing to reset, so a healthy backend's counter stays
// unshared between event loops. Called on the event loops.
func (b *Backend) ObserveSuccess() {
	if b.cfg.Outlier.Consecutive > 0 && b.outlier.consecutive.Load() != 0 {
		b.outlier.consecutive.Store(0)
	}
}

// eject takes b out of service from now, if nothing prevents it, and
// reports whether it did. One ejection is decided at a time per backend
// and per group: when another event loop is deciding one, this failure
// gives way (the next one asks again), so a group's count never races.
func (b *Backend) eject(now int64) bool {
	o := &b.outlier
	if AdminState(b.admin.Load()) == AdminHealthy {
		return false
	}
	if !o.busy.CompareAndSwap(false, true) {
		return false
	}
	defer o.busy.Store(false)
	if b.ejectedAt(now) {
		return false
	}
	var gs []*EjectionGroup
	if p := o.groups.Load(); p != nil {
		gs = *p
	}
	n := lockGroups(gs)
	defer unlockGroups(gs[:n])
	if n < len(gs) {
		return false
	}
	for _, g := range gs {
		if !g.allows(now) {
			o.refused.Add(1)
			return false
		}
	}
	p := &b.cfg.Outlier
	mult := o.mult.Load()
	if back := o.back.Load(); back > 0 && p.BaseEjection > 0 && now > back {
		mult = max(mult-(now-back)/int64(p.BaseEjection), 0)
	}
	mult++
	d := time.Duration(mult) * p.BaseEjection
	if d > p.MaxEjection || d < 0 {
		d = p.MaxEjection
		mult = max(int64(p.MaxEjection/max(p.BaseEjection, 1)), 1)
	}
	o.mult.Store(mult)
	o.consecutive.Store(0)
	o.ejections.Add(1)
	o.until.Store(now + int64(d))
	b.changed.Store(now)
	b.poke()
	return true
}

// lockGroups takes each group's decision flag in order and returns how
// many it got: all of them, or fewer when a group is busy.
func lockGroups(gs []*EjectionGroup) int {
	for i, g := range gs {
		if !g.busy.CompareAndSwap(false, true) {
			return i
		}
	}
	return len(gs)
}

func unlockGroups(gs []*EjectionGroup) {
	for _, g := range gs {
		g.busy.Store(false)
	}
}

// ejectedAt reports whether b is out of service at now (0: the wall
// clock). An ejection whose time is over ends here, for the first caller
// that sees it, unless a probe must confirm it.
func (b *Backend) ejectedAt(now int64) bool {
	u := b.outlier.until.Load()
	return u != 0 && b.stillEjected(u, now)
}

// stillEjected is ejectedAt's slow path, once b has been ejected (until
// u).
func (b *Backend) stillEjected(u, now int64) bool {
	if AdminState(b.admin.Load()) == AdminHealthy {
		return false
	}
	if now == 0 {
		now = time.Now().UnixNano()
	}
	if now < u || b.outlier.gated.Load() {
		return true
	}
	b.endEjection(u, u)
	return false
}

// endEjection returns b to service as of at, if it is still ejected until
// u, and reports whether it did.
func (b *Backend) endEjection(u, at int64) bool {
	if !b.outlier.until.CompareAndSwap(u, 0) {
		return false
	}
	b.outlier.back.Store(at)
	b.changed.Store(at)
	b.poke()
	return true
}

// Ejected reports whether b is ejected now (a probe-gated backend whose
// time is over stays ejected until its probe confirms it).
func (b *Backend) Ejected() bool { return b.ejectedAt(0) }

// Uneject returns b to service at once, as an operator asks, and forgets
// its failure count and ejection multiplier. It reports whether b was
// ejected.
func (b *Backend) Uneject() bool {
	o := &b.outlier
	was := false
	for {
		u := o.until.Load()
		if u == 0 {
			break
		}
		if b.endEjection(u, time.Now().UnixNano()) {
			was = true
			break
		}
	}
	o.consecutive.Store(0)
	o.mult.Store(0)
	return was
}

// ProbeChecked is called by b's probe after every check with its verdict:
// a healthy verdict returns b to service when its ejection time is over.
// Called from the probe's goroutine.
func (b *Backend) ProbeChecked(healthy bool) {
	u := b.outlier.until.Load()
	if !healthy || u == 0 {
		return
	}
	if now := time.Now().UnixNano(); now >= u {
		b.endEjection(u, now)
	}
}

// SetProbeGate tells b whether a probe watches it: while one does, an
// ejection ends only on the probe's first healthy verdict after the
// ejection time (ProbeChecked). Called by the health manager when it
// starts and stops b's probe.
func (b *Backend) SetProbeGate(on bool) { b.outlier.gated.Store(on) }

// SetOutlierNotify has b send on ch, without blocking, whenever it is
// ejected or returns (nil: no notice). The app's watcher logs from it.
func (b *Backend) SetOutlierNotify(ch chan struct{}) {
	if ch == nil {
		b.outlier.notify.Store(nil)
		return
	}
	b.outlier.notify.Store(&ch)
}

// poke sends the notice of SetOutlierNotify.
func (b *Backend) poke() {
	if p := b.outlier.notify.Load(); p != nil {
		select {
		case *p <- struct{}{}:
		default:
		}
	}
}

// OutlierStatus is a backend's passive health, for /status and metrics.
type OutlierStatus struct {
	Enabled bool // the backend's policy detects outliers
	Ejected bool
	// Until is when the current ejection's time ends (Unix nanos; 0 when
	// not ejected). AwaitingProbe: the time is over and the backend waits
	// for a healthy probe.
	Until         int64
	AwaitingProbe bool
	Ejections     uint64 // ejections so far
	Refused       uint64 // ejections a max_ejection_percent prevented
	Consecutive   int64  // counted failures in a row now
	Multiplier    int64  // of the last ejection's BaseEjection
}

// OutlierStatus returns b's passive health at now (Unix nanos; 0: the
// wall clock). An ejection whose time is over ends here, as on a pick.
func (b *Backend) OutlierStatus(now int64) OutlierStatus {
	if now == 0 {
		now = time.Now().UnixNano()
	}
	o := &b.outlier
	st := OutlierStatus{
		Enabled:     b.cfg.Outlier.Consecutive > 0,
		Ejected:     b.ejectedAt(now),
		Ejections:   o.ejections.Load(),
		Refused:     o.refused.Load(),
		Consecutive: o.consecutive.Load(),
		Multiplier:  o.mult.Load(),
	}
	if st.Ejected {
		st.Until = o.until.Load()
		st.AwaitingProbe = st.Until != 0 && now >= st.Until
	}
	return st
}

// An EjectionGroup is one director's cap on ejections: a backend is
// ejected only when, counting it, no more than MaxPercent of the group's
// members would be ejected at once (Envoy's max_ejection_percent, judged
// after the ejection, so a group of one backend under a cap below 100 never
// ejects it). The members are the distinct backends under the director,
// through any directors it stacks on. A backend in several groups must fit
// in all of them. Groups are rebuilt when membership changes
// (SetEjectionGroups).
type EjectionGroup struct {
	name    string
	percent int
	members []*Backend
	busy    atomic.Bool
}

// NewEjectionGroup returns the group of the director name over members,
// with its cap.
func NewEjectionGroup(name string, maxPercent int, members []*Backend) *EjectionGroup {
	return &EjectionGroup{name: name, percent: maxPercent, members: members}
}

// Name returns the group's director.
func (g *EjectionGroup) Name() string { return g.name }

// allows reports whether one more ejection keeps g within its cap.
func (g *EjectionGroup) allows(now int64) bool {
	n := 1
	for _, m := range g.members {
		if m.ejectedAt(now) {
			n++
		}
	}
	return n*100 <= g.percent*len(g.members)
}

// SetEjectionGroups gives each backend of bs the groups among gs that
// list it; a backend that none lists is capped by nothing. Safe while
// requests run: each backend's list is swapped atomically.
func SetEjectionGroups(bs []*Backend, gs []*EjectionGroup) {
	of := make(map[*Backend][]*EjectionGroup)
	for _, g := range gs {
		for _, m := range g.members {
			of[m] = append(of[m], g)
		}
	}
	for _, b := range bs {
		if l, ok := of[b]; ok {
			b.outlier.groups.Store(&l)
		} else {
			b.outlier.groups.Store(nil)
		}
	}
}

// Leaves returns the distinct backends at or under m, in tree order.
func Leaves(m Member) []*Backend {
	var out []*Backend
	seen := map[*Backend]bool{}
	var walk func(m Member, depth int)
	walk = func(m Member, depth int) {
		switch x := m.(type) {
		case *Backend:
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		case parent:
			if depth < maxDepth {
				for _, c := range x.Members() {
					walk(c, depth+1)
				}
			}
		}
	}
	walk(m, 0)
	return out
}
