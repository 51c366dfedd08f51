package directors

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestParseKeyRefuses(t *testing.T) {
	for _, specs := range [][]string{
		{"bogus"}, {"header:"}, {"header"}, {"form:x"}, {"int:bogus"},
		{"int:header:X-A", "url"}, {"url", "int:header:X-A"},
	} {
		if _, err := ParseKey(specs); err == nil {
			t.Errorf("ParseKey(%q) accepted", specs)
		}
	}
	k := mustKey(t, "url", "host", "client_ip", "header:X-A", "cookie:c", "query:q", "sni")
	if got, want := k.String(), "url,host,client_ip,header:X-A,cookie:c,query:q,sni"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

// TestKeySources checks each source and their concatenation: the key is
// the digest of the sources' bytes end to end, a missing one counting as
// the empty string (as Varnish skips empty strands).
func TestKeySources(t *testing.T) {
	r := &Request{
		Head: head("/p/a?q=1&x=2", "example.com",
			"X-A: alpha", "Cookie: a=b; c=cookie-v; d=e"),
		ClientIP: netip.MustParseAddr("::ffff:192.0.2.7"),
		SNI:      []byte("api.example.com"),
	}
	cases := []struct {
		specs []string
		bytes string
	}{
		{[]string{"url"}, "/p/a?q=1&x=2"},
		{[]string{"host"}, "example.com"},
		{[]string{"client_ip"}, "192.0.2.7"},
		{[]string{"header:x-a"}, "alpha"},
		{[]string{"cookie:c"}, "cookie-v"},
		{[]string{"query:x"}, "2"},
		{[]string{"header:X-Missing"}, ""},
		{[]string{"cookie:c", "header:X-A", "query:nope", "host"}, "cookie-valphaexample.com"},
		{[]string{"client_ip", "url"}, "192.0.2.7/p/a?q=1&x=2"},
		{[]string{"sni"}, "api.example.com"},
		{[]string{"sni", "url"}, "api.example.com/p/a?q=1&x=2"},
	}
	for _, c := range cases {
		k := mustKey(t, c.specs...)
		for _, d := range []Digest{DigestSHA256, DigestFNV1a} {
			if got, want := k.Sum(r, d), HashKey([]byte(c.bytes), d); got != want {
				t.Errorf("%v %v: key %08x; want %08x, the hash of %q", c.specs, d, got, want, c.bytes)
			}
		}
	}
	if got := mustKey(t, "url").Sum(&Request{}, DigestSHA256); got != HashKey(nil, DigestSHA256) {
		t.Errorf("no head: key %08x; want the hash of the empty string", got)
	}
	if got := mustKey(t, "url").Sum(keyReq(7), DigestSHA256); got != 7 {
		t.Errorf("bare key: %d; want 7", got)
	}
}

func TestKeyInt(t *testing.T) {
	k := mustKey(t, "int:header:X-Shard")
	for v, want := range map[string]uint32{
		"12345": 12345, "4294967295": 4294967295, "4294967296": 0, "": 0, "12a": 0, "-1": 0,
	} {
		r := &Request{Head: head("/", "h", "X-Shard: "+v)}
		if got := k.Sum(r, DigestSHA256); got != want {
			t.Errorf("int key %q = %d; want %d", v, got, want)
		}
	}
	if got := k.Sum(&Request{Head: head("/", "h")}, DigestSHA256); got != 0 {
		t.Errorf("missing int key = %d; want 0", got)
	}
}

// TestFNVStable pins the FNV-1a digest: it must not change between
// versions or processes, or keys would move. The values were computed
// independently (FNV-1a 64, murmur3 fmix64, xor-fold) in Python.
func TestFNVStable(t *testing.T) {
	for s, want := range map[string]uint32{"": 0x55493646, "key-1000": 0x05d1a59e, "/obj/1000": 0x402ddff3} {
		if got := HashKey([]byte(s), DigestFNV1a); got != want {
			t.Errorf("fnv1a(%q) = %#08x; want %#08x", s, got, want)
		}
	}
}

// TestFNVSpread checks that fnv1a keys of near-identical strings spread
// over the whole ring: the chi-square of their top bytes over 256 buckets
// stays near its 255 degrees of freedom. Plain FNV-1a folded to 32 bits
// scores about 27000 here, hence the finaliser in fnvSum.
func TestFNVSpread(t *testing.T) {
	const n = 100000
	var buckets [256]int
	for i := range n {
		buckets[HashKey(fmt.Appendf(nil, "key-%d", i), DigestFNV1a)>>24]++
	}
	e, chi := float64(n)/256, 0.0
	for _, c := range buckets {
		chi += (float64(c) - e) * (float64(c) - e) / e
	}
	if chi > 350 {
		t.Errorf("chi-square %.0f over 255 degrees of freedom; keys cluster on the ring", chi)
	}
}

// TestShardCookieSticks checks that with by=key on a cookie, every request
// of a session goes to the same member, whatever else differs.
func TestShardCookieSticks(t *testing.T) {
	d := mustShard(t, ShardOptions{By: ByKey, Key: mustKey(t, "cookie:session")}, asMembers(testBackends("s", 5))...)
	seen := map[string]bool{}
	for s := range 50 {
		want := ""
		for i := range 20 {
			r := &Request{Head: head(fmt.Sprintf("/page/%d?x=%d", i, s), "h",
				fmt.Sprintf("Cookie: theme=%d; session=sess-%d", i, s))}
			got := resolveName(d, r)
			if i == 0 {
				want = got
			} else if got != want {
				t.Fatalf("session %d went to %s, then %s", s, want, got)
			}
		}
		seen[want] = true
	}
	if len(seen) < 4 {
		t.Errorf("50 sessions used only %d of 5 members", len(seen))
	}
}
