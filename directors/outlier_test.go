package directors

import (
	"fmt"
	"testing"
	"time"
)

const sec = int64(time.Second)

// outlierBackends returns n backends that eject after consecutive counted
// failures, for base × n seconds up to maxEj.
func outlierBackends(n, consecutive int, base, maxEj time.Duration) []*Backend {
	bs := make([]*Backend, n)
	for i := range bs {
		bs[i] = NewBackend(fmt.Sprintf("o%d", i+1), BackendConfig{Outlier: OutlierPolicy{
			Consecutive: consecutive, On: FailAny, BaseEjection: base, MaxEjection: maxEj,
		}})
	}
	return bs
}

// healthyAt reports whether b takes a request at now.
func healthyAt(b *Backend, now int64) bool { return b.Healthy(&Request{Now: now}) }

func TestOutlierConsecutive(t *testing.T) {
	// Events: f = a failure of a counted kind, c = a connect failure when
	// only 5xx counts, s = a response that is not a 5xx.
	tests := []struct {
		name   string
		on     FailKind
		events string
		want   bool // ejected after the events
	}{
		{"threshold reached", FailAny, "fff", true},
		{"one short", FailAny, "ff", false},
		{"reset by a response", FailAny, "ffsff", false},
		{"reset, then threshold", FailAny, "ffsfff", true},
		{"other kinds do not count", Fail5xx, "ffcc", false},
		{"other kinds do not reset", Fail5xx, "ffcf", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := outlierBackends(1, 3, 10*time.Second, time.Minute)[0]
			b.cfg.Outlier.On = tc.on
			now := 100 * sec
			for _, e := range tc.events {
				switch e {
				case 'f':
					b.ObserveFailure(Fail5xx, now)
				case 'c':
					b.ObserveFailure(FailConnect, now)
				case 's':
					b.ObserveSuccess()
				}
			}
			if got := !healthyAt(b, now); got != tc.want {
				t.Errorf("ejected = %v after %q; want %v", got, tc.events, tc.want)
			}
		})
	}
}

func TestOutlierOffByDefault(t *testing.T) {
	b := NewBackend("b", BackendConfig{})
	for range 100 {
		b.ObserveFailure(FailConnect, sec)
	}
	if !b.Healthy(nil) || b.OutlierStatus(sec).Ejections != 0 {
		t.Error("a backend without an outlier policy was ejected")
	}
}

// ejectAt fails b enough to eject it at now and returns the ejection's
// length.
func ejectAt(t *testing.T, b *Backend, now int64) time.Duration {
	t.Helper()
	for range b.cfg.Outlier.Consecutive {
		b.ObserveFailure(FailReset, now)
	}
	st := b.OutlierStatus(now)
	if !st.Ejected {
		t.Fatalf("%s not ejected at %ds", b.Name(), now/sec)
	}
	return time.Duration(st.Until - now)
}

func TestOutlierEjectionTimeGrows(t *testing.T) {
	// Re-ejected as soon as it returns: base × n, capped at 35s.
	b := outlierBackends(1, 2, 10*time.Second, 35*time.Second)[0]
	now := 1000 * sec
	for i, want := range []time.Duration{10, 20, 30, 35, 35} {
		d := ejectAt(t, b, now)
		if d != want*time.Second {
			t.Errorf("ejection %d lasts %v; want %v", i+1, d, want*time.Second)
		}
		now += int64(d)
		if !healthyAt(b, now) {
			t.Fatalf("ejection %d: not back at its end", i+1)
		}
	}
	if got := b.OutlierStatus(now).Ejections; got != 5 {
		t.Errorf("Ejections = %d; want 5", got)
	}
}

func TestOutlierMultiplierDecays(t *testing.T) {
	// Each base time spent in service takes one off the multiplier.
	tests := []struct {
		inService time.Duration
		want      time.Duration
	}{
		{0, 30 * time.Second},
		{10 * time.Second, 20 * time.Second},
		{25 * time.Second, 10 * time.Second},
		{time.Hour, 10 * time.Second},
	}
	for _, tc := range tests {
		b := outlierBackends(1, 1, 10*time.Second, time.Hour)[0]
		now := 1000 * sec
		now += int64(ejectAt(t, b, now))
		healthyAt(b, now)
		now += int64(ejectAt(t, b, now)) // the second one: 20s
		healthyAt(b, now)
		if d := ejectAt(t, b, now+int64(tc.inService)); d != tc.want {
			t.Errorf("after %v in service: ejection lasts %v; want %v", tc.inService, d, tc.want)
		}
	}
}

func TestOutlierReturnsAfterTime(t *testing.T) {
	b := outlierBackends(1, 1, 10*time.Second, time.Minute)[0]
	now := 50 * sec
	ejectAt(t, b, now)
	for _, tc := range []struct {
		at   int64
		want bool
	}{{now, false}, {now + 10*sec - 1, false}, {now + 10*sec, true}, {now + 11*sec, true}} {
		if got := healthyAt(b, tc.at); got != tc.want {
			t.Errorf("Healthy at +%v = %v; want %v", time.Duration(tc.at-now), got, tc.want)
		}
	}
	if st := b.OutlierStatus(now + 11*sec); st.Ejected || st.Until != 0 {
		t.Errorf("status after the return: %+v", st)
	}
}

func TestOutlierProbeGate(t *testing.T) {
	// ProbeChecked reads the wall clock: eject in the past so that the
	// ejection time is over now.
	b := outlierBackends(1, 1, time.Second, time.Minute)[0]
	b.SetProbeGate(true)
	now := time.Now().UnixNano()
	ejectAt(t, b, now-2*sec)
	steps := []struct {
		do   func()
		want bool // healthy after it
	}{
		{func() {}, false},                        // time over, no probe yet
		{func() { b.ProbeChecked(false) }, false}, // the probe says sick
		{func() { b.ProbeChecked(true) }, true},   // the probe says healthy
	}
	for i, s := range steps {
		s.do()
		if got := healthyAt(b, now); got != s.want {
			t.Errorf("step %d: healthy = %v; want %v (status %+v)", i, got, s.want, b.OutlierStatus(now))
		}
	}
	// A healthy probe during the ejection time changes nothing.
	ejectAt(t, b, now)
	b.ProbeChecked(true)
	if healthyAt(b, now) {
		t.Error("a healthy probe ended an ejection before its time")
	}
	// Without the probe, the time alone decides again.
	b.SetProbeGate(false)
	if !healthyAt(b, now+10*sec) {
		t.Error("not back after the probe went away")
	}
}

func TestOutlierGroupCap(t *testing.T) {
	tests := []struct {
		members, percent, failing int
		want                      int // ejected at once
	}{
		{5, 50, 4, 2},
		{5, 50, 5, 2},
		{3, 50, 3, 1},
		{2, 50, 2, 1},
		{1, 50, 1, 0},   // judged after the ejection: 1/1 > 50 %
		{1, 100, 1, 1},  // unless the cap allows all
		{10, 10, 10, 1}, // Envoy's default share
		{4, 0, 4, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d/%d@%d%%", tc.failing, tc.members, tc.percent), func(t *testing.T) {
			bs := outlierBackends(tc.members, 2, 10*time.Second, time.Minute)
			SetEjectionGroups(bs, []*EjectionGroup{NewEjectionGroup("d", tc.percent, bs)})
			now := 10 * sec
			for range 3 { // failures keep asking
				for _, b := range bs[:tc.failing] {
					b.ObserveFailure(Fail5xx, now)
					b.ObserveFailure(Fail5xx, now)
				}
			}
			if got := ejectedCount(bs, now); got != tc.want {
				t.Fatalf("%d ejected; want %d", got, tc.want)
			}
			// Once an ejection ends, another failing backend may go.
			if tc.want > 0 && tc.failing > tc.want {
				later := now + 10*sec
				for _, b := range bs[tc.want:tc.failing] {
					b.ObserveFailure(Fail5xx, later)
					b.ObserveFailure(Fail5xx, later)
				}
				if got := ejectedCount(bs, later); got != tc.want {
					t.Errorf("after the returns: %d ejected; want %d", got, tc.want)
				}
				if bs[tc.want].OutlierStatus(later).Ejections != 1 {
					t.Errorf("%s, refused before, not ejected once there was room", bs[tc.want].Name())
				}
			}
		})
	}
}

func TestOutlierSeveralGroups(t *testing.T) {
	// b1 is in a group of 4 (room for 2) and a group of 2 (room for 1)
	// where b2 is ejected already: the small group refuses.
	bs := outlierBackends(4, 1, 10*time.Second, time.Minute)
	big := NewEjectionGroup("big", 50, bs)
	small := NewEjectionGroup("small", 50, bs[:2])
	SetEjectionGroups(bs, []*EjectionGroup{big, small})
	now := 10 * sec
	bs[1].ObserveFailure(FailConnect, now)
	bs[0].ObserveFailure(FailConnect, now)
	if !bs[1].ejectedAt(now) || bs[0].ejectedAt(now) {
		t.Fatalf("b2 ejected %v, b1 ejected %v; want true, false", bs[1].ejectedAt(now), bs[0].ejectedAt(now))
	}
	if got := bs[0].OutlierStatus(now).Refused; got != 1 {
		t.Errorf("b1 Refused = %d; want 1", got)
	}
	bs[2].ObserveFailure(FailConnect, now)
	if !bs[2].ejectedAt(now) {
		t.Error("b3, in the big group only, not ejected")
	}
	// Regrouped without the small group: b1 may go.
	SetEjectionGroups(bs, []*EjectionGroup{NewEjectionGroup("big", 75, bs)})
	bs[0].ObserveFailure(FailConnect, now)
	if !bs[0].ejectedAt(now) {
		t.Error("b1 not ejected once only the big group caps it")
	}
}

func ejectedCount(bs []*Backend, now int64) int {
	n := 0
	for _, b := range bs {
		if !healthyAt(b, now) {
			n++
		}
	}
	return n
}

func TestOutlierAdminOverrides(t *testing.T) {
	b := outlierBackends(1, 1, time.Hour, time.Hour)[0]
	now := time.Now().UnixNano()
	ejectAt(t, b, now)
	if !b.Uneject() || !b.Healthy(nil) {
		t.Fatal("Uneject did not return the backend")
	}
	if b.Uneject() {
		t.Error("Uneject of a backend in service reported an ejection")
	}
	ejectAt(t, b, now)
	b.SetAdminState(AdminHealthy)
	if !b.Healthy(nil) {
		t.Fatal("forced healthy, still ejected")
	}
	b.ObserveFailure(Fail5xx, now)
	if b.OutlierStatus(now).Ejections != 2 || !b.Healthy(nil) {
		t.Error("a backend forced healthy was ejected")
	}
	b.SetAdminState(AdminAuto)
	ejectAt(t, b, now)
	if got := b.OutlierStatus(now).Multiplier; got != 1 {
		t.Errorf("multiplier after Uneject and a new ejection = %d; want 1", got)
	}
}

func TestOutlierDirectorsSkipEjected(t *testing.T) {
	bs := outlierBackends(3, 1, time.Minute, time.Minute)
	rr := NewRoundRobin("rr")
	if err := rr.Replace(asMembers(bs), nil); err != nil {
		t.Fatal(err)
	}
	SetEjectionGroups(bs, []*EjectionGroup{NewEjectionGroup("rr", 50, Leaves(rr))})
	now := time.Now().UnixNano()
	bs[1].ObserveFailure(FailTimeout, now)
	got := counts(rr, 30, func(int) *Request { return &Request{Now: now} })
	if got["o2"] != 0 || got["o1"]+got["o3"] != 30 {
		t.Errorf("picks with o2 ejected: %v", got)
	}
}

func TestLeaves(t *testing.T) {
	bs := testBackends("b", 3)
	inner := NewRoundRobin("inner")
	_ = inner.Replace(asMembers(bs[1:]), nil)
	sm := NewSaintmode("sm", bs[0], 1)
	outer := NewFallback("outer", false)
	_ = outer.Replace([]Member{sm, inner, bs[2]}, nil)
	var names []string
	for _, b := range Leaves(outer) {
		names = append(names, b.Name())
	}
	if got, want := fmt.Sprint(names), "[b1 b2 b3]"; got != want {
		t.Errorf("Leaves = %s; want %s", got, want)
	}
}
