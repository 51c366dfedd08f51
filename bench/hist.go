package bench

import (
	"math"
	"math/bits"
	"time"
)

// histSub is the number of sub-buckets per power of two: values are kept
// with a relative error below 1/histSub (about 1.6 %).
const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = histSub + 40*histSub // up to 2^46 ns, about 19 hours
)

// Histogram is a log-linear latency histogram in nanoseconds, in the
// manner of HdrHistogram: exact below 64 ns, then 64 buckets per power of
// two. The zero value is empty and ready. It is not safe for concurrent
// use; give each goroutine its own and Merge them.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	i := histSub + shift*histSub + int(v>>shift) - histSub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// histValue returns the midpoint of bucket i.
func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := (i - histSub) / histSub
	mant := uint64(i-histSub-shift*histSub) + histSub
	lo := mant << shift
	return lo + (uint64(1)<<shift)/2
}

// Record adds one observation.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Percentile returns the value below which q percent (0–100) of the
// observations fall, or 0 when the histogram is empty.
func (h *Histogram) Percentile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q / 100 * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max))
		}
	}
	return time.Duration(h.max)
}
