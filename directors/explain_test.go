package directors

import (
	"slices"
	"strings"
	"testing"
)

func names(bs []*Backend) string {
	var s []string
	for _, b := range bs {
		s = append(s, b.Name())
	}
	return strings.Join(s, " ")
}

func TestExplainRoundRobinKeepsCursor(t *testing.T) {
	d, bs := rrSet(t, 3)
	resolveName(d, &Request{}) // s1; next is s2
	bs[1].SetAdminState(AdminSick)
	for range 3 {
		chosen, alts, path := Explain(d, &Request{})
		if chosen != bs[2] || names(alts) != "s2 s1" || strings.Join(path, " ") != "rr s3" {
			t.Fatalf("Explain = %v, [%s], %v; want s3, [s2 s1], [rr s3]", chosen, names(alts), path)
		}
	}
	if got := resolveName(d, &Request{}); got != "s3" {
		t.Errorf("after Explain, Resolve → %s; want s3 (cursor untouched)", got)
	}
}

func TestExplainStacked(t *testing.T) {
	bs := testBackends("web", 3)
	rr := NewRoundRobin("pool")
	_ = rr.Replace(asMembers(bs), nil)
	maint := NewBackend("maint", BackendConfig{})
	fb := NewFallback("failover", true)
	_ = fb.Replace([]Member{rr, maint}, nil)
	chosen, alts, path := Explain(fb, &Request{})
	if chosen != bs[0] || names(alts) != "web2 web3 maint" || strings.Join(path, " ") != "failover pool web1" {
		t.Errorf("Explain = %v, [%s], %v", chosen, names(alts), path)
	}
	for _, b := range bs {
		b.SetAdminState(AdminSick)
	}
	chosen, alts, path = Explain(fb, &Request{})
	if chosen != maint || names(alts) != "web1 web2 web3" || strings.Join(path, " ") != "failover maint" {
		t.Errorf("pool down: Explain = %v, [%s], %v", chosen, names(alts), path)
	}
	maint.SetAdminState(AdminSick)
	if chosen, _, path := Explain(fb, &Request{}); chosen != nil || strings.Join(path, " ") != "failover" {
		t.Errorf("all down: Explain = %v, %v; want nil, [failover]", chosen, path)
	}
}

// TestExplainShard checks the ring walk order for a bare key and for a
// request, across a saintmode layer, and the other directors' orders.
func TestExplainShard(t *testing.T) {
	bs := testBackends("s", 3)
	sms := []Member{NewSaintmode("sm1", bs[0], 1), NewSaintmode("sm2", bs[1], 1), NewSaintmode("sm3", bs[2], 1)}
	// Idents s1..s3 give the saintmode layer the ring of directors_c00014.
	d := mustShard(t, ShardOptions{Replicas: 25, Idents: map[string]string{"sm1": "s1", "sm2": "s2", "sm3": "s3"}}, sms...)
	chosen, alts, path := Explain(d, keyReq(192192123))
	if chosen != bs[2] || names(alts) != "s1 s2" || strings.Join(path, " ") != "shard sm3 s3" {
		t.Errorf("Explain = %v, [%s], %v; want s3, [s1 s2], [shard sm3 s3]", chosen, names(alts), path)
	}
	bs[2].SetAdminState(AdminSick)
	chosen, alts, _ = Explain(d, keyReq(192192123))
	if chosen != bs[0] || names(alts) != "s3 s2" {
		t.Errorf("s3 sick: Explain = %v, [%s]; want s1, [s3 s2]", chosen, names(alts))
	}

	h := NewHash("h", Key{}, DigestSHA256)
	_ = h.Replace(asMembers(bs), nil)
	chosen, alts, _ = Explain(h, urlReq("/x"))
	if chosen == nil || len(alts) != 2 || slices.Contains(alts, chosen) {
		t.Errorf("hash: Explain = %v, [%s]", chosen, names(alts))
	}
	rd := NewRandom("r")
	_ = rd.Replace(asMembers(bs), []float64{1, 5, 2})
	if _, alts, _ := Explain(rd, nil); len(alts) < 1 {
		t.Errorf("random: no alternatives")
	}
}
