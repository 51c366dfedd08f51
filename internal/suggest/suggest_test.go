package suggest

import (
	"maps"
	"slices"
	"testing"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"abc", "abd", 1}, {"ab", "abc", 1},
		{"kitten", "sitting", 3}, {"", "xyz", 3},
	}
	for _, tc := range tests {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"address", "probe", "max_idle", "max_connections"}
	tests := []struct{ name, want string }{
		{"adress", "address"},
		{"PROBE", "probe"},
		{"max_idel", "max_idle"},
		{"weight", ""},
	}
	for _, tc := range tests {
		if got := Closest(tc.name, slices.Values(known)); got != tc.want {
			t.Errorf("Closest(%q) = %q; want %q", tc.name, got, tc.want)
		}
	}
	// Ties go to the alphabetically first candidate, whatever the order.
	m := map[string]bool{"abd": true, "abc": true}
	if got := Closest("abx", maps.Keys(m)); got != "abc" {
		t.Errorf("tie: %q; want abc", got)
	}
}
