package health

import (
	"strings"
	"testing"
)

// outcomes maps marks back to outcomes, so test cases read as windows.
func outcomes(marks string) []Outcome {
	var os []Outcome
	for _, c := range marks {
		switch c {
		case 'H':
			os = append(os, OutcomeGood)
		case 'R':
			os = append(os, OutcomeBadStatus)
		case 'r':
			os = append(os, OutcomeRecvError)
		case 'x':
			os = append(os, OutcomeWriteError)
		case '-':
			os = append(os, OutcomeConnectError)
		}
	}
	return os
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name                     string
		size, threshold, initial int
		pushed                   string // results, oldest first
		wantGood                 int
		wantHealthy              bool
		wantMarks                string
	}{
		{"initial below threshold starts sick", 8, 3, 2, "", 2, false, "......HH"},
		{"initial at threshold starts healthy", 8, 3, 3, "", 3, true, ".....HHH"},
		{"default initial healthy after one good probe", 8, 3, 2, "H", 3, true, ".....HHH"},
		{"initial zero needs threshold good probes", 8, 3, 0, "HH", 2, false, "......HH"},
		{"initial zero then threshold good probes", 8, 3, 0, "HHH", 3, true, ".....HHH"},
		{"full window of good", 8, 3, 3, "HHHHHHHH", 8, true, "HHHHHHHH"},
		{"window-threshold bad keeps healthy", 8, 3, 3, "HHHHHHHH-----", 3, true, "HHH-----"},
		{"window-threshold+1 bad turns sick", 8, 3, 3, "HHHHHHHH------", 2, false, "HH------"},
		{"old results fall out of the window", 4, 2, 0, "HHHHrrrr", 0, false, "rrrr"},
		{"recovery from all bad", 4, 2, 0, "rrrrHH", 2, true, "rrHH"},
		{"marks tell failures apart", 8, 3, 0, "H-xrRH", 2, false, "..H-xrRH"},
		{"window 1 threshold 1", 1, 1, 0, "H-", 0, false, "-"},
		{"window 1 threshold 1 good", 1, 1, 1, "-H", 1, true, "H"},
		{"window 64 counts all bits", 64, 64, 0, strings.Repeat("H", 70), 64, true, strings.Repeat("H", 64)},
		{"window 64 one bad", 64, 64, 0, strings.Repeat("H", 70) + "R", 63, false, strings.Repeat("H", 63) + "R"},
		{"threshold 1 any good is enough", 8, 1, 0, "-------H", 1, true, "-------H"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(tt.size, tt.initial)
			for _, o := range outcomes(tt.pushed) {
				w.push(o)
			}
			if got := w.good(); got != tt.wantGood {
				t.Errorf("good() = %d; want %d", got, tt.wantGood)
			}
			if got := w.healthy(tt.threshold); got != tt.wantHealthy {
				t.Errorf("healthy(%d) = %v; want %v", tt.threshold, got, tt.wantHealthy)
			}
			if got := string(w.appendMarks(nil)); got != tt.wantMarks {
				t.Errorf("marks = %q; want %q", got, tt.wantMarks)
			}
		})
	}
}

// TestWindowFlipAfter checks the bound the package doc promises: from a full
// window of good results, the verdict flips after exactly
// Window-Threshold+1 bad probes, and back after Threshold good ones.
func TestWindowFlipAfter(t *testing.T) {
	for size := 1; size <= MaxWindow; size++ {
		for threshold := 1; threshold <= size; threshold++ {
			w := newWindow(size, threshold)
			for range size {
				w.push(OutcomeGood)
			}
			bad := 0
			for w.healthy(threshold) {
				w.push(OutcomeConnectError)
				bad++
			}
			if want := size - threshold + 1; bad != want {
				t.Fatalf("window %d threshold %d: sick after %d bad; want %d", size, threshold, bad, want)
			}
			good := 0
			for !w.healthy(threshold) {
				w.push(OutcomeGood)
				good++
			}
			if good != threshold {
				t.Fatalf("window %d threshold %d: healthy after %d good; want %d", size, threshold, good, threshold)
			}
		}
	}
}
