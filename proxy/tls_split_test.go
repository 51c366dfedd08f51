package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// The adapter (tlsConn's Read, fill, input, consume) driven without a
// network, so that ciphertext can be cut exactly where a test says: a
// real crypto/tls client and the real server-side tlsConn and *tls.Conn,
// with a stand-in for the gnet.Conn under them (its inbound buffer is
// what the test delivered) and for the event loop (Execute runs at once).

// stubConn stands in for a gnet.Conn: Peek, Discard and InboundBuffered
// serve in, which the test fills; Write hands what the server sends to
// the client through out, a handshake used the other way round (the
// client reads it as the handshake goroutine reads its input). Any other
// gnet.Conn method panics (the embedded interface is nil): the adapter
// must not need it.
type stubConn struct {
	gnet.Conn
	in  []byte // the test goroutine's only
	out handshake
}

func (c *stubConn) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(c.in) {
		return c.in, nil
	}
	return c.in[:n], nil
}

func (c *stubConn) Discard(n int) (int, error) {
	if n < 0 || n > len(c.in) {
		n = len(c.in)
	}
	c.in = c.in[n:]
	return n, nil
}

func (c *stubConn) InboundBuffered() int { return len(c.in) }

func (c *stubConn) Write(p []byte) (int, error) {
	c.out.mu.Lock()
	c.out.in = append(c.out.in, p...)
	c.out.cond.Signal()
	c.out.mu.Unlock()
	return len(p), nil
}

func (c *stubConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443} }
func (c *stubConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}

// stubLoop stands in for the event loop: Execute runs the task at once.
type stubLoop struct{ gnet.EventLoop }

func (stubLoop) Execute(ctx context.Context, r gnet.Runnable) error { return r.Run(ctx) }

// clientEnd is the client's net.Conn: during the handshake its writes
// feed the server's handshake as the loop does (feedHandshake), after it
// they are kept in wire for the test to deliver; it reads what the server
// wrote.
type clientEnd struct {
	s           *stubConn
	hs          *handshake
	handshaking bool
	wire        []byte
}

func (e *clientEnd) Write(p []byte) (int, error) {
	if e.handshaking {
		e.hs.mu.Lock()
		e.hs.in = append(e.hs.in, p...)
		e.hs.cond.Signal()
		e.hs.mu.Unlock()
	} else {
		e.wire = append(e.wire, p...)
	}
	return len(p), nil
}

// Read blocks until the server wrote, with tlsConn's handshake-time Read.
func (e *clientEnd) Read(p []byte) (int, error) { return (&tlsConn{hs: &e.s.out}).Read(p) }

func (e *clientEnd) Close() error {
	e.s.out.close()
	e.hs.close()
	return nil
}

func (e *clientEnd) LocalAddr() net.Addr              { return e.s.RemoteAddr() }
func (e *clientEnd) RemoteAddr() net.Addr             { return e.s.LocalAddr() }
func (e *clientEnd) SetDeadline(time.Time) error      { return nil }
func (e *clientEnd) SetReadDeadline(time.Time) error  { return nil }
func (e *clientEnd) SetWriteDeadline(time.Time) error { return nil }

// adapterSession is a TLS session between a crypto/tls client and a
// server-side tlsConn, established the way startTLS and handshakeDone do.
type adapterSession struct {
	t    *tlsConn
	s    *stubConn
	end  *clientEnd
	cl   *tls.Conn
	cert *testutil.Cert
}

func newAdapterSession(cert *testutil.Cert) (*adapterSession, error) {
	s := &stubConn{}
	s.out.cond.L = &s.out.mu
	cc := &clientConn{c: s, l: &loop{el: stubLoop{}}}
	t := &tlsConn{cc: cc, hs: &handshake{}}
	t.l = cc.l
	t.hs.cond.L = &t.hs.mu
	cc.tl = t
	t.conn = tls.Server(t, &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"http/1.1"}})
	end := &clientEnd{s: s, hs: t.hs, handshaking: true}
	cl := tls.Client(end, &tls.Config{RootCAs: cert.Pool, ServerName: "a.test", NextProtos: []string{"http/1.1"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srvErr := make(chan error, 1)
	go func() { srvErr <- t.conn.HandshakeContext(ctx) }()
	if err := cl.HandshakeContext(ctx); err != nil {
		end.Close()
		<-srvErr
		return nil, fmt.Errorf("client handshake: %v", err)
	}
	if err := <-srvErr; err != nil {
		return nil, fmt.Errorf("server handshake: %v", err)
	}
	t.takeOver() // as handshakeDone does
	end.handshaking = false
	return &adapterSession{t: t, s: s, end: end, cl: cl, cert: cert}, nil
}

// seal has the client send writes (one Write each) and returns the
// ciphertext, with the end offset of each record.
func (a *adapterSession) seal(writes []string) (wire []byte, records []int) {
	a.end.wire = nil
	for _, w := range writes {
		_, _ = a.cl.Write([]byte(w))
	}
	wire = a.end.wire
	for off := 0; off+5 <= len(wire); {
		off += 5 + (int(wire[off+3])<<8 | int(wire[off+4]))
		records = append(records, off)
	}
	return wire, records
}

// deliver hands wire to the adapter in pieces ending at cuts (ascending;
// out of range ones ignored), as gnet would after reads of those sizes.
// After each piece it takes what input() decrypted, consuming all but the
// last hold bytes (as the loop keeps a partial request); at the end it
// consumes everything. It returns the plaintext in order.
func (a *adapterSession) deliver(wire []byte, cuts []int, hold int) ([]byte, error) {
	t := a.t
	var got []byte
	prev := 0
	take := func(keep int) error {
		for {
			in := t.input()
			n := max(0, len(in)-keep)
			got = append(got, in[:n]...)
			t.consume(n)
			if t.failed() {
				return fmt.Errorf("record layer failed: %v", t.err)
			}
			if n == 0 || !t.more {
				return nil
			}
		}
	}
	for _, c := range append(cuts, len(wire)) {
		if c <= prev || c > len(wire) {
			continue
		}
		a.s.in = append(a.s.in, wire[prev:c]...)
		prev = c
		if err := take(hold); err != nil {
			return got, err
		}
	}
	if err := take(0); err != nil {
		return got, err
	}
	if len(a.s.in) > 0 || t.buffered() > 0 {
		return got, errors.New("ciphertext left undecrypted")
	}
	return got, nil
}

// splitSession is the recorded session: two pipelined requests in one
// record, then a request whose body spans several records.
var splitSession = []string{
	"POST /first HTTP/1.1\r\nHost: a.test\r\nContent-Length: 11\r\n\r\nhello world" +
		"GET /second HTTP/1.1\r\nHost: a.test\r\n\r\n",
	"POST /third HTTP/1.1\r\nHost: a.test\r\nContent-Length: 40000\r\n\r\n" + strings.Repeat("0123456789", 4000),
}

// run seals the session, delivers it cut at cuts and checks the
// plaintext arrives whole and in order.
func (a *adapterSession) run(tb testing.TB, cuts []int, hold int) {
	tb.Helper()
	wire, _ := a.seal(splitSession)
	got, err := a.deliver(wire, cuts, hold)
	want := strings.Join(splitSession, "")
	if err != nil || string(got) != want {
		tb.Fatalf("cuts %v, hold %d: %d of %d bytes, %v", cuts, hold, len(got), len(want), err)
	}
}

// TestTLSAdapterSplits cuts the ciphertext of one session exactly: at
// every byte boundary of its first record (alone, with and without
// decrypted bytes held back), one byte at a time over the whole session,
// and around every record boundary at once.
func TestTLSAdapterSplits(t *testing.T) {
	a, err := newAdapterSession(testutil.NewCert(t, "a.test"))
	if err != nil {
		t.Fatal(err)
	}
	wire, records := a.seal(splitSession)
	if _, err := a.deliver(wire, nil, 0); err != nil {
		t.Fatal(err)
	}
	if len(records) < 4 {
		t.Fatalf("records end at %v: want the body to span several", records)
	}
	runs := 0
	for cut := 1; cut < records[0]; cut++ {
		for _, hold := range []int{0, 5} {
			a.run(t, []int{cut}, hold)
			runs++
		}
	}
	every := make([]int, len(wire))
	for i := range every {
		every[i] = i + 1
	}
	a.run(t, every, 0)
	var around []int
	for _, r := range records {
		around = append(around, r-2, r-1, r, r+1, r+2)
	}
	a.run(t, around, 3)
	t.Logf("%d-byte session in %d records (ending at %v): %d single cuts, one byte at a time, around every record boundary",
		len(wire), len(records), records, runs)
}

// fuzzSession is the session FuzzTLSRecordSplits reuses across inputs;
// a failure drops it, so that the inputs after it start clean.
var fuzzSession struct {
	sync.Mutex
	a *adapterSession
}

// FuzzTLSRecordSplits: whatever the cuts in the ciphertext (the fuzz
// input: a byte b < 128 moves the next cut b+1 bytes on, a larger one
// (b-127)×256) and however many decrypted bytes are held back, the
// adapter yields the session's plaintext whole and in order. It drives
// the adapter without a network (see stubConn), on one TLS session per
// process, so each input costs one seal and one delivery (~20 µs of
// crypto), not a handshake; the network path is TestTLSRecordSplitsOverTCP.
func FuzzTLSRecordSplits(f *testing.F) {
	cert := testutil.NewCert(f, "a.test")
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{0, 0, 0, 0, 0, 0}, uint8(0))
	f.Add([]byte{4, 140, 0, 200, 1}, uint8(9))
	f.Add(bytes.Repeat([]byte{127}, 40), uint8(200))
	f.Fuzz(func(t *testing.T, steps []byte, hold uint8) {
		fuzzSession.Lock()
		defer fuzzSession.Unlock()
		if fuzzSession.a == nil {
			a, err := newAdapterSession(cert)
			if err != nil {
				t.Fatal(err)
			}
			fuzzSession.a = a
		}
		var cuts []int
		at := 0
		for _, b := range steps {
			if b < 128 {
				at += int(b) + 1
			} else {
				at += int(b-127) * 256
			}
			cuts = append(cuts, at)
		}
		a := fuzzSession.a
		fuzzSession.a = nil // kept only if this input passes
		a.run(t, cuts, int(hold))
		fuzzSession.a = a
	})
}
