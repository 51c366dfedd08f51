package contrib

import (
	"fmt"
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// benchDirectors returns least_conn, p2c (equal and unequal weights) and,
// as the baseline, the core round_robin, over n backends with a few
// requests in flight on each (0 to 3), so the comparisons are real.
func benchDirectors(tb testing.TB, n int) []directors.Cluster {
	bs := testBackends("be", n)
	ws := make([]float64, n)
	for i, b := range bs {
		busy(b, i%4)
		ws[i] = float64(1 + i%3)
	}
	ds := []directors.Cluster{NewLeastConn("least_conn"), NewP2C("p2c"), NewP2C("p2c_weighted"), directors.NewRoundRobin("round_robin")}
	for i, d := range ds {
		w := []float64(nil)
		if i == 2 {
			w = ws
		}
		fill(tb, d, bs, w)
	}
	return ds
}

// BenchmarkResolve resolves one request through least_conn and p2c with 3,
// 16 and 256 members, as proxy does: one Request per connection, reset
// per request. least_conn reads every member's in-flight count; p2c reads
// two.
func BenchmarkResolve(b *testing.B) {
	for _, n := range []int{3, 16, 256} {
		for _, d := range benchDirectors(b, n) {
			b.Run(fmt.Sprintf("%s/%d", d.Name(), n), func(b *testing.B) {
				b.ReportAllocs()
				r := &directors.Request{}
				for b.Loop() {
					r.Reset()
					if directors.Resolve(d, r) == nil {
						b.Fatal("nothing resolved")
					}
				}
			})
		}
	}
}

// BenchmarkResolveParallel is BenchmarkResolve from every P at once: the
// cursor (least_conn) and generator (p2c) are shared atomics.
func BenchmarkResolveParallel(b *testing.B) {
	for _, n := range []int{16, 256} {
		for _, d := range benchDirectors(b, n) {
			b.Run(fmt.Sprintf("%s/%d", d.Name(), n), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					r := &directors.Request{}
					for pb.Next() {
						r.Reset()
						if directors.Resolve(d, r) == nil {
							b.Error("nothing resolved")
							return
						}
					}
				})
			})
		}
	}
}
