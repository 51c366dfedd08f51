package directors

import "fmt"

// This file holds what concerns the director tree as a whole: cycle
// refusal, and the in-flight counts and health-change times directors
// aggregate from their leaves.

// checkCycle returns ErrCycle when m is the owner or reaches it.
func (s *Set) checkCycle(m Member) error {
	if s.owner != nil && reaches(m, s.owner, 0) {
		return fmt.Errorf("%w: %s in %s", ErrCycle, m.Name(), s.owner.Name())
	}
	return nil
}

// parent is a director that can list its members (every built-in one).
type parent interface {
	Members() []Member
}

// reaches reports whether target is from or below it.
func reaches(from, target Member, depth int) bool {
	if from == target {
		return true
	}
	p, ok := from.(parent)
	if !ok || depth > maxDepth {
		return depth > maxDepth
	}
	for _, c := range p.Members() {
		if reaches(c, target, depth+1) {
			return true
		}
	}
	return false
}

// Inflight returns the requests in flight on all the director's leaves.
func (s *Set) Inflight() int64 {
	var n int64
	for _, m := range s.Load().Members {
		n += inflightOf(m)
	}
	return n
}

// Changed returns the latest health change (Unix nanos) among the members.
func (s *Set) Changed() int64 {
	var c int64
	for _, m := range s.Load().Members {
		c = max(c, changedOf(m))
	}
	return c
}

// Inflight returns the requests in flight on member m: a Backend's own
// count (Backend.Inflight), the sum over the leaves of a director that has
// an Inflight method (every director embedding a Set has one, through
// Set.Inflight, and Saintmode), 0 for a member that cannot tell. Load-aware
// directors (least_conn, p2c) compare their members with it. It takes no
// lock and allocates nothing; for a director member it walks the subtree,
// so its cost grows with the leaves below.
func Inflight(m Member) int64 {
	switch x := m.(type) {
	case *Backend:
		return x.Inflight() // the common case, without an interface lookup
	case interface{ Inflight() int64 }:
		return x.Inflight()
	}
	return 0
}

// inflightOf is Inflight, for the package's own callers.
func inflightOf(m Member) int64 { return Inflight(m) }

// changedOf returns when m's health last changed (Unix nanos), 0 when
// unknown. Shard's rampup reads it.
func changedOf(m Member) int64 {
	if x, ok := m.(interface{ Changed() int64 }); ok {
		return x.Changed()
	}
	return 0
}
