package proxy

// Timeouts without a timer per connection: each connection embeds one timer
// entry, and each event loop owns a hashed timer wheel of intrusive lists,
// advanced by the loop's tick. Arming, re-arming and stopping are O(1) and
// allocate nothing. Pushing a deadline later (the between-bytes timeout,
// refreshed on every read) only stores the new deadline; the entry moves to
// its proper slot when the wheel next visits it.

const (
	wheelBits  = 10
	wheelSlots = 1 << wheelBits
	wheelMask  = wheelSlots - 1
	// wheelRes is the slot width: 10ms. Timeouts fire up to one slot late.
	wheelRes = int64(10e6)
)

// timeoutHandler is what a timer calls when its deadline passes.
type timeoutHandler interface {
	onTimeout(now int64)
}

// timer is an intrusive wheel entry. The zero timer is disarmed.
type timer struct {
	deadline   int64 // Unix nanos; 0 when disarmed
	next, prev *timer
	h          timeoutHandler
}

func (t *timer) armed() bool { return t.next != nil }

// wheel is one loop's timers. Used only on its owning loop.
type wheel struct {
	slots [wheelSlots]timer // list sentinels
	tick  int64             // last processed tick (now / wheelRes)
	n     int               // armed timers
}

func (w *wheel) init(now int64) {
	for i := range w.slots {
		s := &w.slots[i]
		s.next, s.prev = s, s
	}
	w.tick = now / wheelRes
}

func (w *wheel) link(t *timer) {
	tk := t.deadline / wheelRes
	if tk <= w.tick {
		tk = w.tick + 1
	}
	s := &w.slots[tk&wheelMask]
	t.prev, t.next = s.prev, s
	s.prev.next = t
	s.prev = t
}

func unlink(t *timer) {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.next, t.prev = nil, nil
}

// set arms t to fire at deadline, re-arming it if it was armed.
func (w *wheel) set(t *timer, deadline int64) {
	if t.armed() {
		if deadline >= t.deadline {
			t.deadline = deadline // moved lazily when its slot comes up
			return
		}
		unlink(t)
		w.n--
	}
	t.deadline = deadline
	w.link(t)
	w.n++
}

// stop disarms t.
func (w *wheel) stop(t *timer) {
	if t.armed() {
		unlink(t)
		w.n--
	}
	t.deadline = 0
}

// advance fires every timer whose deadline is at or before now.
func (w *wheel) advance(now int64) {
	end := now / wheelRes
	if end-w.tick > wheelSlots {
		w.tick = end - wheelSlots
	}
	var pending timer
	for w.tick < end {
		w.tick++
		s := &w.slots[w.tick&wheelMask]
		if s.next == s {
			continue
		}
		// Detach the slot so handlers may arm and stop timers freely.
		pending.next, pending.prev = s.next, s.prev
		pending.next.prev, pending.prev.next = &pending, &pending
		s.next, s.prev = s, s
		for t := pending.next; t != &pending; t = pending.next {
			unlink(t)
			if t.deadline <= now {
				w.n--
				t.deadline = 0
				t.h.onTimeout(now)
			} else {
				w.link(t)
			}
		}
	}
}
