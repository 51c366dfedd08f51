package testutil

import (
	"bytes"
	"sync"
)

// LogBuffer is a bytes.Buffer safe for a logger's goroutines: give it to
// slog.NewTextHandler and read what was logged with String.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
