package directors

import (
	"fmt"
	"testing"
)

func TestHashWeightsAndStability(t *testing.T) {
	bs := testBackends("s", 4)
	d := NewHash("h", mustKey(t, "cookie:session"), DigestSHA256)
	if err := d.Replace(asMembers(bs), []float64{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	mk := func(i int) *Request {
		return &Request{Head: head("/", "h", fmt.Sprintf("Cookie: a=1; session=user-%d; b=2", i))}
	}
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s1": 1, "s2": 2, "s3": 3, "s4": 4}, 0.02)

	// The same key always maps to the same member.
	first := map[int]string{}
	for i := range 1000 {
		first[i] = resolveName(d, mk(i))
	}
	for i := range 1000 {
		if got := resolveName(d, mk(i)); got != first[i] {
			t.Fatalf("key %d moved from %s to %s without a change", i, first[i], got)
		}
	}

	// A sick member's keys go elsewhere (and, the hash director not being
	// consistent, others move too); when it comes back, every key is back.
	bs[0].SetAdminState(AdminSick)
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s2": 2, "s3": 3, "s4": 4}, 0.02)
	bs[0].SetAdminState(AdminAuto)
	for i := range 1000 {
		if got := resolveName(d, mk(i)); got != first[i] {
			t.Fatalf("key %d: %s after recovery; want %s", i, got, first[i])
		}
	}

	d.Remove("s4")
	if err := d.Add(NewBackend("s5", BackendConfig{}), 2); err != nil {
		t.Fatal(err)
	}
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s1": 1, "s2": 2, "s3": 3, "s5": 2}, 0.02)
}

func TestHashFNV1a(t *testing.T) {
	bs := testBackends("s", 3)
	d := NewHash("h", Key{}, DigestFNV1a) // the zero Key hashes the URL
	if err := d.Replace(asMembers(bs), nil); err != nil {
		t.Fatal(err)
	}
	mk := func(i int) *Request { return urlReq(fmt.Sprintf("/obj/%d", i)) }
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s1": 1, "s2": 1, "s3": 1}, 0.02)
	if a, b := resolveName(d, mk(42)), resolveName(d, keyReq(HashKey([]byte("/obj/42"), DigestFNV1a))); a != b {
		t.Errorf("URL key → %s, same bare key → %s", a, b)
	}
}
