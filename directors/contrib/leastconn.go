package contrib

import (
	"sync/atomic"

	"github.com/shellac-lb/shellac/directors"
)

// LeastConn sends each request to the healthy member with the fewest
// requests in flight per unit of weight (in-flight / weight), as HAProxy's
// leastconn and nginx's least_conn do. Members that tie are taken in turn:
// each resolve starts its scan just after the member chosen last, so tied
// members (idle ones, say) share the requests round-robin. A member's
// in-flight count is directors.Inflight: a backend's own count, or the sum
// over a director's leaves. Weights only matter once requests overlap:
// with one request at a time every member is idle, and they take turns.
//
// Resolve reads the member snapshot and one atomic cursor: no lock, no
// allocation. It looks at every member, so it costs O(members); P2C looks
// at two.
type LeastConn struct {
	directors.Set
	name string
	next atomic.Uint64 // the next scan starts here (mod members): after the last choice
}

// NewLeastConn returns an empty least_conn director.
func NewLeastConn(name string) *LeastConn {
	d := &LeastConn{name: name}
	d.SetOwner(d) // Add and Replace refuse members that would reach d
	return d
}

// newLeastConn is least_conn's factory: it takes no options besides
// members and weights, so any option in the file is refused.
func newLeastConn(name string, _ *directors.Options) (directors.Cluster, error) {
	return NewLeastConn(name), nil
}

// Name returns the director's name.
func (d *LeastConn) Name() string { return d.name }

// Healthy reports whether any member is healthy for r: a director is
// healthy when it could resolve r to a healthy leaf.
func (d *LeastConn) Healthy(r *directors.Request) bool { return d.Load().AnyHealthy(r) }

// Resolve returns the healthy member with the least in-flight / weight,
// or nil when none is healthy.
func (d *LeastConn) Resolve(r *directors.Request) directors.Member {
	sn := d.Load()
	n := len(sn.Members)
	if n == 0 {
		return nil
	}
	m, i := leastLoaded(sn, r, int(d.next.Load()%uint64(n)))
	if m != nil {
		// Concurrent resolves may overwrite each other's cursor: either
		// way the next scan starts after a recent choice.
		d.next.Store(uint64(i) + 1)
	}
	return m
}

// leastLoaded returns the healthy member of sn with the least in-flight /
// weight and its index, scanning from index start and wrapping around;
// the first one found wins a tie. Health is asked only of a member that
// would win, so a scan costs one Inflight per member and few Healthy
// calls.
func leastLoaded(sn *directors.Snapshot, r *directors.Request, start int) (directors.Member, int) {
	var best directors.Member
	var bestN int64
	var bestW float64
	bestI := -1
	n := len(sn.Members)
	for i := 0; i < n; i++ {
		j := start + i
		if j >= n {
			j -= n
		}
		m, w := sn.Members[j], sn.Weights[j]
		in := directors.Inflight(m)
		// in/w < bestN/bestW, without dividing (weights are > 0).
		if best != nil && float64(in)*bestW >= float64(bestN)*w {
			continue
		}
		if m.Healthy(r) {
			best, bestN, bestW, bestI = m, in, w, j
		}
	}
	return best, bestI
}

var (
	_ directors.Cluster   = (*LeastConn)(nil)
	_ directors.Explainer = (*LeastConn)(nil)
)
