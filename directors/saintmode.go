package directors

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/puzpuzpuz/xsync/v3"
)

// maxSaintEntries caps a saintmode director's blacklist; past it, new
// objects are not blacklisted (the threshold normally trips long before).
const maxSaintEntries = 1 << 16

// Saintmode wraps one member and keeps a blacklist of objects (request
// digests, Varnish's object hash) that failed on it, as vmod_saintmode: for
// a blacklisted object the member counts as sick until the entry expires,
// so a director above it picks another member for that object only; once
// threshold objects are blacklisted at the same time, the member counts as
// sick for every request. The count is of distinct objects blacklisted now:
// blacklisting an object again extends its entry (vmod_saintmode adds a
// second one), and an expired entry stops counting at once (vmod_saintmode
// collects them lazily). A threshold of 0 means no such limit (Varnish
// disables the blacklist altogether with 0).
//
// Healthy and Resolve take no lock: the blacklist is an xsync map read
// without locking, and the threshold test is one atomic load of the time
// until which threshold entries stay live. Expired entries count for
// nothing from the moment they expire; they are deleted in small batches
// when new entries are added.
type Saintmode struct {
	name      string
	member    Member
	members   []Member // {member}, for Members
	threshold int

	entries   *xsync.MapOf[[32]byte, int64] // digest → expiry (Unix nanos)
	size      atomic.Int64                  // entries in the map, live or not
	latest    atomic.Int64                  // the latest expiry in the map
	sickUntil atomic.Int64                  // threshold entries are live until then

	mu    sync.Mutex // writers: Blacklist
	top   []int64    // the threshold latest expiries ever added, descending
	queue []saintEntry
}

// saintEntry is an addition to the blacklist, in order, for the lazy sweep.
type saintEntry struct {
	digest  [32]byte
	expires int64
}

// NewSaintmode returns a saintmode director over member.
func NewSaintmode(name string, member Member, threshold int) *Saintmode {
	return &Saintmode{
		name: name, member: member, members: []Member{member}, threshold: max(threshold, 0),
		entries: xsync.NewMapOfWithHasher[[32]byte, int64](func(d [32]byte, seed uint64) uint64 {
			return binary.LittleEndian.Uint64(d[:8]) ^ seed // digests are already uniform
		}),
	}
}

// Name returns the director's name.
func (d *Saintmode) Name() string { return d.name }

// Member returns the wrapped member.
func (d *Saintmode) Member() Member { return d.member }

// Members returns the wrapped member as a one-element list. Do not modify.
func (d *Saintmode) Members() []Member { return d.members }

// Inflight returns the wrapped member's requests in flight.
func (d *Saintmode) Inflight() int64 { return inflightOf(d.member) }

// Changed returns when the wrapped member's health last changed.
func (d *Saintmode) Changed() int64 { return changedOf(d.member) }

// Healthy reports whether the member can take r: fewer than threshold
// objects blacklisted, r's object (r.Digest()) not blacklisted, and the
// member itself healthy. r may be nil (no object).
func (d *Saintmode) Healthy(r *Request) bool {
	now := r.now()
	if now < d.sickUntil.Load() {
		return false
	}
	if r != nil && now < d.latest.Load() {
		if exp, ok := d.entries.Load(*r.Digest()); ok && now < exp {
			return false
		}
	}
	return d.member.Healthy(r)
}

// Resolve returns the member when it is healthy for r, else nil.
func (d *Saintmode) Resolve(r *Request) Member {
	if !d.Healthy(r) {
		return nil
	}
	return d.member
}

// SaintmodeStatus is one saintmode director's state, as vmod_saintmode's
// status() reports it.
type SaintmodeStatus struct {
	Name      string `json:"name"`
	Backend   string `json:"backend"`   // the wrapped member's name
	Count     int    `json:"count"`     // objects blacklisted now (live entries)
	Threshold int    `json:"threshold"` // 0: no threshold
}

// Status returns the director's state at now (Unix nanos). It walks the
// blacklist: for the admin API, not the request path.
func (d *Saintmode) Status(now int64) SaintmodeStatus {
	n := 0
	d.entries.Range(func(_ [32]byte, exp int64) bool {
		if now < exp {
			n++
		}
		return true
	})
	return SaintmodeStatus{Name: d.name, Backend: d.member.Name(), Count: n, Threshold: d.threshold}
}

// Count returns the number of objects blacklisted at now.
func (d *Saintmode) Count(now int64) int { return d.Status(now).Count }

var (
	_ Director    = (*Saintmode)(nil)
	_ Blacklister = (*Saintmode)(nil)
)
