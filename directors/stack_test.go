package directors

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestStackShardOverSaintmode is the cache set-up of docs/spec.md section 2: a shard over
// saintmode directors over backends. A failed object moves to its ring
// successor alone; once threshold objects fail, every key of the member
// moves, exactly as if it were removed.
func TestStackShardOverSaintmode(t *testing.T) {
	bs := testBackends("app", 4)
	sms := make([]Member, len(bs))
	for i, b := range bs {
		sms[i] = NewSaintmode(b.Name()+"_sm", b, 5)
	}
	d := mustShard(t, ShardOptions{By: ByURL}, sms...)
	now := time.Now().UnixNano()

	r := objReq("/img/1.png", now)
	first := Resolve(d, r)
	if p := r.Path(); len(p) != 2 || p[0] != Director(d) || p[1].Name() != first.Name()+"_sm" {
		t.Fatalf("path %v; want shard, %s_sm", p, first.Name())
	}
	_, alts, _ := Explain(d, objReq("/img/1.png", now))
	Blacklist(r, first, time.Minute, now)
	r.Exclude(first)
	if got := Resolve(d, r); got != alts[0] {
		t.Errorf("retry after blacklisting → %v; want the ring successor %s", got, alts[0].Name())
	}
	if got := Resolve(d, objReq("/img/1.png", now)); got != alts[0] {
		t.Errorf("next request for the object → %v; want %s", got, alts[0].Name())
	}

	// Every other object stays put while first is below its threshold.
	before := map[string]string{}
	for i := range 2000 {
		u := fmt.Sprint("/o/", i)
		before[u] = resolveName(d, objReq(u, now))
	}
	for u, name := range before {
		if got := resolveName(d, objReq(u, now)); got != name {
			t.Fatalf("%s moved from %s to %s", u, name, got)
		}
	}
	// Four more failures: first is sick for everything. Its keys move to
	// their ring successors; no other key moves.
	sm := sms[indexOf(bs, first)].(*Saintmode)
	for i := range 4 {
		sm.Blacklist(objReq(fmt.Sprint("/bad/", i), now), first, time.Minute, now)
	}
	moved := 0
	for u, name := range before {
		got := resolveName(d, objReq(u, now))
		switch {
		case name != first.Name() && got != name:
			t.Fatalf("%s moved from %s to %s", u, name, got)
		case name == first.Name() && (got == name || got == ""):
			t.Fatalf("%s → %q with %s over its threshold", u, got, name)
		case got != name:
			moved++
		}
	}
	if moved == 0 {
		t.Error("no key was on the blacklisted member")
	}
}

// TestStackFallbackOverRoundRobin: a fallback whose first member is a
// round-robin pool and whose second is a maintenance backend.
func TestStackFallbackOverRoundRobin(t *testing.T) {
	bs := testBackends("web", 3)
	rr := NewRoundRobin("web")
	_ = rr.Replace(asMembers(bs), nil)
	maint := NewBackend("maintenance", BackendConfig{})
	fb := NewFallback("failover", false)
	if err := fb.Replace([]Member{rr, maint}, nil); err != nil {
		t.Fatal(err)
	}
	if got := sequence(fb, 6); got != "web1 web2 web3 web1 web2 web3" {
		t.Errorf("healthy pool: %s", got)
	}
	bs[1].SetAdminState(AdminSick)
	if got := sequence(fb, 4); got != "web1 web3 web1 web3" {
		t.Errorf("web2 sick: %s", got)
	}
	for _, b := range bs {
		b.SetAdminState(AdminSick)
	}
	if got := sequence(fb, 2); got != "maintenance maintenance" {
		t.Errorf("pool down: %s", got)
	}
	if !fb.Healthy(nil) || rr.Healthy(nil) {
		t.Error("health does not propagate: want failover healthy, web sick")
	}
	bs[0].SetAdminState(AdminAuto)
	if got := sequence(fb, 2); got != "web1 web1" {
		t.Errorf("web1 back: %s", got)
	}
}

// TestCyclesRefused checks that a director cannot be made to reach itself.
func TestCyclesRefused(t *testing.T) {
	a, b := NewRoundRobin("a"), NewFallback("b", false)
	sm := NewSaintmode("sm", a, 1)
	if err := b.Add(sm, 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(b, 1); !errors.Is(err, ErrCycle) {
		t.Errorf("a → b → sm → a: %v; want ErrCycle", err)
	}
	if err := a.Add(a, 1); !errors.Is(err, ErrCycle) {
		t.Errorf("a → a: %v; want ErrCycle", err)
	}
	s, _ := NewShard("s", ShardOptions{})
	_ = b.Add(s, 1)
	if err := s.Replace([]Member{NewBackend("x", BackendConfig{}), b}, nil); !errors.Is(err, ErrCycle) {
		t.Errorf("s → b → s: %v; want ErrCycle", err)
	}
}
