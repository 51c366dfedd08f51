package directors

import (
	"math/rand/v2"
	"testing"
)

// TestShardBoundNoLoad checks that without requests in flight a bounded
// shard maps every key as the unbounded one (and so as Varnish).
func TestShardBoundNoLoad(t *testing.T) {
	ms := asMembers(testBackends("s", 8))
	plain := mustShard(t, ShardOptions{}, ms...)
	bounded := mustShard(t, ShardOptions{Bound: 1.25}, ms...)
	a, b := mapKeys(plain, 100000), mapKeys(bounded, 100000)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("key %d: bounded → %s, unbounded → %s with no load", i, b[i], a[i])
		}
	}
}

// TestShardBoundHotKeys sends a hot key set that the ring puts on one
// member and holds the requests in flight: no member may then exceed
// 1.25 × the average in-flight count, plus one. A second phase ends random
// requests as it goes and checks every assignment against the bound.
func TestShardBoundHotKeys(t *testing.T) {
	const bound = 1.25
	bs := testBackends("s", 8)
	plain := mustShard(t, ShardOptions{}, asMembers(bs)...)
	// Stack a saintmode under the shard for half the members: the bound
	// must see their leaves' in-flight counts through it.
	ms := asMembers(bs)
	for i := 0; i < len(ms); i += 2 {
		ms[i] = NewSaintmode("sm-"+bs[i].Name(), bs[i], 10)
	}
	d := mustShard(t, ShardOptions{Bound: bound}, ms...)

	var hot []uint32 // keys that all land on s1 without a bound
	for k := uint32(0); len(hot) < 16; k += 7919 {
		if resolveName(plain, keyReq(k)) == "s1" {
			hot = append(hot, k)
		}
	}
	check := func(step int, b *Backend) {
		t.Helper()
		var total int64
		for _, x := range bs {
			total += x.Inflight()
		}
		avg := float64(total) / float64(len(bs))
		if l := b.Inflight(); float64(l) > bound*avg+1 {
			t.Fatalf("step %d: %s has %d in flight; bound %.2f × avg %.2f + 1 = %.2f", step, b.Name(), l, bound, avg, bound*avg+1)
		}
	}
	var inflight []*Backend
	for i := range 2000 {
		b := Resolve(d, keyReq(hot[i%len(hot)]))
		b.Begin()
		inflight = append(inflight, b)
		check(i, b)
	}
	for _, b := range bs {
		check(-1, b)
	}
	counts := map[string]int64{}
	for _, b := range bs {
		counts[b.Name()] = b.Inflight()
	}
	t.Logf("in flight after 2000 hot requests: %v", counts)

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		if len(inflight) > 0 && rng.IntN(2) == 0 {
			j := rng.IntN(len(inflight))
			inflight[j].End(false)
			inflight[j] = inflight[len(inflight)-1]
			inflight = inflight[:len(inflight)-1]
			continue
		}
		k := hot[rng.IntN(len(hot))]
		if rng.IntN(4) == 0 {
			k = rng.Uint32() // some cold traffic too
		}
		b := Resolve(d, keyReq(k))
		b.Begin()
		inflight = append(inflight, b)
		check(i, b)
	}
}

// TestShardBoundFallsBack checks that when every member under the bound
// is unhealthy for the request, the key is still served (unbounded).
func TestShardBoundFallsBack(t *testing.T) {
	bs := testBackends("s", 2)
	d := mustShard(t, ShardOptions{Bound: 1}, asMembers(bs)...)
	const key = 12345
	first := Resolve(d, keyReq(key))
	for range 10 {
		first.Begin()
	}
	r := keyReq(key)
	other := bs[0]
	if other == first {
		other = bs[1]
	}
	r.Exclude(other) // the only member under the bound is excluded
	if got := Resolve(d, r); got != first {
		t.Errorf("got %v; want the overloaded %s rather than nothing", got, first.Name())
	}
	if got := Resolve(d, keyReq(key)); got != other {
		t.Errorf("got %v; want %s under the bound", got, other.Name())
	}
}
