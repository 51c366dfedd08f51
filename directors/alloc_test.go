//go:build !race

package directors

import (
	"net/netip"
	"testing"
	"time"
)

// TestResolveAllocs checks that resolving allocates nothing, for every
// director, once the connection's Request has grown its scratch memory.
func TestResolveAllocs(t *testing.T) {
	hs := benchHeads()
	for _, n := range []int{3, 16, 256, 600} { // 600: the shard walk's bitmap leaves the stack
		ds := benchDirectors(t, n)
		for _, d := range ds {
			r := &Request{ClientIP: netip.MustParseAddr("192.0.2.1")}
			now := time.Now().UnixNano()
			i := 0
			run := func() {
				r.Reset()
				r.Head, r.Now = hs[i&63], now
				if Resolve(d, r) == nil {
					t.Fatalf("%s/%d: nothing resolved", d.Name(), n)
				}
				i++
			}
			run() // grow r.Scratch
			if a := testing.AllocsPerRun(200, run); a != 0 {
				t.Errorf("%s/%d: %v allocations per Resolve; want 0", d.Name(), n, a)
			}
		}
	}
}

// TestKeyAllocs checks every key source kind, and an unhealthy walk.
func TestKeyAllocs(t *testing.T) {
	h := benchHeads()[3]
	k := mustKey(t, "url", "host", "client_ip", "header:User-Agent", "cookie:session", "query:v")
	ik := mustKey(t, "int:header:X-Nope")
	r := &Request{Head: h, ClientIP: netip.MustParseAddr("2001:db8::1"), Scratch: make([]byte, 0, 256)}
	for _, d := range []Digest{DigestSHA256, DigestFNV1a} {
		if a := testing.AllocsPerRun(100, func() { k.Sum(r, d); ik.Sum(r, d) }); a != 0 {
			t.Errorf("%v: %v allocations per key; want 0", d, a)
		}
	}
	bs := testBackends("s", 20)
	d := mustShard(t, ShardOptions{Alt: 2, Healthy: HealthyAll}, asMembers(bs)...)
	for _, b := range bs[:15] {
		b.SetAdminState(AdminSick)
	}
	kr := keyReq(42)
	if a := testing.AllocsPerRun(100, func() { Resolve(d, kr) }); a != 0 {
		t.Errorf("shard walk past sick members: %v allocations; want 0", a)
	}
}
