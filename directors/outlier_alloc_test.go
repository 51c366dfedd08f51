//go:build !race

package directors

import (
	"testing"
	"time"
)

// TestOutlierAllocs checks that reporting outcomes, ejecting (within a
// group) and picking around an ejected backend allocate nothing.
func TestOutlierAllocs(t *testing.T) {
	bs := outlierBackends(4, 2, time.Millisecond, time.Millisecond)
	rr := NewRoundRobin("rr")
	if err := rr.Replace(asMembers(bs), nil); err != nil {
		t.Fatal(err)
	}
	SetEjectionGroups(bs, []*EjectionGroup{NewEjectionGroup("rr", 50, bs)})
	r := &Request{}
	now := time.Now().UnixNano()
	run := func() {
		now += int64(time.Millisecond)
		bs[0].ObserveFailure(Fail5xx, now)
		bs[0].ObserveFailure(Fail5xx, now) // ejects; the next run's clock ends it
		bs[1].ObserveSuccess()
		r.Reset()
		r.Now = now
		if Resolve(rr, r) == nil {
			t.Fatal("nothing resolved")
		}
	}
	run()
	if a := testing.AllocsPerRun(200, run); a != 0 {
		t.Errorf("%v allocations per run; want 0", a)
	}
	if bs[0].OutlierStatus(now).Ejections < 100 {
		t.Errorf("only %d ejections: the test did not eject", bs[0].OutlierStatus(now).Ejections)
	}
}
