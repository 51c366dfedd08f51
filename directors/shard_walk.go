package directors

import "math"

// walk is the state of one walk around a shard ring, after Varnish's
// shard_state: the ring position, the members already visited, and the
// last two members picked. It lives on the stack of Resolve.
type walk struct {
	rg        *ring
	r         *Request
	idx       int // ring position
	pickcount int // members visited
	prev      int // member picked before last, -1 if none
	last      int // member picked last, -1 if none

	bound     float64 // load bound factor; 0 = off
	loadKnown bool    // total and shares below are computed
	total     float64 // in-flight requests over the healthy members
	shareSum  float64 // ring shares of the healthy members
}

// eligible reports whether member c may be picked: healthy for the request
// and, with a bound, not overloaded.
func (w *walk) eligible(c int) bool {
	return w.rg.members[c].Healthy(w.r) && (w.bound == 0 || w.underBound(c))
}

// underBound reports whether member c has fewer requests in flight than
// its bounded-load capacity, ceil(bound × (total+1) × share), where total
// and the shares are over the members healthy without regard to the
// request. A member with nothing in flight is always under; otherwise the
// totals are computed once per walk (O(members)).
func (w *walk) underBound(c int) bool {
	l := inflightOf(w.rg.members[c])
	if l == 0 {
		return true
	}
	if !w.loadKnown {
		w.loadKnown = true
		for i, m := range w.rg.members {
			if m.Healthy(nil) {
				w.total += float64(inflightOf(m))
				w.shareSum += w.rg.shares[i]
			}
		}
	}
	if w.shareSum == 0 {
		return true
	}
	return float64(l) < math.Ceil(w.bound*(w.total+1)*w.rg.shares[c]/w.shareSum)
}

// next walks on from the current position, visiting each member once, and
// returns the member found after skipping skip members, or -1 — Varnish's
// shard_next. With onlyHealthy, members that are not eligible neither count
// toward skip nor are chosen. It records picks in last and prev, and
// visited members in the bitmap seen (a parameter rather than a field, so
// that escape analysis keeps Resolve's stack buffer on the stack).
func (w *walk) next(seen []byte, skip int, onlyHealthy bool) int {
	n := len(w.rg.members)
	chosen := -1
	for w.pickcount < n && skip >= 0 {
		c := int(w.rg.hosts[w.idx])
		if bit := byte(1) << (c & 7); seen[c>>3]&bit == 0 {
			seen[c>>3] |= bit
			w.pickcount++
			toLast, toPrev := false, false
			if w.eligible(c) {
				if skip == 0 {
					chosen, toLast = c, true
				} else {
					toPrev = true
				}
				skip--
			} else if !onlyHealthy {
				if skip == 0 {
					chosen, toLast = c, true
				}
				skip--
			}
			switch {
			case toLast:
				if w.last >= 0 {
					w.prev = w.last
				}
				w.last = c
			case toPrev:
				w.prev = c
			}
			if chosen >= 0 {
				break // the position stays on the chosen member, as in Varnish
			}
		}
		if w.idx++; w.idx == len(w.rg.points) {
			w.idx = 0
		}
	}
	return chosen
}

// pick returns the member for key, or -1 — Varnish's
// sharddir_pick_be_locked. With a bound, a walk that finds no member under
// the bound is done again without it, so an overload never makes a key
// unserved.
func (d *Shard) pick(rg *ring, key uint32, r *Request, seen []byte) int {
	w := walk{rg: rg, r: r, bound: d.opts.Bound}
	h, found := d.walkFrom(&w, seen, key)
	if !found && w.bound != 0 {
		w = walk{rg: rg, r: r}
		h, _ = d.walkFrom(&w, seen, key)
	}
	return h
}

// walkFrom runs one pick on a fresh walk. found is false when the walk ran
// out of members and the result is only the last healthy one seen.
func (d *Shard) walkFrom(w *walk, seen []byte, key uint32) (h int, found bool) {
	n := len(w.rg.members)
	clear(seen[:(n+7)/8])
	w.idx, w.prev, w.last = w.rg.lookup(key), -1, -1
	alt, pol := min(d.opts.Alt, n-1), d.opts.Healthy
	if alt > 0 && w.next(seen, alt-1, pol == HealthyAll) < 0 {
		return w.prev, false
	}
	if w.next(seen, 0, pol != HealthyIgnore) < 0 {
		return w.prev, false
	}
	chosen := w.last
	if alt > 0 || pol == HealthyIgnore || (d.opts.Rampup == 0 && d.opts.Warmup == 0) {
		return chosen, true
	}
	if w.next(seen, 0, true) < 0 {
		return chosen, true // no healthy alternative to ramp or warm
	}
	other := w.last
	now := w.r.now()
	rampup := int64(d.opts.Rampup)
	if since := now - changedOf(w.rg.members[chosen]); since < rampup {
		// The chosen member is ramping up: it keeps the key with
		// probability since/rampup, unless the alternative is ramping too.
		if now-changedOf(w.rg.members[other]) < rampup || d.dice()*float64(rampup) < float64(since) {
			return chosen, true
		}
	} else if d.opts.Warmup == 0 || d.dice() > d.opts.Warmup {
		return chosen, true
	}
	return other, true
}
