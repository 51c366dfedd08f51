package proxy

import "testing"

type recHandler struct {
	fired []int64
	then  func()
}

func (r *recHandler) onTimeout(now int64) {
	r.fired = append(r.fired, now)
	if r.then != nil {
		r.then()
	}
}

func TestWheel(t *testing.T) {
	const ms = int64(1e6)
	base := int64(1_700_000_000_000) * ms
	tests := []struct {
		name     string
		deadline int64 // relative to base
		refresh  int64 // if non-zero, set again to this before advancing
		stop     bool
		advance  []int64 // relative times to advance to
		wantFire int64   // relative tick at which it fires; -1 never
	}{
		{"fires after deadline", 50 * ms, 0, false, []int64{40 * ms, 60 * ms}, 60 * ms},
		{"not before deadline", 50 * ms, 0, false, []int64{30 * ms, 45 * ms}, -1},
		{"past deadline fires next tick", -5 * ms, 0, false, []int64{10 * ms}, 10 * ms},
		{"lazy refresh later", 50 * ms, 200 * ms, false, []int64{60 * ms, 150 * ms, 210 * ms}, 210 * ms},
		{"refresh earlier", 500 * ms, 30 * ms, false, []int64{40 * ms}, 40 * ms},
		{"stopped never fires", 50 * ms, 0, true, []int64{100 * ms, 20000 * ms}, -1},
		{"beyond one revolution", 25000 * ms, 0, false, []int64{10240 * ms, 20480 * ms, 24990 * ms, 25010 * ms}, 25010 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w wheel
			w.init(base)
			h := &recHandler{}
			tm := &timer{h: h}
			w.set(tm, base+tc.deadline)
			if tc.refresh != 0 {
				w.set(tm, base+tc.refresh)
			}
			if tc.stop {
				w.stop(tm)
			}
			for _, a := range tc.advance {
				w.advance(base + a)
			}
			switch {
			case tc.wantFire < 0 && len(h.fired) != 0:
				t.Fatalf("fired at %v; want never", h.fired)
			case tc.wantFire >= 0 && (len(h.fired) != 1 || h.fired[0] != base+tc.wantFire):
				t.Fatalf("fired %v; want once at base+%d", h.fired, tc.wantFire)
			}
			if tc.wantFire >= 0 && w.n != 0 {
				t.Fatalf("wheel still counts %d timers", w.n)
			}
		})
	}
}

func TestWheelHandlerRearms(t *testing.T) {
	const ms = int64(1e6)
	var w wheel
	w.init(0)
	a, b := &recHandler{}, &recHandler{}
	ta, tb := &timer{h: a}, &timer{h: b}
	// a's handler stops b (due in the same slot) and re-arms itself.
	a.then = func() {
		w.stop(tb)
		if len(a.fired) == 1 {
			w.set(ta, 100*ms)
		}
	}
	w.set(ta, 20*ms)
	w.set(tb, 20*ms)
	w.advance(30 * ms)
	w.advance(200 * ms)
	if len(a.fired) != 2 || len(b.fired) != 0 {
		t.Fatalf("a fired %d times, b %d; want 2 and 0", len(a.fired), len(b.fired))
	}
	if w.n != 0 {
		t.Fatalf("n = %d; want 0", w.n)
	}
}
