package directors

import "sync/atomic"

// RoundRobin picks the next healthy member in turn, as Varnish's
// directors.round_robin(). It is unweighted. The cursor is one atomic
// counter, so concurrent resolves from several event loops never lock (where
// Varnish writes its cursor under a read lock).
type RoundRobin struct {
	Set
	name string
	next atomic.Uint64
}

// NewRoundRobin returns an empty round-robin director.
func NewRoundRobin(name string) *RoundRobin {
	d := &RoundRobin{name: name}
	d.owner = d
	return d
}

// Name returns the director's name.
func (d *RoundRobin) Name() string { return d.name }

// Healthy reports whether any member is healthy for r.
func (d *RoundRobin) Healthy(r *Request) bool { return d.Load().AnyHealthy(r) }

// Resolve returns the next healthy member after the last one chosen.
func (d *RoundRobin) Resolve(r *Request) Member {
	sn := d.Load()
	n := uint64(len(sn.Members))
	if n == 0 {
		return nil
	}
	start := d.next.Add(1) - 1
	for i := uint64(0); i < n; i++ {
		m := sn.Members[(start+i)%n]
		if m.Healthy(r) {
			if i > 0 {
				// Skip the cursor past the sick members we stepped over, so
				// the next resolve starts after the one chosen (Varnish).
				d.next.Add(i)
			}
			return m
		}
	}
	return nil
}

var _ Director = (*RoundRobin)(nil)
