//go:build linux && !poll_opt

package proxy

// This is the only file that reaches into gnet's internals. gnet v2.9.7 has
// no way to stop reading from a connection (issues #712/#713/#722/#764 were
// declined) and no way to stop accepting without shutting the engine down.
// Both are needed by a proxy: backpressure (a slow client must not make us
// buffer a whole response) and graceful drain (stop accepting, finish what
// is in flight). We do them on gnet's own epoll instance:
//
//   - pauseRead/resumeRead switch a connection's epoll interest between
//     "read (and write if output is pending)" and "write only". This works
//     with gnet's default level-triggered loops and its default build, where
//     epoll_data holds the fd (the poll_opt build tag stores a pointer there,
//     hence the build constraint above). gnet itself re-arms EPOLLIN when it
//     changes interest after a write, so the callers re-pause after writing
//     and on any read that slips through (clientConn.write, backendConn.write).
//   - unwatchListeners and shutdownListeners remove each loop's listening sockets from its epoll set
//     and shuts them down, so the kernel stops queueing connections for us
//     (with SO_REUSEPORT they go to the other listeners, e.g. a new process).
//
//   - takeOutbound moves the output gnet holds for a connection, unsent, out
//     of gnet's buffer, so that a half-closed client's socket can be taken
//     over from gnet without losing or repeating a byte (halfclose.go). It
//     reads the conn's outboundBuffer field by its offset, checked to be an
//     elastic.Buffer, and uses that type's own exported methods.
//   - closeOnLoop calls gnet's own (*eventloop).close through go:linkname,
//     so a connection we decide to close inside a callback is closed at once
//     instead of through Conn.Close's queued task (an eventfd write and
//     another epoll round per connection). It is enabled only for the gnet
//     version whose signature was checked (gnetVersion).
//
// We only read unexported fields through reflect (never write them) and make
// the epoll_ctl calls ourselves. TestGnetInternals and TestCloseOnLoop fail
// loudly if a gnet upgrade moves any of the fields or functions used here.

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"unsafe"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/buffer/elastic"
	"golang.org/x/sys/unix"
)

// errInternals reports that gnet's internal layout is not what this file
// expects, i.e. gnet was upgraded and this file must be revisited.
var errInternals = errors.New("proxy: gnet internals changed; revisit proxy/gnetinternals.go")

// loopEpollFD returns the epoll file descriptor of a gnet event loop:
// (*gnet.eventloop).poller.fd.
func loopEpollFD(el gnet.EventLoop) (int, error) {
	v := reflect.ValueOf(el)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return -1, errInternals
	}
	return epollFDOf(v.Elem())
}

// epollFDOf reads poller.fd from an eventloop struct value.
func epollFDOf(el reflect.Value) (int, error) {
	if el.Kind() != reflect.Struct {
		return -1, errInternals
	}
	p := el.FieldByName("poller")
	if !p.IsValid() || p.Kind() != reflect.Pointer || p.IsNil() {
		return -1, errInternals
	}
	fd := p.Elem().FieldByName("fd")
	if !fd.IsValid() || fd.Kind() != reflect.Int {
		return -1, errInternals
	}
	return int(fd.Int()), nil
}

// listenerFD is one listening socket of one event loop.
type listenerFD struct {
	epfd int // the loop's epoll fd
	fd   int // the listening socket
}

// engineListeners returns every (loop epoll fd, listening fd) pair of the
// engine: engine.eventLoops (a load balancer whose base holds
// eventLoops []*eventloop), each loop's listeners map[int]*listener keyed by
// fd, and, when the engine accepts on a main reactor, engine.ingress.
func engineListeners(eng gnet.Engine) ([]listenerFD, error) {
	e := reflect.ValueOf(eng).FieldByName("eng")
	if !e.IsValid() || e.Kind() != reflect.Pointer || e.IsNil() {
		return nil, errInternals
	}
	e = e.Elem()
	var out []listenerFD
	addLoop := func(el reflect.Value) error {
		if el.Kind() != reflect.Pointer || el.IsNil() {
			return nil
		}
		el = el.Elem()
		epfd, err := epollFDOf(el)
		if err != nil {
			return err
		}
		lns := el.FieldByName("listeners")
		if !lns.IsValid() || lns.Kind() != reflect.Map || lns.Type().Key().Kind() != reflect.Int {
			return errInternals
		}
		for _, k := range lns.MapKeys() {
			out = append(out, listenerFD{epfd: epfd, fd: int(k.Int())})
		}
		return nil
	}
	if err := addLoop(e.FieldByName("ingress")); err != nil {
		return nil, err
	}
	lb := e.FieldByName("eventLoops")
	if !lb.IsValid() || lb.Kind() != reflect.Interface || lb.IsNil() {
		return nil, errInternals
	}
	lb = lb.Elem()
	if lb.Kind() != reflect.Pointer || lb.IsNil() {
		return nil, errInternals
	}
	loops := lb.Elem().FieldByName("eventLoops")
	if !loops.IsValid() || loops.Kind() != reflect.Slice {
		return nil, errInternals
	}
	for i := 0; i < loops.Len(); i++ {
		if err := addLoop(loops.Index(i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Interest masks as gnet sets them on level-triggered loops
// (gnet's internal netpoll.ReadEvents = EPOLLIN|EPOLLPRI, WriteEvents = EPOLLOUT).
const (
	evRead  = unix.EPOLLIN | unix.EPOLLPRI
	evWrite = unix.EPOLLOUT
)

// pauseRead stops epoll from reporting fd readable on the loop whose epoll
// fd is epfd; writePending keeps EPOLLOUT so gnet still flushes buffered
// output. Called only on the owning event loop.
func pauseRead(epfd, fd int, writePending bool) error {
	var ev uint32
	if writePending {
		ev = evWrite
	}
	return epollMod(epfd, fd, ev)
}

// resumeRead restores read interest (and write interest when output is
// pending), as gnet's own ModRead/ModReadWrite do. Called only on the owning
// event loop.
func resumeRead(epfd, fd int, writePending bool) error {
	ev := uint32(evRead)
	if writePending {
		ev |= evWrite
	}
	return epollMod(epfd, fd, ev)
}

func epollMod(epfd, fd int, events uint32) error {
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)}); err != nil {
		return fmt.Errorf("proxy: epoll_ctl mod fd %d: %w", fd, err)
	}
	return nil
}

// unwatchListeners takes each listening socket out of its loop's epoll set,
// so the loops stop accepting. Safe from any goroutine; a loop may still be
// handling an accept event it got before the call (see shutdownListeners).
func unwatchListeners(lns []listenerFD) error {
	var first error
	for _, l := range lns {
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.fd, nil); err != nil && !errors.Is(err, unix.ENOENT) && first == nil {
			first = fmt.Errorf("proxy: epoll_ctl del listener %d: %w", l.fd, err)
		}
	}
	return first
}

// shutdownListeners shuts the listening sockets down, so the kernel stops
// queueing connections for this process (with SO_REUSEPORT they go to the
// other listeners, e.g. a new process) and resets those already queued. The
// fds stay open; gnet closes them when the engine stops. Call it only after
// unwatchListeners and once every loop has finished the epoll batch it was
// in: gnet treats an accept error (EINVAL on a shut-down socket) as fatal
// to the loop.
func shutdownListeners(lns []listenerFD) error {
	var first error
	for _, l := range lns {
		if err := unix.Shutdown(l.fd, unix.SHUT_RDWR); err != nil && !errors.Is(err, unix.ENOTCONN) && first == nil {
			first = fmt.Errorf("proxy: shutdown listener %d: %w", l.fd, err)
		}
	}
	return first
}

// gnetVersion is the only gnet release whose (*eventloop).close signature
// closeOnLoop was checked against. Any other version (read from the build
// information at start) falls back to gnet's asynchronous Conn.Close.
const gnetVersion = "v2.9.7"

// loopClose is gnet's own (*eventloop).close(c *conn, err error) error: it
// flushes what is buffered, calls OnClose, and closes the socket, at once.
// gnet's public Conn.Close only queues that call as a task, which costs an
// eventfd write, another epoll round and often a read of the peer's FIN
// before the close happens (measured with strace: 1.5 extra syscalls per
// connection on a Connection: close workload).
//
//go:linkname loopClose github.com/panjf2000/gnet/v2.(*eventloop).close
func loopClose(el, c unsafe.Pointer, err error) error

// closeOnLoopOK tells whether closeOnLoop may call loopClose: the linked
// gnet is the checked version. Test binaries carry no module list; for them
// TestCloseOnLoop checks the version go.mod pins instead.
var closeOnLoopOK = func() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	if len(bi.Deps) == 0 && strings.HasSuffix(bi.Path, ".test") {
		return true
	}
	for _, m := range bi.Deps {
		if m.Path == "github.com/panjf2000/gnet/v2" {
			return m.Version == gnetVersion && m.Replace == nil
		}
	}
	return false
}()

// ifaceData returns the data word of an interface value holding a pointer.
func ifaceData(p unsafe.Pointer) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(p)[1]
}

// loopPointer returns the *gnet.eventloop inside el for closeOnLoop, or nil
// when el is not that type. Checked once per loop.
func loopPointer(el gnet.EventLoop) unsafe.Pointer {
	if reflect.TypeOf(el).String() != "*gnet.eventloop" {
		return nil
	}
	return ifaceData(unsafe.Pointer(&el))
}

// closeOnLoop closes c, a connection of the event loop el (from
// loopPointer), synchronously. It must run on that loop and never inside
// c's own OnTraffic (gnet touches c after that returns: return gnet.Close
// there instead). It reports false, having done nothing, when the fast path
// is not available; the caller then uses c.Close(). The only stream Conn of
// the checked gnet version on Linux is *gnet.conn, which loopClose takes.
func closeOnLoop(el unsafe.Pointer, c gnet.Conn) bool {
	if !closeOnLoopOK || el == nil {
		return false
	}
	_ = loopClose(el, ifaceData(unsafe.Pointer(&c)), nil)
	return true
}

// outboundField is the offset of outboundBuffer (an elastic.Buffer value)
// in gnet's *conn, found on the first call; ok false when the field is not
// there or not of that type (an upgraded gnet), or gnet is not the checked
// version.
var outboundField struct {
	once   sync.Once
	offset uintptr
	ok     bool
}

// takeOutbound appends the output gnet has buffered for c and not sent
// yet to dst, and empties gnet's buffer of it, so that gnet's close writes
// none of it. It reports false, having done nothing, when gnet's layout is
// not the one checked. Called only on c's event loop, from gnet's OnClose
// (before gnet flushes and releases the buffer).
func takeOutbound(c gnet.Conn, dst []byte) ([]byte, bool) {
	f := &outboundField
	f.once.Do(func() {
		t := reflect.TypeOf(c)
		if !closeOnLoopOK || t.String() != "*gnet.conn" {
			return
		}
		sf, ok := t.Elem().FieldByName("outboundBuffer")
		if !ok || sf.Type != reflect.TypeFor[elastic.Buffer]() {
			return
		}
		f.offset, f.ok = sf.Offset, true
	})
	if !f.ok || reflect.TypeOf(c).String() != "*gnet.conn" {
		return dst, false
	}
	b := (*elastic.Buffer)(unsafe.Add(ifaceData(unsafe.Pointer(&c)), f.offset))
	if b.IsEmpty() {
		return dst, true
	}
	bufs, _ := b.Peek(-1)
	n := 0
	for _, p := range bufs {
		dst = append(dst, p...)
		n += len(p)
	}
	_, _ = b.Discard(n)
	return dst, true
}
