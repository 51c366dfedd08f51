//go:build !race

package contrib

import (
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// TestResolveAllocs checks that least_conn and p2c resolve without
// allocating, with 3, 16 and 256 members, and when both of p2c's draws
// are sick (the fallback scan).
func TestResolveAllocs(t *testing.T) {
	for _, n := range []int{3, 16, 256} {
		for _, d := range benchDirectors(t, n) {
			r := &directors.Request{}
			if a := testing.AllocsPerRun(500, func() {
				r.Reset()
				if directors.Resolve(d, r) == nil {
					t.Fatalf("%s/%d: nothing resolved", d.Name(), n)
				}
			}); a != 0 {
				t.Errorf("%s/%d: %v allocations per Resolve; want 0", d.Name(), n, a)
			}
		}
	}
	bs := testBackends("s", 8)
	for _, b := range bs[1:] {
		b.SetAdminState(directors.AdminSick)
	}
	d := newTestP2C(t, bs, nil)
	r := &directors.Request{}
	if a := testing.AllocsPerRun(500, func() { directors.Resolve(d, r) }); a != 0 {
		t.Errorf("p2c past sick draws: %v allocations; want 0", a)
	}
}
