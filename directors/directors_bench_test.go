package directors

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/http1"
)

// benchDirectors returns one director of each kind over n backends, keyed
// where they hash on the session cookie. The shard variants hash by key.
func benchDirectors(tb testing.TB, n int) []Director {
	bs := asMembers(testBackends("be", n))
	sms := make([]Member, n)
	now := time.Now().UnixNano()
	for i, b := range bs {
		sm := NewSaintmode(fmt.Sprint("sm", i), b, 1000)
		for j := range 8 { // a few unrelated objects blacklisted on each
			sm.Blacklist(objReq(fmt.Sprint("/bad/", j), now), b.(*Backend), time.Hour, now)
		}
		sms[i] = sm
	}
	key := mustKey(tb, "cookie:session")
	rr, fb, fbs := NewRoundRobin("round_robin"), NewFallback("fallback", false), NewFallback("fallback_sticky", true)
	rnd, hash := NewRandom("random"), NewHash("hash", key, DigestSHA256)
	ds := []Director{rr, fb, fbs, rnd, hash}
	for _, d := range ds {
		if err := d.(interface {
			Replace([]Member, []float64) error
		}).Replace(bs, nil); err != nil {
			tb.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		opts ShardOptions
		ms   []Member
	}{
		{"shard", ShardOptions{By: ByKey, Key: key}, bs},
		{"shard_fnv1a", ShardOptions{By: ByKey, Key: key, Digest: DigestFNV1a}, bs},
		{"shard_url", ShardOptions{By: ByURL}, bs},
		{"shard_bound", ShardOptions{By: ByKey, Key: key, Bound: 1.25}, bs},
		{"shard_warmup", ShardOptions{By: ByKey, Key: key, Warmup: 0.1}, bs},
		{"shard_saintmode", ShardOptions{By: ByKey, Key: key}, sms},
	} {
		d, err := NewShard(c.name, c.opts)
		if err != nil {
			tb.Fatal(err)
		}
		if err := d.Replace(c.ms, nil); err != nil {
			tb.Fatal(err)
		}
		ds = append(ds, d)
	}
	return append(ds, sms[0].(*Saintmode))
}

// benchHeads returns parsed heads with distinct URLs and session cookies.
func benchHeads() []*http1.Request {
	hs := make([]*http1.Request, 64)
	for i := range hs {
		hs[i] = head(fmt.Sprintf("/assets/img/%d.png?v=3", i), "www.example.com",
			"User-Agent: bench/1.0", "Accept: */*",
			fmt.Sprintf("Cookie: theme=dark; session=%016x; lang=en", uint64(i)*0x9e3779b97f4a7c15))
	}
	return hs
}

// BenchmarkResolve resolves one request through each director with 3, 16
// and 256 members, the way proxy does: one Request reused per
// connection, reset per request. Each iteration parses nothing; key
// hashing (SHA-256 of the cookie, or of the object for saintmode) is
// included.
func BenchmarkResolve(b *testing.B) {
	hs := benchHeads()
	for _, n := range []int{3, 16, 256} {
		for _, d := range benchDirectors(b, n) {
			b.Run(fmt.Sprintf("%s/%d", d.Name(), n), func(b *testing.B) {
				b.ReportAllocs()
				r := &Request{Scratch: make([]byte, 0, 256)}
				now := time.Now().UnixNano()
				i := 0
				for b.Loop() {
					r.Reset()
					r.Head, r.Now = hs[i&63], now
					if Resolve(d, r) == nil {
						b.Fatal("nothing resolved")
					}
					i++
				}
			})
		}
	}
}

// BenchmarkResolveParallel resolves from every P at once through 16
// members: the directors' shared state (cursors, snapshots, blacklists)
// is read by all of them.
func BenchmarkResolveParallel(b *testing.B) {
	hs := benchHeads()
	for _, d := range benchDirectors(b, 16) {
		b.Run(d.Name(), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := &Request{Scratch: make([]byte, 0, 256)}
				now := time.Now().UnixNano()
				for i := 0; pb.Next(); i++ {
					r.Reset()
					r.Head, r.Now = hs[i&63], now
					Resolve(d, r)
				}
			})
		})
	}
}

// BenchmarkDigest compares the key digests on keys of typical lengths.
func BenchmarkDigest(b *testing.B) {
	for _, n := range []int{16, 64, 256} {
		key := make([]byte, n)
		for i := range key {
			key[i] = byte('a' + i%26)
		}
		for _, d := range []Digest{DigestSHA256, DigestFNV1a} {
			b.Run(fmt.Sprintf("%v/%d", d, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n))
				var sink uint32
				for b.Loop() {
					sink += HashKey(key, d)
				}
				_ = sink
			})
		}
	}
}

// BenchmarkKeySources times extracting and hashing multi-source keys.
func BenchmarkKeySources(b *testing.B) {
	h := benchHeads()[7]
	k := mustKey(b, "client_ip", "header:User-Agent", "cookie:session")
	for _, d := range []Digest{DigestSHA256, DigestFNV1a} {
		b.Run(d.String(), func(b *testing.B) {
			b.ReportAllocs()
			r := &Request{Head: h, ClientIP: netip.MustParseAddr("192.0.2.1"), Scratch: make([]byte, 0, 256)}
			var sink uint32
			for b.Loop() {
				sink += k.Sum(r, d)
			}
			_ = sink
		})
	}
}
