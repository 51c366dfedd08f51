package directors

import (
	"crypto/sha256"
	"net/netip"
	"time"

	"github.com/shellac-lb/shellac/http1"
)

// maxTried bounds the backends a request can exclude after failed tries.
const maxTried = 8

// Request is what a director may look at to pick a member. proxy keeps one
// per client connection and resets it for each request, so it is never
// allocated on the request path.
type Request struct {
	// Head is the parsed request head. Its slices point into a connection
	// buffer and are valid only during the call that resolves the request;
	// directors must not retain them.
	Head *http1.Request
	// ClientIP is the client's address (after PROXY protocol, if any).
	ClientIP netip.Addr
	// SNI is the server name the client sent in its TLS handshake (nil
	// for cleartext, or a handshake without one): the "sni" key source.
	SNI []byte
	// Now is the current time in Unix nanoseconds (a coarse clock is fine).
	Now int64
	// Key, when HasKey is set, replaces the key any hash or shard director
	// would compute from Head (the /explain API's bare key).
	Key    uint32
	HasKey bool
	// KeyText, when not nil (and HasKey is not set), is the string every
	// hash and shard director hashes as its key, with its own digest,
	// instead of taking one from Head (the /explain API's string key).
	KeyText []byte

	digest     [32]byte
	haveDigest bool

	tried  [maxTried]*Backend
	ntried int

	path  [maxDepth]Director
	npath int

	// Scratch is reusable memory for building hash keys; directors may
	// append to Scratch[:0] and must not retain it.
	Scratch []byte

	// seen is the shard walk's bitmap of visited members when a ring has
	// more members than fit the walk's stack buffer; kept across Reset.
	seen []byte
}

// Reset prepares r for a new request, keeping its scratch memory.
func (r *Request) Reset() {
	s, seen := r.Scratch[:0], r.seen[:0]
	*r = Request{Scratch: s, seen: seen}
}

// now returns r.Now, or the wall clock when r is nil or has no time.
func (r *Request) now() int64 {
	if r != nil && r.Now != 0 {
		return r.Now
	}
	return time.Now().UnixNano()
}

// Exclude marks b as already tried: b counts as unhealthy for the rest of
// this request, so a retry goes elsewhere. Excluding more than the fixed
// capacity (8) is ignored.
func (r *Request) Exclude(b *Backend) {
	if r.ntried < len(r.tried) {
		r.tried[r.ntried] = b
		r.ntried++
	}
}

// Excluded reports whether b was excluded by Exclude.
func (r *Request) Excluded(b *Backend) bool {
	for i := 0; i < r.ntried; i++ {
		if r.tried[i] == b {
			return true
		}
	}
	return false
}

// Tries returns how many backends were excluded so far (the retry count).
func (r *Request) Tries() int { return r.ntried }

// Path returns the directors the last Resolve walked through, outermost
// first. The slice aliases r and is valid until the next Resolve.
func (r *Request) Path() []Director { return r.path[:r.npath] }

// Digest returns the object hash of the request as Varnish's builtin
// vcl_hash computes it: SHA-256(url ‖ 0x00 ‖ host ‖ 0x00). It is computed
// once per request and cached. Without a Head it is the hash of two empty
// strings.
func (r *Request) Digest() *[32]byte {
	if !r.haveDigest {
		b := r.Scratch[:0]
		if r.Head != nil {
			b = append(b, r.Head.Target...)
			b = append(b, 0)
			b = append(b, r.Head.Host...)
			b = append(b, 0)
		} else {
			b = append(b, 0, 0)
		}
		r.digest = sha256.Sum256(b)
		r.Scratch = b[:0]
		r.haveDigest = true
	}
	return &r.digest
}

// SetDigest sets the object hash explicitly (used when the head is no
// longer available, e.g. on a retry).
func (r *Request) SetDigest(d [32]byte) {
	r.digest = d
	r.haveDigest = true
}
