// Package directors holds shellac's load-balancing model, after Varnish's
// vmod_directors: leaf Backends, and Directors that pick one of their members
// (a Backend or another Director) for each request. Directors stack: Resolve
// walks the tree until it reaches a leaf.
//
// Everything a request does here — Resolve, Healthy, key hashing — takes no
// lock and allocates nothing. Membership and weight changes build a new
// immutable snapshot that is swapped in atomically (see Set).
//
// The directors are those of docs/spec.md section 3, with Varnish 7.1 semantics:
// RoundRobin, Fallback, Random, Hash, Shard (consistent hashing, with
// Varnish's exact key→backend mapping, plus bounded loads) and Saintmode
// (per-object blacklists). Each is a small pick function over Set, the
// shared membership core. Explain tells what a resolution would give, for
// the admin API. Backends also carry passive health (outlier.go): proxy
// reports each try's outcome, and a backend that fails too many tries in
// a row is ejected for a while, within each director's ejection cap.
//
// It is also the public extension API (docs/writing-a-director.md): a Go
// program adds a director type by embedding Set in a struct with Name,
// Healthy and Resolve and calling Register from an init function, or a
// custom leaf backend type with a Responder and RegisterBackend; the
// configuration file then names the type, and the type's factory checks
// its options (Options). Inflight and Explainer serve load-aware and
// explainable directors. Package directors/contrib holds the built-in
// types written that way: least_conn, p2c and synthetic.
//
// This package knows nothing of gnet or of the configuration file: proxy
// calls it on the request path, and topology builds it from config (which
// asks this package's registry about the types it does not know).
package directors

// Member is a node of the director tree: a leaf *Backend or a Director.
type Member interface {
	// Name returns the member's configured name.
	Name() string
	// Healthy reports whether the member could serve r: for a Backend, its
	// probe/admin state, its connection limit and r's exclusions; for a
	// Director, whether it could resolve r to a healthy leaf. r may be nil
	// (health without a request, as /status reports it).
	Healthy(r *Request) bool
}

// Director is a cluster member: it picks one of its members for a request.
// Implementations must not block, take locks, or allocate in Resolve and
// Healthy; they run on the event loops.
type Director interface {
	Member
	// Resolve returns the member chosen for r, or nil when no member is
	// healthy. The result may itself be a Director; see Resolve.
	Resolve(r *Request) Member
}

// maxDepth bounds how many directors Resolve walks through before giving up.
// Configuration refuses cycles; the bound protects against run-time member
// changes that would create one.
const maxDepth = 16

// Resolve walks the director tree from m until it reaches a leaf backend and
// returns it, or nil when some director on the way had no healthy member.
// Each director visited is recorded in r's path (see Request.Path), so that a
// failure can be reported to every saintmode director on it.
func Resolve(m Member, r *Request) *Backend {
	r.npath = 0
	for depth := 0; depth < maxDepth && m != nil; depth++ {
		switch v := m.(type) {
		case *Backend:
			if !v.Healthy(r) {
				return nil
			}
			return v
		case Director:
			if r.npath < len(r.path) {
				r.path[r.npath] = v
				r.npath++
			}
			m = v.Resolve(r)
		default:
			return nil
		}
	}
	return nil
}
