package health

import "math/bits"

// Outcome is how far one probe got.
type Outcome uint8

// Outcomes, from worst to best. Each has a mark in Status.Marks.
const (
	OutcomeConnectError Outcome = iota // '-': the connection could not be opened
	OutcomeWriteError                  // 'x': the request could not be written
	OutcomeRecvError                   // 'r': no status line: timeout, reset, early close
	OutcomeBadStatus                   // 'R': a status line with another status, or malformed
	OutcomeGood                        // 'H': the expected status in time
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case OutcomeWriteError:
		return "write error"
	case OutcomeRecvError:
		return "receive error"
	case OutcomeBadStatus:
		return "bad status"
	case OutcomeGood:
		return "good"
	}
	return "connect error"
}

// window is the probe window: the last size results as shift registers,
// newest in bit 0, as varnishd's vbp_target bitmaps. happy is the one that
// decides health; the others only say why a probe failed, for the marks.
// A window is owned by one prober and guarded by its mutex.
type window struct {
	size   int    // 1..64
	filled uint64 // a result (probe or Initial) is in the slot
	happy  uint64 // OutcomeGood
	recv   uint64 // a status line arrived (OutcomeBadStatus or OutcomeGood)
	rerr   uint64 // OutcomeRecvError
	xerr   uint64 // OutcomeWriteError
}

// newWindow returns a window of size slots pre-filled with initial good
// results, as vbp_reset.
func newWindow(size, initial int) window {
	w := window{size: size}
	for range initial {
		w.push(OutcomeGood)
	}
	return w
}

// push shifts a result into the window.
func (w *window) push(o Outcome) {
	w.filled = w.filled<<1 | 1
	w.happy = w.happy<<1 | b2u(o == OutcomeGood)
	w.recv = w.recv<<1 | b2u(o >= OutcomeBadStatus)
	w.rerr = w.rerr<<1 | b2u(o == OutcomeRecvError)
	w.xerr = w.xerr<<1 | b2u(o == OutcomeWriteError)
}

// mask returns the bits of the window's slots. Bits past size stay in the
// registers but are never counted, as in Varnish.
func (w *window) mask() uint64 {
	if w.size >= 64 {
		return ^uint64(0)
	}
	return 1<<w.size - 1
}

// good returns the number of good results in the window.
func (w *window) good() int { return bits.OnesCount64(w.happy & w.mask()) }

// healthy reports whether the window holds at least threshold good results.
func (w *window) healthy(threshold int) bool { return w.good() >= threshold }

// appendMarks appends one mark per slot to dst, oldest first (see the
// package doc for the characters).
func (w *window) appendMarks(dst []byte) []byte {
	for i := w.size - 1; i >= 0; i-- {
		bit := uint64(1) << i
		var c byte
		switch {
		case w.filled&bit == 0:
			c = '.'
		case w.happy&bit != 0:
			c = 'H'
		case w.recv&bit != 0:
			c = 'R'
		case w.rerr&bit != 0:
			c = 'r'
		case w.xerr&bit != 0:
			c = 'x'
		default:
			c = '-'
		}
		dst = append(dst, c)
	}
	return dst
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// WindowState is a probe window as saved across a process upgrade: its
// size and the shift registers, newest result in bit 0.
type WindowState struct {
	Size   int    `json:"size"`
	Filled uint64 `json:"filled"`
	Happy  uint64 `json:"happy"`
	Recv   uint64 `json:"recv"`
	Rerr   uint64 `json:"rerr"`
	Xerr   uint64 `json:"xerr"`
}

func (w *window) state() WindowState {
	return WindowState{Size: w.size, Filled: w.filled, Happy: w.happy, Recv: w.recv, Rerr: w.rerr, Xerr: w.xerr}
}

// windowFrom returns the window ws saved, or false when its size is not
// size (a changed probe starts over, as in Varnish).
func windowFrom(ws WindowState, size int) (window, bool) {
	if ws.Size != size {
		return window{}, false
	}
	return window{size: size, filled: ws.Filled, happy: ws.Happy, recv: ws.Recv, rerr: ws.Rerr, xerr: ws.Xerr}, true
}
