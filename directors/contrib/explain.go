package contrib

import (
	"slices"

	"github.com/shellac-lb/shellac/directors"
)

// Explain returns the member Resolve would choose for r now, without
// moving the cursor, and every member by load (in-flight / weight), the
// least loaded first, ties in the order the next resolve would scan them.
func (d *LeastConn) Explain(r *directors.Request) (directors.Member, []directors.Member) {
	sn := d.Load()
	if len(sn.Members) == 0 {
		return nil, nil
	}
	start := int(d.next.Load() % uint64(len(sn.Members)))
	order := byLoad(sn, start)
	return firstHealthy(order, r), order
}

// Explain returns one draw of Resolve (p2c is random: another request may
// go elsewhere) and every member by load, the least loaded first. The
// draw steps the generator, which no later request can tell.
func (d *P2C) Explain(r *directors.Request) (directors.Member, []directors.Member) {
	sn := d.tab.Load().snap
	return d.Resolve(r), byLoad(sn, 0)
}

// byLoad returns sn's members from index start on, wrapping around, stably
// sorted by in-flight / weight.
func byLoad(sn *directors.Snapshot, start int) []directors.Member {
	n := len(sn.Members)
	type ml struct {
		m    directors.Member
		load float64
	}
	xs := make([]ml, n)
	for i := range xs {
		j := (start + i) % n
		xs[i] = ml{sn.Members[j], float64(directors.Inflight(sn.Members[j])) / sn.Weights[j]}
	}
	slices.SortStableFunc(xs, func(a, b ml) int {
		switch {
		case a.load < b.load:
			return -1
		case a.load > b.load:
			return 1
		}
		return 0
	})
	out := make([]directors.Member, n)
	for i, x := range xs {
		out[i] = x.m
	}
	return out
}

func firstHealthy(ms []directors.Member, r *directors.Request) directors.Member {
	for _, m := range ms {
		if m.Healthy(r) {
			return m
		}
	}
	return nil
}
