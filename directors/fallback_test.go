package directors

import "testing"

func fallbackSet(t *testing.T, sticky bool, n int) (*Fallback, []*Backend) {
	t.Helper()
	bs := testBackends("s", n)
	d := NewFallback("fb", sticky)
	if err := d.Replace(asMembers(bs), nil); err != nil {
		t.Fatal(err)
	}
	return d, bs
}

// TestFallbackFailBack is directors_b00001: without sticky, the first
// healthy member in order wins, and a recovered member takes over again.
func TestFallbackFailBack(t *testing.T) {
	d, bs := fallbackSet(t, false, 3)
	steps := []struct {
		do   func()
		want string
	}{
		{func() {}, "s1"},
		{func() { bs[0].SetAdminState(AdminSick); bs[1].SetAdminState(AdminSick) }, "s3"},
		{func() { bs[1].SetAdminState(AdminAuto) }, "s2"},
		{func() { bs[0].SetAdminState(AdminAuto) }, "s1"},
	}
	for i, s := range steps {
		s.do()
		if got := resolveName(d, &Request{}); got != s.want {
			t.Errorf("step %d: got %s; want %s", i, got, s.want)
		}
	}
}

// TestFallbackSticky is directors_b00004: sticky keeps the current member
// after an earlier one recovers, and wraps around.
func TestFallbackSticky(t *testing.T) {
	d, bs := fallbackSet(t, true, 3)
	steps := []struct {
		do   func()
		want string
	}{
		{func() {}, "s1"},
		{func() { bs[0].SetAdminState(AdminSick) }, "s2"},
		{func() { bs[1].SetAdminState(AdminSick) }, "s3"},
		{func() { bs[0].SetAdminState(AdminAuto) }, "s3"},
		{func() { bs[1].SetAdminState(AdminAuto) }, "s3"},
		{func() { bs[2].SetAdminState(AdminSick) }, "s1"},
		{func() { bs[2].SetAdminState(AdminAuto) }, "s1"},
	}
	for i, s := range steps {
		s.do()
		for range 3 {
			if got := resolveName(d, &Request{}); got != s.want {
				t.Errorf("step %d: got %s; want %s", i, got, s.want)
			}
		}
	}
}

// TestFallbackStickyRemove is directors_b00005: removing members keeps the
// cursor on the member it pointed to, or the one after a removed one.
func TestFallbackStickyRemove(t *testing.T) {
	d, bs := fallbackSet(t, true, 4)
	bs[0].SetAdminState(AdminSick)
	bs[1].SetAdminState(AdminSick)
	if got := resolveName(d, &Request{}); got != "s3" {
		t.Fatalf("got %s; want s3", got)
	}
	bs[0].SetAdminState(AdminAuto)
	bs[1].SetAdminState(AdminAuto)
	d.Remove("s1") // before the cursor
	if got := resolveName(d, &Request{}); got != "s3" {
		t.Errorf("after removing s1: got %s; want s3", got)
	}
	d.Remove("s3") // the cursor itself: the next member takes over
	if got := resolveName(d, &Request{}); got != "s4" {
		t.Errorf("after removing s3: got %s; want s4", got)
	}
	d.Remove("s4") // fell off the end: back to the start
	if got := resolveName(d, &Request{}); got != "s2" {
		t.Errorf("after removing s4: got %s; want s2", got)
	}
}

func TestFallbackAddAndDistribution(t *testing.T) {
	d, bs := fallbackSet(t, false, 2)
	bs[0].SetAdminState(AdminSick)
	bs[1].SetAdminState(AdminSick)
	if got := resolveName(d, &Request{}); got != "" {
		t.Errorf("all sick: got %s; want none", got)
	}
	if err := d.Add(NewBackend("s3", BackendConfig{}), 1); err != nil {
		t.Fatal(err)
	}
	checkShares(t, counts(d, 100000, func(int) *Request { return &Request{} }), map[string]float64{"s3": 1}, 0.02)
	bs[1].SetAdminState(AdminAuto)
	checkShares(t, counts(d, 100000, func(int) *Request { return &Request{} }), map[string]float64{"s2": 1}, 0.02)
}
