//go:build !race

package app

import (
	"sync/atomic"
	"testing"
)

// TestAccessLogRecordDoesNotAllocate: the event loop's side of the access
// log copies a record into a preallocated entry without allocating.
func TestAccessLogRecordDoesNotAllocate(t *testing.T) {
	var dropped atomic.Uint64
	al := stalledAccessLog(&dropped)
	rec := testRecord()
	n := testing.AllocsPerRun(1000, func() {
		al.record(rec)
		al.free <- <-al.queue // what the writer does, minus the writing
	})
	if n != 0 {
		t.Errorf("record: %v allocations; want 0", n)
	}
}
