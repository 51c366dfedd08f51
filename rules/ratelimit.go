package rules

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// Limiter is a rate_limit rule's state: a token bucket per key, kept as
// GCRA's theoretical arrival time (one integer per key), in a fixed-size
// table per event loop.
//
// Memory is bounded: each loop's table has room for MaxKeys keys, in sets
// of four; a new key takes the slot of its set whose bucket is fullest
// (the oldest arrival time), which loses nothing when that bucket is full
// anyway. Only when all four keys of a set are being throttled does a new
// key push one out, and that key then starts again with a full bucket: a
// flood of distinct keys cannot grow memory, at worst it lets a
// throttled key through early (counted in Evictions).
//
// Accuracy across loops: a client connection stays on one loop, so a key
// whose connections spread over N loops gets up to N times the rate. A
// single connection (a keep-alive client) is limited exactly.
type Limiter struct {
	spec     RateLimit
	key      directors.Key
	interval int64 // nanoseconds per request at the rate
	tau      int64 // burst × interval
	mask     uint32

	mu     sync.Mutex
	shards atomic.Pointer[[]*limitTable]

	limited, evictions atomic.Uint64
}

const ways = 4

type limitSlot struct {
	key uint32
	tat int64 // 0: free
}

type limitTable struct{ slots []limitSlot }

// NewLimiter compiles a rate_limit spec.
func NewLimiter(s RateLimit) (*Limiter, *Error) {
	l := &Limiter{spec: s}
	keys := s.Key
	if len(keys) == 0 {
		keys = []string{"client_ip"}
	}
	k, err := directors.ParseKey(keys)
	if err != nil {
		return nil, &Error{Path: []string{"key"}, Msg: err.Error()}
	}
	l.key = k
	per := time.Second
	if s.Per != "" {
		d, err := time.ParseDuration(s.Per)
		if err != nil || d <= 0 {
			return nil, &Error{Path: []string{"per"}, Msg: `"` + s.Per + `" is not a positive duration (write e.g. "1s", "1m")`}
		}
		per = d
	}
	if s.Rate <= 0 {
		return nil, &Error{Path: []string{"rate"}, Msg: "must be > 0 requests per " + per.String()}
	}
	l.interval = int64(float64(per) / s.Rate)
	if l.interval <= 0 {
		return nil, &Error{Path: []string{"rate"}, Msg: "is too high for its period"}
	}
	burst := s.Burst
	switch {
	case burst < 0:
		return nil, &Error{Path: []string{"burst"}, Msg: "must be ≥ 0"}
	case burst == 0:
		burst = max(1, int(s.Rate))
	}
	l.tau = int64(burst) * l.interval
	n := s.MaxKeys
	switch {
	case n < 0 || n > 1<<24:
		return nil, &Error{Path: []string{"max_keys"}, Msg: "must be between 1 and 16777216"}
	case n == 0:
		n = 65536
	}
	sets := 1 << bits.Len(uint((n+ways-1)/ways-1)) // a power of two ≥ n/ways
	l.mask = uint32(sets - 1)
	empty := []*limitTable{}
	l.shards.Store(&empty)
	return l, nil
}

// Spec returns the spec l was made from.
func (l *Limiter) Spec() RateLimit { return l.spec }

// Limited returns how many requests l refused.
func (l *Limiter) Limited() uint64 { return l.limited.Load() }

// Evictions returns how many throttled keys lost their bucket to a new
// key (the table was full).
func (l *Limiter) Evictions() uint64 { return l.evictions.Load() }

// table returns the loop's table, making it on the loop's first use.
func (l *Limiter) table(shard int) *limitTable {
	if s := *l.shards.Load(); shard < len(s) && s[shard] != nil {
		return s[shard]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := *l.shards.Load()
	if shard < len(s) && s[shard] != nil {
		return s[shard]
	}
	ns := make([]*limitTable, max(len(s), shard+1))
	copy(ns, s)
	t := &limitTable{slots: make([]limitSlot, int(l.mask+1)*ways)}
	ns[shard] = t
	l.shards.Store(&ns)
	return t
}

// Allow takes a token for c's key. When there is none it reports false
// and the whole seconds until there will be one (at least 1).
func (l *Limiter) Allow(c *Ctx) (retryAfter int, ok bool) {
	h := l.key.Sum(c.DReq, directors.DigestFNV1a)
	return l.allow(c.Shard, h, c.Now)
}

func (l *Limiter) allow(shard int, h uint32, now int64) (int, bool) {
	t := l.table(shard)
	base := int(h&l.mask) * ways
	set := t.slots[base : base+ways : base+ways]
	s := &set[0]
	found := false
	for i := range set {
		if set[i].tat != 0 && set[i].key == h {
			s, found = &set[i], true
			break
		}
		if set[i].tat < s.tat {
			s = &set[i]
		}
	}
	tat := int64(0)
	if found {
		tat = s.tat
	} else if s.tat > now {
		l.evictions.Add(1) // a throttled key loses its state
	}
	tat = max(tat, now) + l.interval
	if wait := tat - l.tau - now; wait > 0 { // never for a newcomer: burst ≥ 1
		l.limited.Add(1)
		return secondsCeil(wait), false
	}
	s.key, s.tat = h, tat
	return 0, true
}

func secondsCeil(ns int64) int {
	return int((ns + int64(time.Second) - 1) / int64(time.Second))
}
