package directors

import (
	"fmt"
	"sync"
	"sync/atomic"
)

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
type Set struct {
	mu   sync.Mutex // serialises writers only
	snap atomic.Pointer[Snapshot]
	// OnChange, if set, is called with the new snapshot after every change,
	// under the writer mutex, before it is published. Directors that derive
	// state from membership (a shard ring) rebuild it here.
	OnChange func(s *Snapshot)
}

var emptySnapshot = &Snapshot{}

// Load returns the current snapshot. It never returns nil.
func (s *Set) Load() *Snapshot {
	if p := s.snap.Load(); p != nil {
		return p
	}
	return emptySnapshot
}

// Add adds m with weight w (w <= 0 means 1), or updates the weight of a
// member with the same name. Takes s.mu.
func (s *Set) Add(m Member, w float64) {
	if w <= 0 {
		w = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Load()
	n := &Snapshot{
		Members: append([]Member(nil), old.Members...),
		Weights: append([]float64(nil), old.Weights...),
	}
	found := false
	for i, x := range n.Members {
		if x.Name() == m.Name() {
			n.Members[i], n.Weights[i] = m, w
			found = true
		}
	}
	if !found {
		n.Members = append(n.Members, m)
		n.Weights = append(n.Weights, w)
	}
	s.publish(n)
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

// Replace swaps the whole membership at once. Takes s.mu.
func (s *Set) Replace(members []Member, weights []float64) error {
	if weights != nil && len(weights) != len(members) {
		return fmt.Errorf("directors: %d members but %d weights", len(members), len(weights))
	}
	n := &Snapshot{Members: append([]Member(nil), members...), Weights: make([]float64, len(members))}
	for i := range n.Weights {
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
	var total float64
	for i, m := range sn.Members {
		if m.Healthy(r) {
			total += sn.Weights[i]
		}
	}
	if total <= 0 {
		return nil
	}
	w := u * total
	var acc float64
	for i, m := range sn.Members {
		if !m.Healthy(r) {
			continue
		}
		acc += sn.Weights[i]
		if w < acc {
			return m
		}
	}
	return nil
}
