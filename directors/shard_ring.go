package directors

import (
	"cmp"
	"slices"
	"strconv"
)

// ring is a shard director's immutable hash circle, rebuilt on every
// membership change and swapped in atomically.
type ring struct {
	members []Member  // ring member (host) index → member, sorted by ident
	idents  []string  // host → ident
	shares  []float64 // host → number of points, for the load bound
	points  []uint32  // ascending
	hosts   []int32   // host of each point
}

// buildRing builds the circle of snapshot sn as Varnish's
// shardcfg_hashcircle does: member h with weight w owns r = min(⌊replicas ×
// max(w,1)⌋, (2³²−2)/n) points SHA256(ident ‖ decimal j), j = 0..r−1,
// each hashed to 32 bits as shard.key() hashes a string.
//
// The circle is sorted by point. Varnish leaves the order of equal points
// to qsort (in practice, the order backends were added); here ties go to
// the smaller ident, so that the ring — and every key's walk — is the same
// whatever the order of the members. Equal points are rare: ~n²/2³³ by
// chance, plus idents whose concatenations collide ("s1"+"10" = "s11"+"0").
// Members sharing an ident are one ring member: the one whose name sorts
// first, as Varnish ignores a duplicate ident.
func buildRing(sn *Snapshot, idents map[string]string, replicas int) *ring {
	type ent struct {
		m     Member
		ident string
		w     float64
	}
	ents := make([]ent, 0, len(sn.Members))
	for i, m := range sn.Members {
		id := idents[m.Name()]
		if id == "" {
			id = m.Name()
		}
		ents = append(ents, ent{m, id, sn.Weights[i]})
	}
	slices.SortFunc(ents, func(a, b ent) int {
		return cmp.Or(cmp.Compare(a.ident, b.ident), cmp.Compare(a.m.Name(), b.m.Name()))
	})
	ents = slices.CompactFunc(ents, func(a, b ent) bool { return a.ident == b.ident })

	rg := &ring{}
	if len(ents) == 0 {
		return rg
	}
	rmax := (1<<32 - 2) / len(ents)
	type point struct {
		p uint32
		h int32
	}
	var pts []point
	var buf []byte
	for h, e := range ents {
		n := int(float64(replicas) * max(e.w, 1)) // Varnish ignores weights < 1
		n = max(min(n, rmax), 1)
		rg.members = append(rg.members, e.m)
		rg.idents = append(rg.idents, e.ident)
		rg.shares = append(rg.shares, float64(n))
		for j := range n {
			buf = strconv.AppendInt(append(buf[:0], e.ident...), int64(j), 10)
			pts = append(pts, point{sha32(buf), int32(h)})
		}
	}
	// Hosts are numbered in ident order, so (point, host) is (point, ident).
	slices.SortFunc(pts, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.h, b.h))
	})
	rg.points = make([]uint32, len(pts))
	rg.hosts = make([]int32, len(pts))
	for i, p := range pts {
		rg.points[i], rg.hosts[i] = p.p, p.h
	}
	return rg
}

// lookup returns the index of the first point at or above key, or of the
// last point when key is above them all. Varnish does not wrap to the first
// point there (shard_lookup; directors_c00003 pins it with key 2³²−1), and
// neither may we. Among equal points it returns the first.
func (rg *ring) lookup(key uint32) int {
	lo, hi := 0, len(rg.points)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if rg.points[mid] < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(rg.points) {
		lo--
	}
	return lo
}

// order returns the distinct members in the order a walk from key visits
// them (ring order, health ignored), for Explain.
func (rg *ring) order(key uint32) []int {
	if len(rg.points) == 0 {
		return nil
	}
	seen := make([]bool, len(rg.members))
	var out []int
	for i, idx := 0, rg.lookup(key); i < len(rg.points) && len(out) < len(rg.members); i++ {
		if h := int(rg.hosts[idx]); !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
		if idx++; idx == len(rg.points) {
			idx = 0
		}
	}
	return out
}
