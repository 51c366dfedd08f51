package directors

import "math/rand/v2"

// Random picks a healthy member at random, in proportion to its weight, as
// Varnish's directors.random(). The draw comes from math/rand/v2's
// per-thread generator: no lock, no allocation.
type Random struct {
	Set
	name string
	// rnd returns a number in [0,1); nil means rand.Float64. Tests replace
	// it with Varnish's seeded test generator.
	rnd func() float64
}

// NewRandom returns an empty random director.
func NewRandom(name string) *Random {
	d := &Random{name: name}
	d.owner = d
	return d
}

// Name returns the director's name.
func (d *Random) Name() string { return d.name }

// Healthy reports whether any member is healthy for r.
func (d *Random) Healthy(r *Request) bool { return d.Load().AnyHealthy(r) }

// Resolve returns a healthy member drawn by weight, or nil.
func (d *Random) Resolve(r *Request) Member {
	u := 0.0
	if d.rnd != nil {
		u = d.rnd()
	} else {
		u = rand.Float64()
	}
	return d.Load().PickByWeight(u, r)
}

var _ Director = (*Random)(nil)
