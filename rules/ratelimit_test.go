package rules

import (
	"runtime"
	"testing"
	"time"
)

func TestLimiterBucket(t *testing.T) {
	l, err := NewLimiter(RateLimit{Rate: 10, Burst: 5}) // one token per 100ms
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1e9, 0).UnixNano()
	const key = 42
	for i := range 5 {
		if _, ok := l.allow(0, key, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	wait, ok := l.allow(0, key, now)
	if ok || wait != 1 {
		t.Fatalf("6th: ok=%v retry-after=%d, want refused, 1", ok, wait)
	}
	if _, ok := l.allow(0, key+1, now); !ok {
		t.Fatal("another key was refused")
	}
	if _, ok := l.allow(0, key, now+int64(99*time.Millisecond)); ok {
		t.Fatal("a token came back before its 100ms")
	}
	if _, ok := l.allow(0, key, now+int64(100*time.Millisecond)); !ok {
		t.Fatal("no token after 100ms")
	}
	if _, ok := l.allow(0, key, now+int64(100*time.Millisecond)); ok {
		t.Fatal("two tokens after 100ms")
	}
	// After a long pause the bucket is full again, not fuller.
	later := now + int64(time.Hour)
	for i := range 5 {
		if _, ok := l.allow(0, key, later); !ok {
			t.Fatalf("after an hour, request %d refused", i+1)
		}
	}
	if _, ok := l.allow(0, key, later); ok {
		t.Fatal("bucket holds more than its burst")
	}
	if l.Limited() != 4 {
		t.Errorf("Limited = %d, want 4", l.Limited())
	}
	// Another loop has its own table (the documented per-loop bound).
	if _, ok := l.allow(1, key, later); !ok {
		t.Fatal("loop 1 shares loop 0's bucket")
	}
}

func TestLimiterRetryAfter(t *testing.T) {
	l, _ := NewLimiter(RateLimit{Rate: 1, Per: "1m", Burst: 1})
	now := int64(1e18)
	l.allow(0, 7, now)
	if wait, ok := l.allow(0, 7, now+int64(time.Second)); ok || wait != 59 {
		t.Errorf("retry-after %d ok=%v, want 59", wait, ok)
	}
}

// TestLimiterFlood sends a million distinct keys, one request each,
// through a table of 1024: the memory stays what it was, and the keys
// that emptied their buckets survive the flood (a slot goes to the key
// with the fullest bucket, and each flood key spent one token of ten).
func TestLimiterFlood(t *testing.T) {
	l, err := NewLimiter(RateLimit{Rate: 1, Per: "1h", Burst: 10, MaxKeys: 1024})
	if err != nil {
		t.Fatal(err)
	}
	now := int64(1e18)
	// 64 abusers empty their buckets.
	for k := range uint32(64) {
		for range 10 {
			l.allow(0, k*7919, now)
		}
	}
	slots := len(l.table(0).slots)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for k := range uint32(1_000_000) {
		if _, ok := l.allow(0, 1<<31|k, now); !ok {
			t.Fatalf("new key %d refused", k)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := len(l.table(0).slots); got != slots || slots != 1024 {
		t.Errorf("table has %d slots after the flood, %d before (want 1024)", got, slots)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Errorf("heap grew by %d bytes during the flood", grown)
	}
	still := 0
	for k := range uint32(64) {
		if _, ok := l.allow(0, k*7919, now); !ok {
			still++
		}
	}
	t.Logf("after 1e6 distinct keys: %d of 64 throttled keys still throttled; %d slots with a partly spent bucket were taken", still, l.Evictions())
	if l.Evictions() == 0 {
		t.Error("flood keys pushed each other out uncounted")
	}
	if still != 64 {
		t.Errorf("the flood reset %d of 64 throttled keys", 64-still)
	}
}

func TestLimiterSpecErrors(t *testing.T) {
	for _, s := range []RateLimit{{Rate: 0}, {Rate: 1, Burst: -1}, {Rate: 1, MaxKeys: -1}, {Rate: 1, Per: "-1s"}, {Rate: 1e12, Per: "1ns"}} {
		if _, err := NewLimiter(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
