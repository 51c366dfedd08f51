package directors

import (
	"cmp"
	"slices"
	"time"
)

// Blacklister is a director that can blacklist a (backend, object) pair
// after a failed try, as Varnish's vmod_saintmode does from
// vcl_backend_response.
type Blacklister interface {
	Director
	// Blacklist marks b as sick for r's object (r.Digest()) until now+ttl.
	Blacklist(r *Request, b *Backend, ttl time.Duration, now int64)
}

// Blacklist reports a failed try of r on b to every director on r's last
// resolution path that keeps a blacklist (saintmode), for ttl.
func Blacklist(r *Request, b *Backend, ttl time.Duration, now int64) {
	for _, d := range r.Path() {
		if bl, ok := d.(Blacklister); ok {
			bl.Blacklist(r, b, ttl, now)
		}
	}
}

// Blacklist marks the member sick for r's object until now+ttl, when b is
// the member or comes from below it (Blacklist is only called for the
// directors on the path that resolved b). Blacklisting an object again
// extends its entry. Takes d.mu.
func (d *Saintmode) Blacklist(r *Request, b *Backend, ttl time.Duration, now int64) {
	if _, isDir := d.member.(Director); ttl <= 0 || (!isDir && d.member != Member(b)) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.add(*r.Digest(), now+int64(ttl), now)
}

// SaintEntry is one blacklisted object of a saintmode director: its
// digest and when its entry expires (Unix nanos).
type SaintEntry struct {
	Digest  [32]byte
	Expires int64
}

// Entries returns the entries live at now, in no particular order. It
// walks the blacklist: for saving state, not for the request path.
func (d *Saintmode) Entries(now int64) []SaintEntry {
	var es []SaintEntry
	d.entries.Range(func(dg [32]byte, exp int64) bool {
		if now < exp {
			es = append(es, SaintEntry{dg, exp})
		}
		return true
	})
	return es
}

// Restore adds the entries still live at now, as Blacklist would have
// (an entry that is there already keeps the later expiry). It is how a
// new process takes over the blacklist of the one it replaces. Takes d.mu.
func (d *Saintmode) Restore(es []SaintEntry, now int64) {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b SaintEntry) int { return cmp.Compare(a.Expires, b.Expires) })
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range es { // in expiry order, as the lazy sweep wants
		if e.Expires > now {
			d.add(e.Digest, e.Expires, now)
		}
	}
}

// add blacklists the object dg until exp. Called with d.mu.
func (d *Saintmode) add(dg [32]byte, exp, now int64) {
	d.sweep(now, 16)
	old, ok := d.entries.Load(dg)
	if ok && old >= exp {
		return
	}
	if !ok && d.size.Load() >= maxSaintEntries {
		d.sweepAll(now)
		if d.size.Load() >= maxSaintEntries {
			return
		}
	}
	d.entries.Store(dg, exp)
	if !ok {
		d.size.Add(1)
	}
	d.queue = append(d.queue, saintEntry{dg, exp})
	d.latest.Store(max(d.latest.Load(), exp))
	if d.threshold > 0 {
		d.raise(old, ok && old > now, exp)
	}
}

// raise records that an entry's expiry went from old (when replaced is
// set) to exp in top, the threshold latest expiries, and republishes
// sickUntil, the time until which threshold entries stay live. Expired
// values may linger in top: they are all in the past, so they never make
// the threshold-th latest expiry lie about the future. Called with d.mu.
func (d *Saintmode) raise(old int64, replaced bool, exp int64) {
	if i := slices.Index(d.top, old); replaced && i >= 0 {
		d.top = slices.Delete(d.top, i, i+1)
	}
	i, _ := slices.BinarySearchFunc(d.top, exp, func(e, t int64) int { return cmp.Compare(t, e) })
	d.top = slices.Insert(d.top, i, exp)
	if len(d.top) > d.threshold {
		d.top = d.top[:d.threshold]
	}
	if len(d.top) == d.threshold {
		d.sickUntil.Store(d.top[d.threshold-1])
	}
}

// sweep deletes up to n expired entries from the front of the insertion
// queue. Called with d.mu.
func (d *Saintmode) sweep(now int64, n int) {
	k := 0
	for ; k < len(d.queue) && k < n && d.queue[k].expires <= now; k++ {
		e := d.queue[k]
		if exp, ok := d.entries.Load(e.digest); ok && exp == e.expires {
			d.entries.Delete(e.digest)
			d.size.Add(-1)
		}
	}
	d.queue = d.queue[k:]
}

// sweepAll deletes every expired entry. Called with d.mu, only when the
// blacklist is full.
func (d *Saintmode) sweepAll(now int64) {
	d.entries.Range(func(dg [32]byte, exp int64) bool {
		if exp <= now {
			d.entries.Delete(dg)
			d.size.Add(-1)
		}
		return true
	})
}
