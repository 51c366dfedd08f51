package contrib

import (
	"math"
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// newTestP2C returns a p2c director over bs with weights ws and a fixed
// seed, so the draws are the same on every run.
func newTestP2C(t testing.TB, bs []*directors.Backend, ws []float64) *P2C {
	d := NewP2C("p2c")
	d.rng.Store(42)
	fill(t, d, bs, ws)
	return d
}

// checkShares fails unless each backend's share of n picks is within tol
// (absolute) of its wanted share.
func checkShares(t *testing.T, got map[string]int, n int, want map[string]float64, tol float64) {
	t.Helper()
	for name, w := range want {
		if s := float64(got[name]) / float64(n); math.Abs(s-w) > tol {
			t.Errorf("%s: share %.3f; want %.3f ± %.3f (%v)", name, s, w, tol, got)
		}
	}
}

// With every member idle, the first member drawn wins: the shares follow
// the draws, uniform with equal weights and by weight otherwise.
func TestP2CIdleShares(t *testing.T) {
	const n = 30000
	d := newTestP2C(t, testBackends("s", 4), nil)
	checkShares(t, tally(d, n), n, map[string]float64{"s1": .25, "s2": .25, "s3": .25, "s4": .25}, .02)

	d = newTestP2C(t, testBackends("s", 3), []float64{1, 2, 5})
	checkShares(t, tally(d, n), n, map[string]float64{"s1": .125, "s2": .25, "s3": .625}, .02)
}

// Of the two members drawn, the one with fewer requests in flight (per
// unit of weight) wins: with two members that is always the less loaded.
func TestP2CPicksLessLoaded(t *testing.T) {
	bs := testBackends("s", 2)
	d := newTestP2C(t, bs, nil)
	busy(bs[0], 1)
	for i, got := range picks(d, 100) {
		if got != "s2" {
			t.Fatalf("pick %d = %s; want s2 (s1 has 1 in flight)", i, got)
		}
	}
	d = newTestP2C(t, bs, []float64{4, 1}) // s1: 1/4 < s2: 1/1
	busy(bs[1], 1)
	for i, got := range picks(d, 100) {
		if got != "s1" {
			t.Fatalf("weighted pick %d = %s; want s1", i, got)
		}
	}
}

// The most loaded of n members is never chosen: it loses every pair.
// The least loaded one wins every pair it is drawn in, about 2/n of them.
func TestP2CAvoidsMostLoaded(t *testing.T) {
	const n = 20000
	bs := testBackends("s", 5)
	d := newTestP2C(t, bs, nil)
	for i, b := range bs {
		busy(b, i+1) // s1: 1 ... s5: 5
	}
	got := tally(d, n)
	if got["s5"] != 0 {
		t.Errorf("s5 (most loaded) picked %d times", got["s5"])
	}
	// s1 wins whenever drawn: P = 1 - C(4,2)/C(5,2) = 0.4.
	checkShares(t, got, n, map[string]float64{"s1": .4, "s2": .3, "s3": .2, "s4": .1}, .02)
}

// A sick member drawn loses to the other; when both drawn are sick, the
// least loaded healthy member of all is taken; with none, nil.
func TestP2CSkipsUnhealthy(t *testing.T) {
	bs := testBackends("s", 4)
	d := newTestP2C(t, bs, nil)
	bs[0].SetAdminState(directors.AdminSick)
	bs[1].SetAdminState(directors.AdminSick)
	bs[2].SetAdminState(directors.AdminSick)
	busy(bs[3], 7)
	for i, got := range picks(d, 200) {
		if got != "s4" {
			t.Fatalf("pick %d = %s; want s4, the only healthy member", i, got)
		}
	}
	bs[3].SetAdminState(directors.AdminSick)
	if got := pick(d); got != "" {
		t.Errorf("nothing healthy: picked %q", got)
	}
	if d.Healthy(nil) {
		t.Error("Healthy = true with every member sick")
	}
}

func TestP2CSmall(t *testing.T) {
	d := NewP2C("p2c")
	if got := d.Resolve(&directors.Request{}); got != nil {
		t.Errorf("empty director resolved %v", got)
	}
	bs := testBackends("s", 1)
	fill(t, d, bs, nil)
	if got := pick(d); got != "s1" {
		t.Errorf("one member: picked %q", got)
	}
	bs[0].SetAdminState(directors.AdminSick)
	if got := pick(d); got != "" {
		t.Errorf("one sick member: picked %q", got)
	}
}

// Membership changes rebuild the draw table with the snapshot.
func TestP2CMembershipChanges(t *testing.T) {
	bs := testBackends("s", 3)
	d := newTestP2C(t, bs[:2], []float64{1, 3})
	if err := d.Add(bs[2], 1); err != nil {
		t.Fatal(err)
	}
	if tab := d.tab.Load(); tab.snap != d.Load() || len(tab.cum) != 3 || tab.cum[2] != 5 {
		t.Errorf("after Add: table %+v for snapshot %+v", tab, d.Load())
	}
	d.Remove("s2")
	if tab := d.tab.Load(); tab.snap != d.Load() || tab.cum != nil {
		t.Errorf("after Remove (equal weights left): table %+v", tab)
	}
	if got := tally(d, 1000); got["s2"] != 0 || got["s1"] == 0 || got["s3"] == 0 {
		t.Errorf("after Remove: %v", got)
	}
}

// The weighted draw maps [0,1) onto cumulative weights exactly.
func TestP2CPick(t *testing.T) {
	tab := &p2cTable{cum: []float64{1, 3, 6}}
	for _, c := range []struct {
		u    float64
		want int
	}{{0, 0}, {0.16, 0}, {0.17, 1}, {0.4, 1}, {0.5, 2}, {0.99, 2}} {
		x := uint64(c.u*(1<<53)) << 11
		if got := tab.pick(x); got != c.want {
			t.Errorf("pick(%v) = %d; want %d", c.u, got, c.want)
		}
	}
	if got := tab.pick(math.MaxUint64); got != 2 {
		t.Errorf("pick(max) = %d; want 2", got)
	}
}

// Two draws are always distinct members.
func TestP2CDrawDistinct(t *testing.T) {
	for _, ws := range [][]float64{nil, {1, 1e6}, {5, 1, 1}} {
		d := newTestP2C(t, testBackends("s", max(2, len(ws))), ws)
		tab := d.tab.Load()
		for k := range uint64(5000) {
			i, j := tab.draw(splitmix64(k * golden))
			if i == j || i < 0 || j < 0 || i >= len(tab.snap.Members) || j >= len(tab.snap.Members) {
				t.Fatalf("weights %v: draw = %d, %d", ws, i, j)
			}
		}
	}
}
