package directors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// mapKeys returns the member name each of n spread keys maps to.
func mapKeys(d Member, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = resolveName(d, keyReq(uint32(i)*2654435761))
	}
	return out
}

// arcShares returns each member's exact share of the 32-bit key space.
func arcShares(d *Shard) map[string]float64 {
	rg := d.ring.Load()
	out := map[string]float64{}
	prev := uint64(0)
	for i, p := range rg.points {
		out[rg.members[rg.hosts[i]].Name()] += float64(uint64(p)+1-prev) / (1 << 32)
		prev = uint64(p) + 1
	}
	last := rg.members[rg.hosts[len(rg.points)-1]].Name() // keys above the last point: no wrap
	out[last] += float64((1<<32)-prev) / (1 << 32)
	return out
}

func TestShardDistribution(t *testing.T) {
	mk := func(i int) *Request { return urlReq(fmt.Sprintf("/obj/%d", i)) }
	// At 67 replicas the arcs are uneven (Varnish's s1..s3 own 28/32/40 %):
	// picks follow the arcs.
	bs := asMembers(testBackends("s", 3))
	d := mustShard(t, ShardOptions{By: ByURL}, bs...)
	checkShares(t, counts(d, 100000, mk), arcShares(d), 0.01)

	// With many replicas the arcs, and so the picks, follow the weights.
	d, _ = NewShard("w", ShardOptions{By: ByURL, Replicas: 4000})
	for i, b := range bs {
		if err := d.Add(b, float64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s1": 1, "s2": 2, "s3": 3}, 0.02)
}

// TestShardMembershipChanges checks consistency: removing a member moves
// only its keys (and exactly its share), adding one moves keys only onto
// it, and a sick member behaves like a removed one. (Not quite always: if
// the sick member owns the ring's last point, keys above the other
// members' last point walk on to the first point when it is sick, but
// stay on the last point once it is removed — Varnish's no-wrap lookup.
// be5 does not own the last point here.)
func TestShardMembershipChanges(t *testing.T) {
	const n = 100000
	bs := testBackends("be", 10)
	d := mustShard(t, ShardOptions{}, asMembers(bs)...)
	before := mapKeys(d, n)
	share := arcShares(d)["be5"]

	d.Remove("be5")
	removed := mapKeys(d, n)
	moved := 0
	for i := range before {
		if before[i] != removed[i] {
			moved++
			if before[i] != "be5" {
				t.Fatalf("key %d moved from %s to %s though only be5 was removed", i, before[i], removed[i])
			}
		} else if before[i] == "be5" {
			t.Fatalf("key %d still on removed be5", i)
		}
	}
	if f := float64(moved) / n; f < share-0.01 || f > share+0.01 {
		t.Errorf("removing be5 moved %.4f of the keys; want its share %.4f ± 0.01", f, share)
	}
	t.Logf("removing 1 of 10 members moved %.2f%% of the keys (its arc: %.2f%%)", 100*float64(moved)/n, 100*share)

	if err := d.Add(bs[4], 1); err != nil {
		t.Fatal(err)
	}
	for i, name := range mapKeys(d, n) {
		if name != before[i] {
			t.Fatalf("key %d: %s after re-adding be5; want %s", i, name, before[i])
		}
	}

	bs[4].SetProbeHealthy(false)
	for i, name := range mapKeys(d, n) {
		if name != removed[i] {
			t.Fatalf("key %d: %s with be5 sick; want %s as with be5 removed", i, name, removed[i])
		}
	}
	bs[4].SetProbeHealthy(true)

	nb := NewBackend("be11", BackendConfig{})
	if err := d.Add(nb, 1); err != nil {
		t.Fatal(err)
	}
	added := mapKeys(d, n)
	moved = 0
	for i := range before {
		if added[i] != before[i] {
			moved++
			if added[i] != "be11" {
				t.Fatalf("key %d moved from %s to %s though only be11 was added", i, before[i], added[i])
			}
		}
	}
	if f, s := float64(moved)/n, arcShares(d)["be11"]; f < s-0.01 || f > s+0.01 {
		t.Errorf("adding be11 moved %.4f of the keys; want its share %.4f ± 0.01", f, s)
	}
}

// TestShardOrderIndependent checks docs/spec.md section 3: whatever the order of members,
// two shards map every key identically (also with alt and a sick member).
func TestShardOrderIndependent(t *testing.T) {
	bs := testBackends("s", 12)
	ms := asMembers(bs)
	shuffled := append([]Member(nil), ms...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Idents whose concatenations collide ("s1"+"10" = "s11"+"0") give
	// equal points: ties must be ordered the same way too.
	for _, opts := range []ShardOptions{{}, {Alt: 1}, {Alt: 2, Healthy: HealthyAll}} {
		a := mustShard(t, opts, ms...)
		b := mustShard(t, opts, shuffled...)
		bs[3].SetAdminState(AdminSick)
		ka, kb := mapKeys(a, 50000), mapKeys(b, 50000)
		bs[3].SetAdminState(AdminAuto)
		for i := range ka {
			if ka[i] != kb[i] {
				t.Fatalf("alt %d: key %d → %s in one order, %s in another", opts.Alt, i, ka[i], kb[i])
			}
		}
	}
}

func TestShardIdentsAndWeights(t *testing.T) {
	bs := testBackends("b", 4)
	d, _ := NewShard("sh", ShardOptions{Replicas: 10})
	for i, b := range bs {
		if err := d.AddIdent(b, 1, fmt.Sprint("id-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.Ident("b2"); got != "id-1" {
		t.Errorf("Ident(b2) = %s; want id-1", got)
	}
	rg := d.ring.Load()
	if len(rg.points) != 40 || rg.idents[0] != "id-0" {
		t.Errorf("ring: %d points, idents %v", len(rg.points), rg.idents)
	}
	// Two members sharing an ident are one ring member.
	if err := d.AddIdent(bs[1], 1, "id-0"); err != nil {
		t.Fatal(err)
	}
	if rg := d.ring.Load(); len(rg.members) != 3 || len(rg.points) != 30 {
		t.Errorf("duplicate ident: %d ring members, %d points; want 3, 30", len(rg.members), len(rg.points))
	}
	// Weight 2.5 → ⌊10×2.5⌋ points; weights below 1 count as 1.
	d, _ = NewShard("sh", ShardOptions{Replicas: 10})
	_ = d.Add(bs[0], 2.5)
	_ = d.Add(bs[1], 0.3)
	if rg := d.ring.Load(); rg.shares[0] != 25 || rg.shares[1] != 10 {
		t.Errorf("points per member %v; want [25 10]", rg.shares)
	}
}

func TestShardOptionsRefused(t *testing.T) {
	for _, o := range []ShardOptions{{Replicas: -1}, {Alt: -1}, {Warmup: 1.5}, {Warmup: math.NaN()}, {Bound: 0.5}, {Bound: math.NaN()}, {Rampup: -time.Second}} {
		if _, err := NewShard("x", o); err == nil {
			t.Errorf("NewShard(%+v) accepted", o)
		}
	}
	if d := mustShard(t, ShardOptions{}); resolveName(d, keyReq(1)) != "" || d.Healthy(nil) {
		t.Error("an empty shard resolved or is healthy")
	}
}

// TestShardWarmup checks that warmup sends its share of a key's requests
// to the key's next healthy member.
func TestShardWarmup(t *testing.T) {
	bs := testBackends("s", 3)
	d := mustShard(t, ShardOptions{Replicas: 25, Warmup: 0.25}, asMembers(bs)...)
	now := time.Now().UnixNano()
	c := counts(d, 100000, func(int) *Request { return &Request{Key: 1756955383, HasKey: true, Now: now} })
	checkShares(t, c, map[string]float64{"s1": 0.75, "s2": 0.25}, 0.01)
}

// TestShardRampup checks that a member that just became healthy gets a
// growing share of its keys, the rest going to the next healthy member.
func TestShardRampup(t *testing.T) {
	bs := testBackends("s", 3)
	rampup := 100 * time.Second
	d := mustShard(t, ShardOptions{Replicas: 25, Rampup: rampup}, asMembers(bs)...)
	const key = 1756955383 // walk s1 s2 s3
	base := time.Now().UnixNano()
	for _, b := range bs {
		b.changed.Store(base - 10*int64(rampup)) // healthy for long
	}
	bs[0].changed.Store(base) // s1 just came back
	at := func(since time.Duration) map[string]int {
		return counts(d, 100000, func(int) *Request {
			return &Request{Key: key, HasKey: true, Now: base + int64(since)}
		})
	}
	checkShares(t, at(rampup/4), map[string]float64{"s1": 0.25, "s2": 0.75}, 0.01)
	checkShares(t, at(rampup*3/4), map[string]float64{"s1": 0.75, "s2": 0.25}, 0.01)
	checkShares(t, at(rampup), map[string]float64{"s1": 1}, 0)
	// When the alternative ramps up too, the chosen member keeps the key.
	bs[1].changed.Store(base)
	checkShares(t, at(rampup/4), map[string]float64{"s1": 1}, 0)
}
