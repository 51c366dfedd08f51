package directors

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Shard is Varnish's consistent-hashing shard director: each member owns
// Replicas×weight points SHA256(ident ‖ decimal j) on a 32-bit ring, a key
// goes to the member of the first point at or above it, and the walk on
// from there gives the ordered alternatives used for failover, alt, rampup
// and warmup. Its key→member mapping is Varnish 7.1's bit for bit, and does
// not depend on the order members were added in.
type Shard struct {
	Set
	name string
	opts ShardOptions
	ring atomic.Pointer[ring]

	idMu   sync.Mutex        // guards idents
	idents map[string]string // name → ident

	rnd func() float64 // [0,1) for rampup/warmup dice; nil: rand.Float64
}

// NewShard returns an empty shard director.
func NewShard(name string, opts ShardOptions) (*Shard, error) {
	switch {
	case opts.Replicas < 0:
		return nil, fmt.Errorf("directors: shard %s: replicas %d < 0", name, opts.Replicas)
	case opts.Alt < 0:
		return nil, fmt.Errorf("directors: shard %s: alt %d < 0", name, opts.Alt)
	case !(opts.Warmup <= 1): // NaN too
		return nil, fmt.Errorf("directors: shard %s: warmup %g: want a probability 0..1, or -1", name, opts.Warmup)
	case !(opts.Bound == 0 || opts.Bound >= 1):
		return nil, fmt.Errorf("directors: shard %s: bound %g: want 0 (off) or at least 1", name, opts.Bound)
	case opts.Rampup < 0:
		return nil, fmt.Errorf("directors: shard %s: rampup %v < 0", name, opts.Rampup)
	}
	if opts.Replicas == 0 {
		opts.Replicas = DefaultReplicas
	}
	opts.Warmup = max(opts.Warmup, 0)
	d := &Shard{name: name, opts: opts, idents: maps.Clone(opts.Idents)}
	if d.idents == nil {
		d.idents = map[string]string{}
	}
	d.opts.Idents = nil
	d.owner = d
	d.OnChange = d.rebuild
	d.ring.Store(&ring{})
	return d, nil
}

// Name returns the director's name.
func (d *Shard) Name() string { return d.name }

// Options returns the director's options (Replicas filled in, Idents
// omitted; see Ident).
func (d *Shard) Options() ShardOptions { return d.opts }

// AddIdent adds m with weight w, as Add, under ring identity ident ("" is
// the member's name). Takes the set's writer mutex.
func (d *Shard) AddIdent(m Member, w float64, ident string) error {
	d.idMu.Lock()
	if ident == "" {
		delete(d.idents, m.Name())
	} else {
		d.idents[m.Name()] = ident
	}
	d.idMu.Unlock()
	return d.Add(m, w)
}

// Ident returns the ring identity of the member named name.
func (d *Shard) Ident(name string) string {
	d.idMu.Lock()
	defer d.idMu.Unlock()
	if id := d.idents[name]; id != "" {
		return id
	}
	return name
}

// rebuild builds the ring of snapshot n. Called under the set's mutex.
func (d *Shard) rebuild(n *Snapshot) {
	d.idMu.Lock()
	ids := maps.Clone(d.idents)
	d.idMu.Unlock()
	d.ring.Store(buildRing(n, ids, d.opts.Replicas))
}

// Healthy reports whether any member on the ring is healthy for r.
func (d *Shard) Healthy(r *Request) bool {
	for _, m := range d.ring.Load().members {
		if m.Healthy(r) {
			return true
		}
	}
	return false
}

// Resolve returns the member r's key maps to, or nil when the walk finds
// none.
func (d *Shard) Resolve(r *Request) Member {
	rg := d.ring.Load()
	if len(rg.members) == 0 {
		return nil
	}
	var buf [64]byte // visited bitmap for up to 512 members, on the stack
	seen := buf[:]
	if w := (len(rg.members) + 7) / 8; w > len(buf) {
		r.seen = append(r.seen[:0], make([]byte, w)...)
		seen = r.seen
	}
	if h := d.pick(rg, d.KeyOf(r), r, seen); h >= 0 {
		return rg.members[h]
	}
	return nil
}

// KeyOf returns the 32-bit ring key of r.
func (d *Shard) KeyOf(r *Request) uint32 {
	if r.HasKey {
		return r.Key
	}
	if r.KeyText != nil && d.opts.By != ByKey {
		return HashKey(r.KeyText, d.opts.Digest)
	}
	switch d.opts.By {
	case ByURL:
		var t []byte
		if r.Head != nil {
			t = r.Head.Target
		}
		return HashKey(t, d.opts.Digest)
	case ByKey:
		return d.opts.Key.Sum(r, d.opts.Digest)
	}
	if d.opts.Digest == DigestFNV1a {
		h := uint64(fnvOffset)
		if r.Head != nil {
			h = fnvAdd(fnvAdd(fnvAdd(h, r.Head.Target), []byte{0}), r.Head.Host)
		}
		return fnvSum(fnvAdd(h, []byte{0}))
	}
	return binary.BigEndian.Uint32(r.Digest()[:4])
}

// dice returns a number in [0,1) for the rampup and warmup draws.
func (d *Shard) dice() float64 {
	if d.rnd != nil {
		return d.rnd()
	}
	return rand.Float64()
}

var _ Director = (*Shard)(nil)
