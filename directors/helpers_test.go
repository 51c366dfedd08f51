package directors

import (
	"fmt"
	"math"
	"testing"
)

// testBackends returns n healthy backends named prefix1..prefixN.
func testBackends(prefix string, n int) []*Backend {
	bs := make([]*Backend, n)
	for i := range bs {
		bs[i] = NewBackend(fmt.Sprintf("%s%d", prefix, i+1), BackendConfig{})
	}
	return bs
}

// asMembers converts backends to members.
func asMembers[T Member](xs []T) []Member {
	ms := make([]Member, len(xs))
	for i, x := range xs {
		ms[i] = x
	}
	return ms
}

// keyReq returns a request carrying the bare key k.
func keyReq(k uint32) *Request { return &Request{Key: k, HasKey: true} }

// urlReq returns a request for target on host example.com.
func urlReq(target string) *Request { return &Request{Head: head(target, "example.com")} }

// resolveName resolves r from m and returns the leaf's name, "" for none.
func resolveName(m Member, r *Request) string {
	if b := Resolve(m, r); b != nil {
		return b.Name()
	}
	return ""
}

// counts resolves n requests made by mk and counts the leaves chosen.
func counts(m Member, n int, mk func(i int) *Request) map[string]int {
	c := map[string]int{}
	for i := range n {
		c[resolveName(m, mk(i))]++
	}
	return c
}

// checkShares fails t unless the counts match the wanted shares (name →
// weight, normalised here) within tol of the total, absolute.
func checkShares(t *testing.T, got map[string]int, want map[string]float64, tol float64) {
	t.Helper()
	var total, wsum float64
	for _, n := range got {
		total += float64(n)
	}
	for _, w := range want {
		wsum += w
	}
	for name, w := range want {
		share := float64(got[name]) / total
		if math.Abs(share-w/wsum) > tol {
			t.Errorf("%s got %.4f of picks; want %.4f ± %.2f (counts %v)", name, share, w/wsum, tol, got)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected pick %q: %d times", name, got[name])
		}
	}
}

// mustShard builds a shard over ms or fails t.
func mustShard(t testing.TB, opts ShardOptions, ms ...Member) *Shard {
	t.Helper()
	d, err := NewShard("shard", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Replace(ms, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

// mustKey compiles specs or fails t.
func mustKey(t testing.TB, specs ...string) Key {
	t.Helper()
	k, err := ParseKey(specs)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
