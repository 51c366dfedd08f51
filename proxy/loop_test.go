package proxy

import (
	"testing"
	"time"
)

// TestTouchYields checks when touch yields the loop goroutine: only once
// yieldEvery has passed since the last yield, which it then records.
func TestTouchYields(t *testing.T) {
	tests := []struct {
		name      string
		lastYield func(now int64) int64
		yield     bool
	}{
		{"never yielded", func(int64) int64 { return 0 }, true},
		{"yielded two periods ago", func(now int64) int64 { return now - 2*int64(yieldEvery) }, true},
		{"yielded just now", func(now int64) int64 { return now + int64(time.Hour) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &loop{}
			before := tc.lastYield(time.Now().UnixNano())
			l.lastYield = before
			l.touch()
			if l.now == 0 {
				t.Fatal("touch did not set the clock")
			}
			if got := l.lastYield == l.now; got != tc.yield {
				t.Fatalf("yielded = %v, want %v (lastYield %d → %d, now %d)", got, tc.yield, before, l.lastYield, l.now)
			}
			if !tc.yield && l.lastYield != before {
				t.Fatalf("lastYield changed without a yield: %d → %d", before, l.lastYield)
			}
		})
	}
}
