package directors

import (
	"fmt"
	"strings"
	"testing"
)

// rrSet returns a round-robin director over s1..sN.
func rrSet(t *testing.T, n int) (*RoundRobin, []*Backend) {
	t.Helper()
	bs := testBackends("s", n)
	d := NewRoundRobin("rr")
	if err := d.Replace(asMembers(bs), nil); err != nil {
		t.Fatal(err)
	}
	return d, bs
}

// sequence resolves n requests from m and returns the names, space
// separated ("-" for none).
func sequence(m Member, n int) string {
	var out []string
	for range n {
		name := resolveName(m, &Request{})
		if name == "" {
			name = "-"
		}
		out = append(out, name)
	}
	return strings.Join(out, " ")
}

// TestRoundRobinSequence is directors_b00000: s1..s4 in turn, then again.
func TestRoundRobinSequence(t *testing.T) {
	d, _ := rrSet(t, 4)
	if got, want := sequence(d, 8), "s1 s2 s3 s4 s1 s2 s3 s4"; got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}

func TestRoundRobinSickAndBack(t *testing.T) {
	d, bs := rrSet(t, 3)
	bs[1].SetAdminState(AdminSick)
	if got, want := sequence(d, 4), "s1 s3 s1 s3"; got != want {
		t.Errorf("s2 sick: got %s; want %s", got, want)
	}
	bs[1].SetAdminState(AdminAuto)
	if got := sequence(d, 3); !strings.Contains(got, "s2") {
		t.Errorf("s2 back: got %s; want s2 among them", got)
	}
	for _, b := range bs {
		b.SetProbeHealthy(false)
	}
	if got := sequence(d, 2); got != "- -" {
		t.Errorf("all sick: got %s; want none", got)
	}
	if d.Healthy(nil) {
		t.Error("Healthy with every member sick")
	}
}

func TestRoundRobinAddRemove(t *testing.T) {
	d, _ := rrSet(t, 2)
	if err := d.Add(NewBackend("s3", BackendConfig{}), 1); err != nil {
		t.Fatal(err)
	}
	checkShares(t, counts(d, 3000, func(int) *Request { return &Request{} }),
		map[string]float64{"s1": 1, "s2": 1, "s3": 1}, 0.001)
	if !d.Remove("s1") || d.Remove("nope") {
		t.Fatal("Remove reported the wrong result")
	}
	checkShares(t, counts(d, 3000, func(int) *Request { return &Request{} }),
		map[string]float64{"s2": 1, "s3": 1}, 0.001)
}

func TestRoundRobinDistribution(t *testing.T) {
	for _, n := range []int{3, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d, bs := rrSet(t, n)
			want := map[string]float64{}
			for _, b := range bs {
				want[b.Name()] = 1
			}
			checkShares(t, counts(d, 100000, func(int) *Request { return &Request{} }), want, 0.02)
		})
	}
}
