package health

import (
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// TestRestoreWindow: a window saved by one Manager and handed to another
// through Options.Restore gives the backend its verdict at once, instead
// of the Initial results; a window of another size is ignored.
func TestRestoreWindow(t *testing.T) {
	dead := deadAddress(t)
	spec := ProbeSpec{Interval: time.Hour, Window: 8, Threshold: 3, Initial: 0}

	tests := []struct {
		name    string
		saved   WindowState
		given   bool
		healthy bool
		good    int
	}{
		{"none saved: Initial 0 is sick", WindowState{}, false, false, 0},
		{"saved healthy", WindowState{Size: 8, Filled: 0xff, Happy: 0xfe, Recv: 0xfe}, true, true, 7},
		{"saved sick", WindowState{Size: 8, Filled: 0xff, Happy: 0x03}, true, false, 2},
		{"saved with another size", WindowState{Size: 5, Filled: 0x1f, Happy: 0x1f}, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tcpBackend("a", dead)
			var asked *directors.Backend
			m := NewManager(Options{Restore: func(rb *directors.Backend) (WindowState, bool) {
				asked = rb
				return tt.saved, tt.given
			}})
			defer m.Stop()
			if err := m.Set(b, &spec); err != nil {
				t.Fatal(err)
			}
			if asked != b {
				t.Fatalf("Restore asked for %v, want the backend set", asked)
			}
			if b.ProbeHealthy() != tt.healthy {
				t.Fatalf("healthy = %v, want %v", b.ProbeHealthy(), tt.healthy)
			}
			st, _ := m.Status(b)
			if st.Good != tt.good {
				t.Fatalf("good = %d, want %d (%s)", st.Good, tt.good, st.Marks)
			}
			ws, ok := m.Window(b)
			if !ok || ws.Size != 8 {
				t.Fatalf("Window = %+v, %v", ws, ok)
			}
			if tt.given && tt.saved.Size == 8 && ws != tt.saved {
				t.Fatalf("Window = %+v, want the restored %+v", ws, tt.saved)
			}
		})
	}
}

func TestWindowUnprobed(t *testing.T) {
	m := NewManager(Options{})
	defer m.Stop()
	if _, ok := m.Window(tcpBackend("a", "127.0.0.1:1")); ok {
		t.Fatal("Window of an unprobed backend reported ok")
	}
}
