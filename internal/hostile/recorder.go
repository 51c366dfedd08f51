package hostile

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Targets the harness itself sends through the proxy. The recorder keeps
// what arrives for them apart from the case under test.
const (
	barrierPrefix = "/__hostile/barrier/"
	// ProbeTarget is the request sent on a client connection after a
	// case, to see whether the connection still serves requests.
	ProbeTarget = "/__hostile/probe"
)

// Received is one thing a backend connection received: a well-framed
// request (Req set, Err nil), or bytes that were not one (Err wraps
// ErrMalformed, or ErrIncomplete for a partial request cut by the close
// of the connection).
type Received struct {
	Conn int // the backend connection, numbered from 1 in accept order
	Req  StrictRequest
	Err  error
	Raw  []byte
}

// String describes r in a line.
func (r Received) String() string {
	if r.Err != nil {
		return fmt.Sprintf("conn %d: %v (%d bytes: %q)", r.Conn, r.Err, len(r.Raw), clip(r.Raw, 200))
	}
	return fmt.Sprintf("conn %d: %s %s %s, body %d", r.Conn, r.Req.Method, r.Req.Target, r.Req.Proto, r.Req.BodyLen)
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// RecordingBackend is a raw TCP backend on 127.0.0.1 that records every
// byte it receives. Each connection's bytes are read with ReadStrict:
// every complete, strictly well-framed request is recorded and answered
// "200 OK" with the body "ok"; anything else is recorded as such and the
// connection closed, as a strict server would.
type RecordingBackend struct {
	ln *net.TCPListener

	mu       sync.Mutex
	conns    map[int]*recConn
	nextConn int
	got      []Received
	barriers map[int]bool
	probes   int
	barrier  int
	changed  chan struct{} // closed and replaced on every record
	wg       sync.WaitGroup
}

type recConn struct {
	c    *net.TCPConn
	read uint64 // bytes read by the handler (under RecordingBackend.mu)
}

// okResponse is the fixed answer to every well-framed request.
const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n"

// NewRecordingBackend starts a recording backend on a free 127.0.0.1
// port.
func NewRecordingBackend() (*RecordingBackend, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	b := &RecordingBackend{ln: ln, conns: map[int]*recConn{}, barriers: map[int]bool{}, changed: make(chan struct{})}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

// Addr returns the backend's "127.0.0.1:port".
func (b *RecordingBackend) Addr() string { return b.ln.Addr().String() }

// Close stops the backend and closes its connections.
func (b *RecordingBackend) Close() {
	_ = b.ln.Close()
	b.mu.Lock()
	for _, rc := range b.conns {
		_ = rc.c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// accept takes connections off the listener. Each is accepted and
// registered under b.mu in one step (a non-blocking accept4 on the
// listener's socket, polled every millisecond: a listener's RawConn
// supports only Control), so that settled, which looks at the accept
// queue under the same lock, never misses a connection in between.
func (b *RecordingBackend) accept() {
	defer b.wg.Done()
	raw, err := b.ln.SyscallConn()
	if err != nil {
		return
	}
	for {
		var rc *recConn
		var id int
		var aerr error
		again := false
		b.mu.Lock()
		err := raw.Control(func(fd uintptr) {
			nfd, _, err := unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err == unix.EAGAIN || err == unix.EINTR || err == unix.ECONNABORTED {
				again = true
				return
			}
			if err != nil {
				aerr = err
				return
			}
			f := os.NewFile(uintptr(nfd), "backend")
			c, err := net.FileConn(f)
			_ = f.Close()
			if err != nil {
				aerr = err
				return
			}
			b.nextConn++
			id = b.nextConn
			rc = &recConn{c: c.(*net.TCPConn)}
			b.conns[id] = rc
		})
		b.mu.Unlock()
		if err != nil || aerr != nil {
			return
		}
		if again {
			time.Sleep(time.Millisecond)
			continue
		}
		b.wg.Add(1)
		go b.serve(id, rc)
	}
}

// record appends r (or counts it as the harness's own) and wakes Sync.
// Called with b.mu held.
func (b *RecordingBackend) record(r Received) {
	switch t := r.Req.Target; {
	case r.Err == nil && strings.HasPrefix(t, barrierPrefix):
		n, _ := strconv.Atoi(t[len(barrierPrefix):])
		b.barriers[n] = true
	case r.Err == nil && t == ProbeTarget:
		b.probes++
	default:
		b.got = append(b.got, r)
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *RecordingBackend) serve(id int, rc *recConn) {
	defer b.wg.Done()
	defer func() {
		_ = rc.c.Close()
		b.mu.Lock()
		delete(b.conns, id)
		b.mu.Unlock()
	}()
	var buf []byte
	tmp := make([]byte, 64<<10)
	for {
		n, err := rc.c.Read(tmp)
		b.mu.Lock()
		rc.read += uint64(n)
		buf = append(buf, tmp[:n]...)
		var out []byte
		stop := false
		for len(buf) > 0 {
			req, perr := ReadStrict(buf)
			if perr == ErrIncomplete {
				break
			}
			if perr != nil {
				b.record(Received{Conn: id, Err: perr, Raw: append([]byte(nil), buf...)})
				buf, stop = nil, true
				break
			}
			b.record(Received{Conn: id, Req: req, Raw: append([]byte(nil), buf[:req.Len]...)})
			buf = buf[req.Len:]
			out = append(out, okResponse...)
			if req.Method != "HEAD" {
				out = append(out, "ok"...)
			}
			if req.Close {
				stop = true
				break
			}
		}
		if err != nil && len(buf) > 0 && !stop {
			b.record(Received{Conn: id, Err: fmt.Errorf("%w (then %v)", ErrIncomplete, err), Raw: append([]byte(nil), buf...)})
		}
		b.mu.Unlock()
		if len(out) > 0 {
			if _, werr := rc.c.Write(out); werr != nil {
				stop = true
			}
		}
		if err != nil || stop {
			return
		}
	}
}

// Take returns what the backend received since the last Take, apart from
// the harness's barriers and probes, and the number of probes.
func (b *RecordingBackend) Take() (got []Received, probes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	got, probes = b.got, b.probes
	b.got, b.probes = nil, 0
	return got, probes
}

// Sync makes sure that everything a proxy at proxyAddr forwarded before
// the call has been received and recorded: it sends a barrier request
// through the proxy on a new connection and waits for it to arrive, then
// until every open backend connection has read all the bytes its kernel
// socket received (TCP_INFO bytes_received) and no connection waits in
// the accept queue. Bounded by timeout.
func (b *RecordingBackend) Sync(proxyAddr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	b.mu.Lock()
	b.barrier++
	seq := b.barrier
	b.mu.Unlock()
	for try := 0; ; try++ {
		if try == 3 {
			return fmt.Errorf("hostile: barrier %d did not reach the backend", seq)
		}
		sendBarrier(proxyAddr, seq, deadline)
		if b.waitBarrier(seq, minTime(deadline, time.Now().Add(timeout/3))) {
			break
		}
	}
	for time.Now().Before(deadline) {
		if b.settled() {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("hostile: backend connections did not settle")
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// sendBarrier sends barrier seq through the proxy and reads the answer
// until the connection closes (its content does not matter).
func sendBarrier(proxyAddr string, seq int, deadline time.Time) {
	c, err := net.DialTimeout("tcp", proxyAddr, time.Until(deadline))
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	fmt.Fprintf(c, "GET %s%d HTTP/1.1\r\nHost: barrier\r\nConnection: close\r\n\r\n", barrierPrefix, seq)
	_, _ = io.Copy(io.Discard, c)
}

// waitBarrier waits until barrier seq is recorded.
func (b *RecordingBackend) waitBarrier(seq int, deadline time.Time) bool {
	for {
		b.mu.Lock()
		ok, ch := b.barriers[seq], b.changed
		b.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
			return false
		}
	}
}

// settled reports whether no connection waits to be accepted and every
// open connection has read all its kernel received.
func (b *RecordingBackend) settled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if backlog, ok := acceptBacklog(b.ln); !ok || backlog > 0 {
		return false
	}
	for _, rc := range b.conns {
		got, ok := bytesReceived(rc.c)
		if ok && got != rc.read {
			return false
		}
	}
	return true
}

// bytesReceived returns the bytes the kernel received on c (TCP_INFO
// tcpi_bytes_received, Linux 4.1+).
func bytesReceived(c *net.TCPConn) (uint64, bool) {
	info, ok := tcpInfo(c)
	if !ok {
		return 0, false
	}
	return info.Bytes_received, true
}

// acceptBacklog returns the number of connections waiting in ln's accept
// queue: for a listening socket Linux reports it in tcpi_unacked.
func acceptBacklog(ln *net.TCPListener) (uint32, bool) {
	info, ok := tcpInfo(ln)
	if !ok {
		return 0, false
	}
	return info.Unacked, true
}

func tcpInfo(s syscall.Conn) (*unix.TCPInfo, bool) {
	raw, err := s.SyscallConn()
	if err != nil {
		return nil, false
	}
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return nil, false
	}
	return info, true
}
