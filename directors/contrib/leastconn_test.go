package contrib

import (
	"slices"
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// Idle members tie, and ties go round-robin.
func TestLeastConnIdleRoundRobin(t *testing.T) {
	d := NewLeastConn("lc")
	fill(t, d, testBackends("s", 3), nil)
	got := picks(d, 6)
	want := []string{"s1", "s2", "s3", "s1", "s2", "s3"}
	if !slices.Equal(got, want) {
		t.Errorf("picks = %v; want %v", got, want)
	}
}

// The member with the fewest requests in flight wins, whatever the turn.
func TestLeastConnFewestInflight(t *testing.T) {
	bs := testBackends("s", 3)
	d := NewLeastConn("lc")
	fill(t, d, bs, nil)
	busy(bs[0], 2)
	busy(bs[1], 1)
	busy(bs[2], 3)
	for i := range 5 {
		if got := pick(d); got != "s2" {
			t.Fatalf("pick %d = %s; want s2 (1 in flight, others 2 and 3)", i, got)
		}
	}
	bs[1].Begin() // s1 and s2 tie at 2: they alternate
	got := picks(d, 4)
	if n := len(slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s != "s1" })); n != 2 {
		t.Errorf("picks with s1 and s2 tied = %v; want s1 twice and s2 twice", got)
	}
	if slices.Contains(got, "s3") {
		t.Errorf("picks = %v; s3 has the most in flight", got)
	}
}

// Weights divide the in-flight count: s2 (weight 3) with 5 in flight
// (5/3) beats s1 with 2 (2/1), and loses to it at 6 (2 = 2: a tie) and 7.
func TestLeastConnWeighted(t *testing.T) {
	bs := testBackends("s", 2)
	d := NewLeastConn("lc")
	fill(t, d, bs, []float64{1, 3})
	busy(bs[0], 2)
	busy(bs[1], 5)
	if got := pick(d); got != "s2" {
		t.Errorf("5/3 vs 2/1: picked %s; want s2", got)
	}
	busy(bs[1], 2)
	if got := pick(d); got != "s1" {
		t.Errorf("7/3 vs 2/1: picked %s; want s1", got)
	}
}

// Sick, full and excluded members are skipped, even when least loaded.
func TestLeastConnSkipsUnhealthy(t *testing.T) {
	bs := testBackends("s", 3)
	full := directors.NewBackend("full", directors.BackendConfig{MaxConnections: 1})
	d := NewLeastConn("lc")
	fill(t, d, append(bs, full), nil)
	busy(bs[1], 4)
	busy(bs[2], 4)
	bs[0].SetAdminState(directors.AdminSick)
	busy(full, 1)
	// s1 is sick (0 in flight), full is at max_connections: s2 and s3 tie.
	for i, got := range picks(d, 4) {
		if got != "s2" && got != "s3" {
			t.Fatalf("pick %d = %s; want s2 or s3", i, got)
		}
	}
	r := &directors.Request{}
	r.Exclude(bs[1]) // a retry after a failure on s2
	if b := directors.Resolve(d, r); b != bs[2] {
		t.Errorf("with s2 excluded: %v; want s3", b)
	}
	for _, b := range bs[1:] {
		b.SetAdminState(directors.AdminSick)
	}
	if got := pick(d); got != "" {
		t.Errorf("nothing healthy: picked %q", got)
	}
	if d.Healthy(nil) {
		t.Error("Healthy = true with every member sick or full")
	}
}

// A director member's load is the sum over its leaves.
func TestLeastConnDirectorMembers(t *testing.T) {
	left, right := testBackends("l", 2), testBackends("r", 2)
	a, b := directors.NewRoundRobin("a"), directors.NewRoundRobin("b")
	fill(t, a, left, nil)
	fill(t, b, right, nil)
	d := NewLeastConn("lc")
	if err := d.Replace([]directors.Member{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	busy(left[0], 1)
	busy(left[1], 2) // a: 3 in flight
	busy(right[0], 2)
	if got := pick(d); got != "r1" && got != "r2" {
		t.Errorf("picked %s; want a leaf of b (2 in flight vs 3)", got)
	}
	if err := a.Add(d, 1); err == nil {
		t.Error("adding lc under its own member a: no cycle error")
	}
}

func TestLeastConnEmpty(t *testing.T) {
	d := NewLeastConn("lc")
	if got := d.Resolve(&directors.Request{}); got != nil {
		t.Errorf("empty director resolved %v", got)
	}
}

func TestLeastConnExplain(t *testing.T) {
	bs := testBackends("s", 3)
	d := NewLeastConn("lc")
	fill(t, d, bs, nil)
	busy(bs[0], 3)
	busy(bs[1], 1)
	chosen, alts, _ := directors.Explain(d, &directors.Request{})
	if chosen != bs[2] {
		t.Errorf("Explain chose %v; want s3", chosen)
	}
	if len(alts) != 2 || alts[0] != bs[1] || alts[1] != bs[0] {
		t.Errorf("alternatives %v; want [s2 s1]", alts)
	}
	if got := pick(d); got != "s3" {
		t.Errorf("Resolve after Explain = %s; want s3", got)
	}
}
