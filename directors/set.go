package directors

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrCycle is returned when adding a member would make a director reach
// itself.
var ErrCycle = errors.New("directors: member would create a cycle")

// Snapshot is an immutable view of a director's members. Readers load it
// with one atomic pointer read and never lock; writers build a new one.
type Snapshot struct {
	Members []Member
	Weights []float64 // same length as Members; default 1.0
	Total   float64   // sum of Weights
}

// Set is the shared membership core every built-in director embeds, in the
// spirit of Varnish's vdir: it owns adding, removing and weighting members.
// Reads (Load) take no lock and allocate nothing; changes copy the snapshot
// under a mutex and publish it atomically. The zero Set is empty and ready.
//
// Health is not part of the snapshot: each pick asks the members, because
// health depends on the request (the backends a retry excluded, saintmode's
// per-object blacklist). For a Backend that is a few atomic loads.
type Set struct {
	mu   sync.Mutex // serialises writers only
	snap atomic.Pointer[Snapshot]
	// owner is the director embedding the Set, for cycle refusal; nil
	// disables the check.
	owner Member
	// OnChange, if set, is called with the new snapshot after every change,
	// under the writer mutex, before it is published (Load still returns
	// the old one). Directors that derive state from membership (a shard
	// ring, a sticky cursor) rebuild it here.
	OnChange func(s *Snapshot)
}

var emptySnapshot = &Snapshot{}

// SetOwner tells s which director embeds it, so that Add and Replace
// refuse (ErrCycle) a member through which that director would reach
// itself. Call it once, in the director's constructor, before the
// director is shared: NewRoundRobin does d.SetOwner(d). Without it, no
// cycle is refused at run time (configuration files are checked anyway).
func (s *Set) SetOwner(owner Member) { s.owner = owner }

// Load returns the current snapshot. It never returns nil.
func (s *Set) Load() *Snapshot {
	if p := s.snap.Load(); p != nil {
		return p
	}
	return emptySnapshot
}

// Members returns the current members in order. The slice is shared: do
// not modify it.
func (s *Set) Members() []Member { return s.Load().Members }

// Add adds m with weight w (w <= 0 means 1), or replaces the member with the
// same name and updates its weight. It refuses (ErrCycle) a member through
// which the director would reach itself. Takes s.mu.
func (s *Set) Add(m Member, w float64) error {
	if w <= 0 {
		w = 1
	}
	if err := s.checkCycle(m); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Load()
	n := &Snapshot{
		Members: append([]Member(nil), old.Members...),
		Weights: append([]float64(nil), old.Weights...),
	}
	if i := old.Index(m.Name()); i >= 0 {
		n.Members[i], n.Weights[i] = m, w
	} else {
		n.Members = append(n.Members, m)
		n.Weights = append(n.Weights, w)
	}
	s.publish(n)
	return nil
}

// Remove removes the member named name and reports whether it was there.
// Takes s.mu.
func (s *Set) Remove(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Load()
	n := &Snapshot{}
	for i, x := range old.Members {
		if x.Name() == name {
			continue
		}
		n.Members = append(n.Members, x)
		n.Weights = append(n.Weights, old.Weights[i])
	}
	if len(n.Members) == len(old.Members) {
		return false
	}
	s.publish(n)
	return true
}

// Replace swaps the whole membership at once. weights may be nil (all 1);
// a weight <= 0 means 1. Takes s.mu.
func (s *Set) Replace(members []Member, weights []float64) error {
	if weights != nil && len(weights) != len(members) {
		return fmt.Errorf("directors: %d members but %d weights", len(members), len(weights))
	}
	n := &Snapshot{Members: append([]Member(nil), members...), Weights: make([]float64, len(members))}
	seen := make(map[string]bool, len(members))
	for i, m := range members {
		if seen[m.Name()] {
			return fmt.Errorf("directors: member %q listed twice", m.Name())
		}
		seen[m.Name()] = true
		if err := s.checkCycle(m); err != nil {
			return err
		}
		n.Weights[i] = 1
		if weights != nil && weights[i] > 0 {
			n.Weights[i] = weights[i]
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publish(n)
	return nil
}

// publish computes derived fields and stores n. Called with s.mu held.
func (s *Set) publish(n *Snapshot) {
	n.Total = 0
	for _, w := range n.Weights {
		n.Total += w
	}
	if s.OnChange != nil {
		s.OnChange(n)
	}
	s.snap.Store(n)
}

// Index returns the position of the member named name, or -1.
func (sn *Snapshot) Index(name string) int {
	for i, m := range sn.Members {
		if m.Name() == name {
			return i
		}
	}
	return -1
}

// AnyHealthy reports whether any member of the snapshot is healthy for r.
func (sn *Snapshot) AnyHealthy(r *Request) bool {
	for _, m := range sn.Members {
		if m.Healthy(r) {
			return true
		}
	}
	return false
}

// PickByWeight maps u in [0,1) onto the healthy members by weight, exactly
// as Varnish's vdir_pick_be: total T over healthy members in order, then the
// first member whose cumulative weight exceeds u·T. It returns nil when no
// member is healthy.
func (sn *Snapshot) PickByWeight(u float64, r *Request) Member {
	// Health is asked once per member: the answers are kept in a bitmap
	// on the stack (up to 512 members; past that, asked again).
	var bits [8]uint64
	small := len(sn.Members) <= 64*len(bits)
	var total float64
	for i, m := range sn.Members {
		if m.Healthy(r) {
			total += sn.Weights[i]
			if small {
				bits[i>>6] |= 1 << (i & 63)
			}
		}
	}
	if total <= 0 {
		return nil
	}
	w := u * total
	var acc float64
	for i, m := range sn.Members {
		if small && bits[i>>6]&(1<<(i&63)) == 0 || !small && !m.Healthy(r) {
			continue
		}
		acc += sn.Weights[i]
		if w < acc {
			return m
		}
	}
	return nil
}
