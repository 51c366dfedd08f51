package health

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// fast is a probe for tests: a short interval, and a timeout long enough
// that a live backend on a loaded machine answers in time (the tests of
// timeouts set a short one).
func fast(window, threshold, initial int) *ProbeSpec {
	return &ProbeSpec{
		URL:      "/healthz",
		Interval: 20 * time.Millisecond,
		Timeout:  time.Second,
		Window:   window, Threshold: threshold, Initial: initial,
	}
}

// margin is the generous scheduling allowance added to computed bounds, for
// loaded CI machines and the race detector.
const margin = 3 * time.Second

// TestManagerKillAndRevive kills a healthy backend mid-test, checks it turns
// sick within Interval × (Window-Threshold+1) plus Timeout (and a margin),
// then restarts it on the same address and checks it comes back.
func TestManagerKillAndRevive(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			var ch changes
			m := NewManager(Options{OnChange: ch.record})
			defer m.Stop()
			s := startHTTP(t, network, statusHandler(200))
			b := s.backend("app")
			spec := fast(8, 3, 3)
			if err := m.Set(b, spec); err != nil {
				t.Fatal(err)
			}
			if !b.ProbeHealthy() {
				t.Fatal("sick right after Set with initial = threshold")
			}
			eventually(t, margin, "window full of good results", func() bool {
				st, _ := m.Status(b)
				return st.Good == spec.Window
			})

			s.kill()
			sick := eventually(t, margin, "sick after kill", func() bool { return !b.ProbeHealthy() })
			bound := spec.Interval*time.Duration(spec.Window-spec.Threshold+1) + spec.Timeout
			st, _ := m.Status(b)
			t.Logf("sick %v after kill (bound %v + margin): %s %s, last error %q", sick, bound, st, st.Marks, st.LastError)
			if sick > bound+margin {
				t.Errorf("sick after %v; want within %v", sick, bound+margin)
			}
			if st.Healthy || st.Good != spec.Threshold-1 {
				t.Errorf("status after flip = %s; want %d/%d bad", st, spec.Threshold-1, spec.Window)
			}

			s.start()
			back := eventually(t, margin, "healthy after restart", func() bool { return b.ProbeHealthy() })
			bound = spec.Interval * time.Duration(spec.Threshold)
			st, _ = m.Status(b)
			t.Logf("healthy %v after restart (bound %v + margin): %s %s", back, bound, st, st.Marks)
			if back > bound+margin {
				t.Errorf("healthy after %v; want within %v", back, bound+margin)
			}

			got := ch.list()
			if len(got) != 2 || got[0].Healthy || !got[1].Healthy || got[0].Backend != b {
				t.Fatalf("OnChange calls = %+v; want sick then healthy for %s", got, b.Name())
			}
			if got[0].Status.Healthy || got[0].Status.LastError == "" {
				t.Errorf("sick change status = %+v; want sick with an error", got[0].Status)
			}
		})
	}
}

// TestManagerInitialAtThreshold: a backend whose probe starts with Initial ≥
// Threshold is healthy before any probe ran — here a dead one, which the
// probes then turn sick.
func TestManagerInitialAtThreshold(t *testing.T) {
	m := NewManager(Options{})
	defer m.Stop()
	b := tcpBackend("dead", deadAddress(t))
	b.SetProbeHealthy(false) // Set must write the initial verdict itself
	if err := m.Set(b, fast(4, 2, 5)); err != nil {
		t.Fatal(err)
	}
	if !b.ProbeHealthy() {
		t.Fatal("sick right after Set with initial ≥ threshold; want healthy")
	}
	eventually(t, margin, "dead backend sick", func() bool { return !b.ProbeHealthy() })
	st, _ := m.Status(b)
	if st.Probes < 3 {
		t.Errorf("sick after %d probes; want at least 3 (window 4, threshold 2, initial 2)", st.Probes)
	}
}

// TestManagerInitialBelowThreshold: with Initial < Threshold a live backend
// is sick until Threshold-Initial good probes ran.
func TestManagerInitialBelowThreshold(t *testing.T) {
	tests := []struct {
		name       string
		initial    int
		wantProbes uint64
	}{
		{"initial 0", 0, 3},
		{"initial 1", 1, 2},
		{"default initial", InitialDefault, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch changes
			m := NewManager(Options{OnChange: ch.record})
			defer m.Stop()
			s := startHTTP(t, "tcp", statusHandler(200))
			b := s.backend("app")
			if err := m.Set(b, fast(8, 3, tt.initial)); err != nil {
				t.Fatal(err)
			}
			if b.ProbeHealthy() {
				t.Fatal("healthy right after Set with initial < threshold; want sick")
			}
			eventually(t, margin, "healthy", func() bool { return b.ProbeHealthy() })
			got := ch.list()
			if len(got) != 2 || got[0].Healthy || !got[1].Healthy {
				t.Fatalf("OnChange calls = %+v; want sick (at Set) then healthy", got)
			}
			// Healthy as soon as the window holds Threshold good results:
			// after Threshold-Initial good probes, plus any that failed on
			// a loaded machine (they show in the marks).
			st := got[1].Status
			failed := uint64(len(st.Marks)) - uint64(strings.Count(st.Marks, "H")+strings.Count(st.Marks, "."))
			if st.Good != 3 || st.Probes != tt.wantProbes+failed {
				t.Errorf("healthy at %s %s after %d probes; want 3 good after %d good probes", st, st.Marks, st.Probes, tt.wantProbes)
			}
		})
	}
}

func TestManagerHangingBackendTurnsSick(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // accepts, never answers
	m := NewManager(Options{})
	defer m.Stop()
	b := tcpBackend("hang", addr)
	spec := fast(3, 2, 2)
	spec.Timeout = 100 * time.Millisecond
	if err := m.Set(b, spec); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, margin, "hanging backend sick", func() bool { return !b.ProbeHealthy() })
	st, _ := m.Status(b)
	t.Logf("sick after %v: %s %s, last error %q", took, st, st.Marks, st.LastError)
	if st.LastOutcome != OutcomeRecvError {
		t.Errorf("last outcome = %v; want %v", st.LastOutcome, OutcomeRecvError)
	}
}

func TestManagerWrongStatusTurnsSick(t *testing.T) {
	m := NewManager(Options{})
	defer m.Stop()
	s := startHTTP(t, "tcp", statusHandler(500))
	b := s.backend("app")
	if err := m.Set(b, fast(3, 2, 2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, margin, "500 backend sick", func() bool { return !b.ProbeHealthy() })
	st, _ := m.Status(b)
	if st.LastStatus != 500 || st.Marks != "HRR" && st.Marks != "RRR" {
		t.Errorf("status = %+v; want last status 500 and R marks", st)
	}
}

// TestManagerSetSameSpecKeepsState: a reload that sets the same spec keeps
// the prober and its window; a changed spec starts over.
func TestManagerSetSameSpecKeepsState(t *testing.T) {
	m := NewManager(Options{})
	defer m.Stop()
	s := startHTTP(t, "tcp", statusHandler(200))
	b := s.backend("app")
	spec := fast(8, 3, InitialDefault)
	spec.Request = nil
	if err := m.Set(b, spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, margin, "3 probes", func() bool { st, _ := m.Status(b); return st.Probes >= 3 })
	m.mu.Lock()
	p := m.probers[b]
	m.mu.Unlock()

	again := *spec // a new value, as a reload decodes it
	if err := m.Set(b, &again); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	same := m.probers[b] == p
	m.mu.Unlock()
	if st, _ := m.Status(b); !same || st.Probes < 3 || !b.ProbeHealthy() {
		t.Fatalf("after Set with the same spec: same prober %v, %d probes, healthy %v; want the running prober kept",
			same, st.Probes, b.ProbeHealthy())
	}

	changed := *spec
	changed.Interval = time.Hour
	if err := m.Set(b, &changed); err != nil {
		t.Fatal(err)
	}
	st, _ := m.Status(b)
	if st.Probes != 0 || st.Marks != "......HH" || b.ProbeHealthy() {
		t.Fatalf("after Set with a new spec: %+v, healthy %v; want a fresh window from initial", st, b.ProbeHealthy())
	}
	if !p.exited() {
		t.Error("replaced prober still running")
	}
}

// TestManagerRemove: removing a probe stops it and makes the backend healthy.
func TestManagerRemove(t *testing.T) {
	var ch changes
	m := NewManager(Options{OnChange: ch.record})
	defer m.Stop()
	s := startHTTP(t, "tcp", statusHandler(503))
	b := s.backend("app")
	if err := m.Set(b, fast(4, 2, 0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, margin, "2 probes", func() bool { return s.hits.Load() >= 2 })
	m.Remove(b)
	if !b.ProbeHealthy() {
		t.Error("sick after Remove; want healthy (no probe)")
	}
	if _, ok := m.Status(b); ok {
		t.Error("Status found a removed probe")
	}
	if got := ch.list(); len(got) != 2 || !got[1].Healthy {
		t.Errorf("OnChange calls = %+v; want sick then healthy", got)
	}
	hits := s.hits.Load()
	time.Sleep(10 * 20 * time.Millisecond)
	if h := s.hits.Load(); h != hits {
		t.Errorf("%d probes after Remove; want none", h-hits)
	}
	m.Remove(b) // again: nothing
	if err := m.Set(b, nil); err != nil {
		t.Errorf("Set(nil) = %v", err)
	}
}

// TestManagerGoneBackendStops: a backend removed from the configuration
// (SetGone) is no longer probed.
func TestManagerGoneBackendStops(t *testing.T) {
	m := NewManager(Options{})
	defer m.Stop()
	s := startHTTP(t, "tcp", statusHandler(200))
	b := s.backend("app")
	if err := m.Set(b, fast(8, 3, 3)); err != nil {
		t.Fatal(err)
	}
	eventually(t, margin, "a probe", func() bool { return s.hits.Load() >= 1 })
	b.SetGone()
	m.mu.Lock()
	p := m.probers[b]
	m.mu.Unlock()
	eventually(t, margin, "prober exit", p.exited)
	hits := s.hits.Load()
	time.Sleep(10 * 20 * time.Millisecond)
	if h := s.hits.Load(); h != hits {
		t.Errorf("%d probes after SetGone; want none", h-hits)
	}
	if _, ok := m.Status(b); !ok {
		t.Error("Status of a gone backend lost before Remove")
	}
}

func TestManagerStop(t *testing.T) {
	m := NewManager(Options{})
	s := startHTTP(t, "tcp", statusHandler(200))
	var ps []*prober
	for range 5 {
		b := s.backend("app")
		if err := m.Set(b, fast(8, 3, 3)); err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		ps = append(ps, m.probers[b])
		m.mu.Unlock()
	}
	if n := len(m.Probed()); n != 5 {
		t.Fatalf("Probed() has %d backends; want 5", n)
	}
	m.Stop()
	for i, p := range ps {
		if !p.exited() {
			t.Errorf("prober %d still running after Stop", i)
		}
	}
	if err := m.Set(s.backend("late"), fast(8, 3, 3)); !errors.Is(err, ErrStopped) {
		t.Errorf("Set after Stop = %v; want ErrStopped", err)
	}
	m.Stop() // twice is fine
}

func TestManagerSetErrors(t *testing.T) {
	m := NewManager(Options{})
	defer m.Stop()
	synth := directors.NewResponderBackend("synth", nil)
	if err := m.Set(synth, fast(8, 3, 3)); !errors.Is(err, ErrNoAddress) {
		t.Errorf("Set on a responder backend = %v; want ErrNoAddress", err)
	}
	bad := fast(8, 9, 3)
	if err := m.Set(tcpBackend("a", "127.0.0.1:1"), bad); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("Set with threshold > window = %v; want ErrInvalidSpec", err)
	} else {
		t.Log(err)
	}
}

// TestManagerConcurrent exercises Set, Remove and Status from several
// goroutines at once, for the race detector.
func TestManagerConcurrent(t *testing.T) {
	m := NewManager(Options{OnChange: func(c Change) { _ = c.Status.String() }})
	defer m.Stop()
	s := startHTTP(t, "tcp", func(w http.ResponseWriter, r *http.Request) {
		if time.Now().UnixNano()%2 == 0 {
			w.WriteHeader(500)
		}
	})
	bs := []*directors.Backend{s.backend("a"), s.backend("b"), s.backend("c")}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				b := bs[(g+i)%len(bs)]
				switch i % 4 {
				case 0:
					m.Set(b, fast(4, 2, i%3))
				case 1:
					m.Set(b, fast(4, 2, 1))
				case 2:
					m.Status(b)
				case 3:
					if i%8 == 3 {
						m.Remove(b)
					}
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
}

func TestJitter(t *testing.T) {
	const interval = time.Second
	lo, hi := interval, time.Duration(0)
	for range 1000 {
		j := jitter(interval)
		if j < 0 || j >= interval {
			t.Fatalf("jitter(%v) = %v; want in [0, %v)", interval, j, interval)
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo > interval/4 || hi < 3*interval/4 {
		t.Errorf("1000 jitters span [%v, %v]; want spread over the interval", lo, hi)
	}
}
