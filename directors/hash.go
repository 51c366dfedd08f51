package directors

// Hash picks a healthy member by weight at the point its key gives, as
// Varnish's directors.hash(): the key's 32-bit hash (HashKey, SHA-256 by
// default) scaled to [0,1) is mapped onto the cumulative weights of the
// healthy members in order. The same key goes to the same member while the
// membership and health stay the same; unlike shard, any change rescales
// the ranges and moves most keys.
type Hash struct {
	Set
	name   string
	key    Key
	digest Digest
}

// NewHash returns an empty hash director keyed by key (the zero Key hashes
// the request target, "url") under digest d.
func NewHash(name string, key Key, d Digest) *Hash {
	if len(key.srcs) == 0 {
		key = Key{srcs: []keySource{{kind: srcURL}}}
	}
	h := &Hash{name: name, key: key, digest: d}
	h.owner = h
	return h
}

// Name returns the director's name.
func (d *Hash) Name() string { return d.name }

// Key returns the director's key sources.
func (d *Hash) Key() Key { return d.key }

// Healthy reports whether any member is healthy for r.
func (d *Hash) Healthy(r *Request) bool { return d.Load().AnyHealthy(r) }

// Resolve returns the healthy member r's key falls on, or nil.
func (d *Hash) Resolve(r *Request) Member {
	k := d.key.Sum(r, d.digest)
	return d.Load().PickByWeight(float64(k)*0x1p-32, r)
}

var _ Director = (*Hash)(nil)
