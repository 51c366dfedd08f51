package bench

import (
	"math"
	"testing"
	"time"
)

func TestHistogramBucketsRoundTrip(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 20, 123456789, 1 << 40} {
		i := histIndex(v)
		if i < prev {
			t.Errorf("histIndex(%d) = %d < histIndex of a smaller value (%d)", v, i, prev)
		}
		prev = i
		got := histValue(i)
		if rel := math.Abs(float64(got)-float64(v)) / math.Max(float64(v), 1); rel > 1.0/histSub {
			t.Errorf("histValue(histIndex(%d)) = %d; relative error %.4f > %.4f", v, got, rel, 1.0/histSub)
		}
	}
}

func TestHistogramPercentiles(t *testing.T) {
	var a, b Histogram
	// 1..1000 µs, split over two histograms and merged.
	for i := 1; i <= 1000; i++ {
		h := &a
		if i%2 == 0 {
			h = &b
		}
		h.Record(time.Duration(i) * time.Microsecond)
	}
	a.Merge(&b)
	if a.Count() != 1000 {
		t.Fatalf("count = %d; want 1000", a.Count())
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{50, 500 * time.Microsecond}, {99, 990 * time.Microsecond}, {99.9, 999 * time.Microsecond}, {100, 1000 * time.Microsecond}} {
		got := a.Percentile(tc.q)
		if d := math.Abs(float64(got-tc.want)) / float64(tc.want); d > 0.02 {
			t.Errorf("p%v = %v; want %v within 2%%", tc.q, got, tc.want)
		}
	}
	var empty Histogram
	if p := empty.Percentile(99); p != 0 {
		t.Errorf("empty p99 = %v; want 0", p)
	}
}
