package contrib

import (
	"fmt"
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// testBackends returns n healthy backends named prefix1..prefixN.
func testBackends(prefix string, n int) []*directors.Backend {
	bs := make([]*directors.Backend, n)
	for i := range bs {
		bs[i] = directors.NewBackend(fmt.Sprintf("%s%d", prefix, i+1), directors.BackendConfig{})
	}
	return bs
}

// asMembers converts backends to members.
func asMembers(bs []*directors.Backend) []directors.Member {
	ms := make([]directors.Member, len(bs))
	for i, b := range bs {
		ms[i] = b
	}
	return ms
}

// fill gives d the members bs with weights ws (nil: all 1).
func fill(t testing.TB, d directors.Cluster, bs []*directors.Backend, ws []float64) {
	t.Helper()
	if err := d.Replace(asMembers(bs), ws); err != nil {
		t.Fatal(err)
	}
}

// busy starts n requests on b, as proxy does when it sends one.
func busy(b *directors.Backend, n int) {
	for range n {
		b.Begin()
	}
}

// pick resolves one request from d and returns the leaf's name, "" for
// none.
func pick(d directors.Member) string {
	if b := directors.Resolve(d, &directors.Request{}); b != nil {
		return b.Name()
	}
	return ""
}

// picks resolves n requests and returns the names chosen.
func picks(d directors.Member, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = pick(d)
	}
	return out
}

// tally resolves n requests and counts the leaves chosen.
func tally(d directors.Member, n int) map[string]int {
	c := map[string]int{}
	for range n {
		c[pick(d)]++
	}
	return c
}
