package proxy

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/panjf2000/gnet/v2"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/pool"
)

// Per-connection buffering bounds (backpressure). A connection whose peer
// has more than highWater bytes of unsent output stops being read until the
// peer's output falls below lowWater.
const (
	highWater = 256 << 10
	lowWater  = 64 << 10
	// maxInbound bounds the bytes a client may have buffered that we are
	// not consuming yet (pipelined requests, a body waiting for its
	// backend connection).
	maxInbound = 256 << 10
	// lingerTime bounds how long a closing client connection is drained
	// after its last response, so the response is not lost to a reset.
	lingerTime = 2 * time.Second
)

// watcher is a connection whose output is being watched until it drains:
// gnet has no "output drained" event, so the loop polls the watched
// connections after every event and on every tick.
type watcher interface {
	// drained is called on every check; it returns true when the wait is
	// over and the watcher should be dropped.
	drained() bool
}

// loop is one event loop's state. Everything in it is used only on that
// loop, so nothing here is locked.
type loop struct {
	srv  *Server
	id   int // index in srv.loopList
	el   gnet.EventLoop
	epfd int
	elp  unsafe.Pointer // el's *gnet.eventloop, for closeOnLoop; nil if not that type

	now   int64 // Unix nanos, refreshed on every event and tick
	wheel wheel
	idle  pool.Idle[*backendConn]

	watch    []watcher
	watchBuf []watcher
	nwatch   atomic.Int32 // len(watch), for the ticker goroutine

	// clients is an intrusive list of the loop's client connections.
	clients clientList

	// Parse and write scratch, used within one callback at a time.
	req   http1.Request
	rreq  http1.Request // the forwarded head, parsed again for response rules
	resp  http1.Response
	out   []byte
	iov   [2][]byte
	synth syntheticWriter
	// tlsOut collects the ciphertext of one TLS send, tlsPlain joins a
	// head and body into one record (tls.go).
	tlsOut, tlsPlain []byte
	// tlsBufs are spare plaintext buffers of tlsRoom bytes: a TLS
	// connection that has consumed all its input gives its buffer back
	// here and takes one again on its next fill, so an idle connection
	// holds none (tlsio.go).
	tlsBufs [][]byte

	// pendq lists clients holding back batched responses, flushed on
	// every tick at the latest.
	pendq []*clientConn

	// closing lists connections to close once the current gnet callback
	// is over (see closeConn); inDispatch is set while one runs.
	closing    []gnet.Conn
	inDispatch bool

	lastSweep int64
	lastYield int64         // when touch last yielded the loop goroutine
	fast      chan struct{} // nudges the ticker into fast mode

	hw highWaterMarks
}

// highWaterMarks record the most bytes ever buffered per connection on
// this loop, by kind: the proof that backpressure bounds memory.
type highWaterMarks struct {
	clientOut, backendOut, clientIn, backendIn int
}

func (h *highWaterMarks) note(p *int, v int) {
	if v > *p {
		*p = v
	}
}

func newLoop(s *Server, el gnet.EventLoop) *loop {
	l := &loop{srv: s, el: el, fast: make(chan struct{}, 1)}
	l.epfd, _ = loopEpollFD(el)
	l.elp = loopPointer(el)
	l.now = time.Now().UnixNano()
	l.wheel.init(l.now)
	l.idle.Share = s.nloops
	l.clients.init()
	l.out = make([]byte, 0, 4096)
	return l
}

// closeConn closes c. Inside a gnet callback of this loop it is closed
// synchronously when the callback is over (endDispatch); elsewhere gnet's
// asynchronous Close is used.
func (l *loop) closeConn(c gnet.Conn) {
	if l.inDispatch {
		l.closing = append(l.closing, c)
		return
	}
	_ = c.Close()
}

// beginDispatch marks the start of a gnet callback on this loop.
func (l *loop) beginDispatch() { l.inDispatch = true }

// endDispatch closes the connections queued by closeConn during the
// callback. cur is the connection whose callback it was: gnet still uses it
// after the callback returns, so it is closed by returning gnet.Close.
func (l *loop) endDispatch(cur gnet.Conn) gnet.Action {
	l.inDispatch = false
	act := gnet.None
	if len(l.closing) == 0 {
		return act
	}
	for i, c := range l.closing {
		l.closing[i] = nil
		switch {
		case c == cur:
			act = gnet.Close
			l.srv.syncCloses.Add(1)
		case closeOnLoop(l.elp, c):
			l.srv.syncCloses.Add(1)
		default:
			_ = c.Close()
		}
	}
	l.closing = l.closing[:0]
	return act
}

// yieldEvery is how often a busy loop yields its goroutine (see touch).
const yieldEvery = 5 * time.Millisecond

// touch refreshes the loop's clock, and yields the loop's goroutine when it
// has not yielded for yieldEvery. Under steady load gnet's loop never
// blocks or yields (its epoll_wait always finds events), so the Go runtime
// sees one goroutine running on the same scheduling tick for 10ms and
// preempts it: sysmon signals the thread, or takes the P away while it is
// in a syscall, and each such retake puts sysmon back to its 20µs polling,
// a wake-up and two context switches on the loop's CPU every few tens of
// µs. A voluntary yield every 5ms (half of the runtime's 10ms limit) starts
// a new tick, so sysmon finds nothing to do and backs off to its 10ms
// sleep. Measured on one pinned loop, keep-alive 1 KiB: nanosleep calls
// per request 0.07 → 0.003, context switches 0.17 → 0.05, proxy CPU per
// request about 10 % lower (docs/performance.md).
func (l *loop) touch() {
	l.now = time.Now().UnixNano()
	if l.now-l.lastYield >= int64(yieldEvery) {
		l.lastYield = l.now
		runtime.Gosched()
	}
}

// ticker drives the loop's timers: every 10ms, or every millisecond while
// some connection waits for a peer to drain.
func (l *loop) ticker(ctx context.Context) {
	tick := gnet.RunnableFunc(func(context.Context) error { l.onTick(); return nil })
	slow := time.NewTicker(10 * time.Millisecond)
	defer slow.Stop()
	var fast *time.Ticker
	var fastC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if fast != nil {
				fast.Stop()
			}
			return
		case <-slow.C:
		case <-fastC:
		case <-l.fast:
			if fast == nil {
				fast = time.NewTicker(time.Millisecond)
				fastC = fast.C
			}
			continue
		}
		if err := l.el.Execute(ctx, tick); err != nil {
			return
		}
		if fast != nil && !l.watching() {
			fast.Stop()
			fast, fastC = nil, nil
		}
	}
}

// watching reports whether some connection waits for a peer to drain. It
// is read by the ticker goroutine; a stale answer only delays the switch
// back to slow ticks by one tick.
func (l *loop) watching() bool { return l.nwatch.Load() > 0 }

// onTick runs on the loop.
func (l *loop) onTick() {
	l.touch()
	l.beginDispatch()
	defer l.endDispatch(nil)
	l.wheel.advance(l.now)
	l.flushPending()
	l.checkWatch()
	if l.now-l.lastSweep >= int64(time.Second) {
		l.lastSweep = l.now
		l.idle.Expire(l.now, func(_ *directors.Backend, bc *backendConn) { bc.close() })
		if l.srv.draining.Load() {
			l.drainIdle()
		}
	}
}

// flushPending writes every batch of responses still held back.
func (l *loop) flushPending() {
	if len(l.pendq) == 0 {
		return
	}
	q := l.pendq
	l.pendq = nil
	for i, cc := range q {
		q[i] = nil
		cc.pendQueued = false
		if cc.pend != nil {
			cc.flush()
		}
	}
	if l.pendq == nil {
		l.pendq = q[:0]
	}
}

// addWatch registers w to be polled until it reports drained.
func (l *loop) addWatch(w watcher) {
	for _, x := range l.watch {
		if x == w {
			return
		}
	}
	l.watch = append(l.watch, w)
	l.nwatch.Store(int32(len(l.watch)))
	if len(l.watch) == 1 {
		select {
		case l.fast <- struct{}{}:
		default:
		}
	}
}

// removeWatch drops w.
func (l *loop) removeWatch(w watcher) {
	for i, x := range l.watch {
		if x == w {
			l.watch = append(l.watch[:i], l.watch[i+1:]...)
			l.nwatch.Store(int32(len(l.watch)))
			return
		}
	}
}

// checkWatch polls the watchers. Called after every event and tick.
func (l *loop) checkWatch() {
	if len(l.watch) == 0 {
		return
	}
	// drained may add or remove watchers: iterate over a copy.
	l.watchBuf = append(l.watchBuf[:0], l.watch...)
	for _, w := range l.watchBuf {
		if w.drained() {
			l.removeWatch(w)
		}
	}
	clear(l.watchBuf)
}

// drainIdle closes idle client connections and idle backend connections;
// used while the server shuts down.
func (l *loop) drainIdle() {
	for cc := l.clients.head.cnext; cc != &l.clients.head; {
		next := cc.cnext
		cc.closeIfIdle()
		cc = next
	}
	l.idle.Clear(func(_ *directors.Backend, bc *backendConn) { bc.close() })
}

// clientList is an intrusive doubly-linked list of client connections.
type clientList struct {
	head clientConn // sentinel
	n    int
}

func (cl *clientList) init() { cl.head.cnext, cl.head.cprev = &cl.head, &cl.head }

func (cl *clientList) add(c *clientConn) {
	c.cprev, c.cnext = cl.head.cprev, &cl.head
	cl.head.cprev.cnext = c
	cl.head.cprev = c
	cl.n++
}

func (cl *clientList) remove(c *clientConn) {
	if c.cnext == nil {
		return
	}
	c.cprev.cnext = c.cnext
	c.cnext.cprev = c.cprev
	c.cnext, c.cprev = nil, nil
	cl.n--
}
