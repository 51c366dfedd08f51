package contrib

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/shellac-lb/shellac/directors"
)

// P2C is "the power of two random choices" (Mitzenmacher): each request
// draws two distinct members at random, in proportion to their weights,
// and goes to the one with fewer requests in flight per unit of weight,
// as Envoy's least_request and nginx's "random two least_conn" do. Looking
// at two members instead of all keeps a resolve O(1) with equal weights
// (O(log members) with unequal ones) while still steering requests away
// from a slow member, whose requests pile up; and two balancers that draw
// independently do not herd onto the same idle member the way least_conn
// instances can.
//
// When one of the two is unhealthy the other is taken; when both are, the
// least loaded healthy member of all (a least_conn scan from a random
// place). Ties go to the first member drawn.
//
// The draws come from a splitmix64 generator stepped by one atomic add
// per resolve, shared by every event loop: no lock and no allocation.
type P2C struct {
	directors.Set
	name string
	// tab is derived from the membership by rebuild; Resolve reads the
	// snapshot through it, so members and cumulative weights always agree.
	tab atomic.Pointer[p2cTable]
	// The generator's state is written by every resolve: the padding keeps
	// it off the cache line of the snapshot pointers every resolve reads.
	_   [64]byte
	rng atomic.Uint64
}

// p2cTable is one membership snapshot and what the draws need from it.
type p2cTable struct {
	snap *directors.Snapshot
	// cum holds the cumulative weights, cum[i] = w[0]+…+w[i]; nil when all
	// weights are equal and a draw is a plain multiply.
	cum []float64
}

// NewP2C returns an empty p2c director.
func NewP2C(name string) *P2C {
	d := &P2C{name: name}
	d.SetOwner(d)
	d.OnChange = d.rebuild
	d.rebuild(d.Load())
	d.rng.Store(rand.Uint64())
	return d
}

// newP2C is p2c's factory: no options besides members and weights.
func newP2C(name string, _ *directors.Options) (directors.Cluster, error) {
	return NewP2C(name), nil
}

// rebuild derives the draw table from the snapshot sn. The Set calls it
// on every membership change, under its writer mutex.
func (d *P2C) rebuild(sn *directors.Snapshot) {
	t := &p2cTable{snap: sn}
	for _, w := range sn.Weights {
		if w != sn.Weights[0] {
			t.cum = make([]float64, len(sn.Weights))
			acc := 0.0
			for i, w := range sn.Weights {
				acc += w
				t.cum[i] = acc
			}
			break
		}
	}
	d.tab.Store(t)
}

// Name returns the director's name.
func (d *P2C) Name() string { return d.name }

// Healthy reports whether any member is healthy for r.
func (d *P2C) Healthy(r *directors.Request) bool { return d.Load().AnyHealthy(r) }

// Resolve returns the less loaded of two members drawn by weight, or
// another healthy member when both are sick, or nil.
func (d *P2C) Resolve(r *directors.Request) directors.Member {
	t := d.tab.Load()
	sn := t.snap
	switch len(sn.Members) {
	case 0:
		return nil
	case 1:
		if m := sn.Members[0]; m.Healthy(r) {
			return m
		}
		return nil
	}
	x := splitmix64(d.rng.Add(golden))
	i, j := t.draw(x)
	a, b := sn.Members[i], sn.Members[j]
	// Make a the less loaded: in_b/w_b < in_a/w_a, without dividing.
	if float64(directors.Inflight(b))*sn.Weights[i] < float64(directors.Inflight(a))*sn.Weights[j] {
		a, b = b, a
	}
	switch {
	case a.Healthy(r):
		return a
	case b.Healthy(r):
		return b
	}
	m, _ := leastLoaded(sn, r, i)
	return m
}

// draw returns two distinct member indexes drawn from the random x, each
// in proportion to its weight. The table has at least two members.
func (t *p2cTable) draw(x uint64) (i, j int) {
	n := uint64(len(t.snap.Members))
	if t.cum == nil {
		// Equal weights: Lemire's multiply-shift maps 32 random bits onto
		// [0,n) without a division; j skips i.
		i = int((x & 0xffffffff) * n >> 32)
		j = int((x >> 32) * (n - 1) >> 32)
		if j >= i {
			j++
		}
		return i, j
	}
	y := splitmix64(x) // a second, independent draw
	i, j = t.pick(x), t.pick(y)
	if i == j {
		// Drawn twice: take another member uniformly (a small bias
		// toward light members, only on this path).
		j = (i + 1 + int((y&0xffffffff)*(n-1)>>32)) % int(n)
	}
	return i, j
}

// pick maps x onto a member index in proportion to the weights.
func (t *p2cTable) pick(x uint64) int {
	u := float64(x>>11) * 0x1p-53 * t.cum[len(t.cum)-1] // in [0, total)
	// The first i with u < cum[i]: member i covers [cum[i-1], cum[i]).
	lo, hi := 0, len(t.cum)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if u < t.cum[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// golden is splitmix64's increment, 2^64 / φ.
const golden = 0x9e3779b97f4a7c15

// splitmix64 is Steele, Lea and Flood's output mix: the state is a counter
// stepped by golden, and this turns each step into 64 random bits.
func splitmix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

var (
	_ directors.Cluster   = (*P2C)(nil)
	_ directors.Explainer = (*P2C)(nil)
)
