package directors

import "sync/atomic"

// Fallback picks the first healthy member in order, as Varnish's
// directors.fallback(). Unweighted.
//
// Without sticky, every resolve starts at the first member, so a member
// that comes back takes its traffic back at once. With sticky, the director
// remembers the member it last chose and keeps using it while it stays
// healthy, even after an earlier member recovers; when it fails, the search
// goes on from there, wrapping around. As in Varnish, "fails" means
// unhealthy for the request at hand (so a retry that excluded the current
// member also moves the cursor), and removing a member keeps the cursor on
// the member it pointed to.
type Fallback struct {
	Set
	name   string
	sticky bool
	cur    atomic.Int64 // sticky: index of the current member
}

// NewFallback returns an empty fallback director.
func NewFallback(name string, sticky bool) *Fallback {
	d := &Fallback{name: name, sticky: sticky}
	d.owner = d
	d.OnChange = d.keepCursor
	return d
}

// Name returns the director's name.
func (d *Fallback) Name() string { return d.name }

// Sticky reports whether the director was created sticky.
func (d *Fallback) Sticky() bool { return d.sticky }

// Healthy reports whether any member is healthy for r.
func (d *Fallback) Healthy(r *Request) bool { return d.Load().AnyHealthy(r) }

// Resolve returns the first healthy member, starting from the first one,
// or, when sticky, from the current one.
func (d *Fallback) Resolve(r *Request) Member {
	sn := d.Load()
	n := len(sn.Members)
	start := 0
	if d.sticky {
		start = int(d.cur.Load())
		if start >= n {
			start = 0
		}
	}
	for i := 0; i < n; i++ {
		j := start + i
		if j >= n {
			j -= n
		}
		if m := sn.Members[j]; m.Healthy(r) {
			if d.sticky && j != start {
				d.cur.Store(int64(j))
			}
			return m
		}
	}
	return nil
}

// cursor returns the index the next resolve starts from.
func (d *Fallback) cursor(n int) int {
	if c := int(d.cur.Load()); d.sticky && c < n {
		return c
	}
	return 0
}

// keepCursor moves the sticky cursor so that it keeps pointing at the same
// member in the new snapshot n; if that member was removed, it points at
// the member that followed it (Varnish vdir_remove_backend). Called under
// the set's writer mutex, before n is published.
func (d *Fallback) keepCursor(n *Snapshot) {
	old := d.Load()
	c := int(d.cur.Load())
	if c >= len(old.Members) {
		d.cur.Store(0)
		return
	}
	for i := c; i < len(old.Members); i++ {
		if j := n.Index(old.Members[i].Name()); j >= 0 {
			d.cur.Store(int64(j))
			return
		}
	}
	d.cur.Store(0)
}

var _ Director = (*Fallback)(nil)
