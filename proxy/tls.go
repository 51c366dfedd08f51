package proxy

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// TLS termination (docs/tls.md). A connection accepted on a TLS listener
// gets a tlsConn. Its handshake runs with an unmodified crypto/tls on a
// goroutine (at most Options.MaxHandshakes at once), over an adapter the
// loop feeds with the ciphertext gnet reads; the handshake's output and
// its end are handed back to the loop with Execute, in order. From then on
// the same *tls.Conn is driven on the loop, never blocking: its
// underlying conn is the tlsConn itself, whose Read hands over the
// ciphertext gnet buffered and reports "would block" — a net.Error whose
// Temporary() is true, which crypto/tls does not make sticky — when there
// is none, and whose Write appends the ciphertext to a loop buffer written
// to gnet once per send. The client connection's I/O primitives
// (client.go) see plaintext.

// Defaults of the TLS settings.
const (
	DefaultTLSHandshakeTimeout = 10 * time.Second
	DefaultMaxTLSHandshakes    = 1024
	// maxHandshakeInput is how much ciphertext the loop hands to a
	// handshake before it stops reading until the handshake is over.
	maxHandshakeInput = 64 << 10
	// tlsRoom is the free space a plaintext read is given: one record.
	tlsRoom = 16 << 10
	// ticketKeyRotation is how often a new session-ticket key is made;
	// ticketKeysKept keys are accepted, so a ticket lives up to
	// ticketKeysKept × ticketKeyRotation.
	ticketKeyRotation = 6 * time.Hour
	ticketKeysKept    = 4
)

// TLSListener is one listen address that speaks TLS.
type TLSListener struct {
	// Listen is "host:port" or "unix:/path"; not also in Options.Listen.
	Listen string
	// Config holds the certificates and the protocol policy. The proxy
	// uses a clone: it sets NextProtos to http/1.1 and the session-ticket
	// keys (shared by every listener and kept across SetTLSConfig, so
	// resumption survives a reload and works on every loop).
	Config *tls.Config
}

// tlsListener is a TLS listener as the server matches accepted
// connections against it.
type tlsListener struct {
	listen string
	port   int          // TCP: the port
	hosts  []netip.Addr // TCP: the addresses it is bound to; empty = every address
	path   string       // UNIX: the socket path
	cfg    atomic.Pointer[tls.Config]
}

// matches reports whether a connection to local was accepted on l.
func (l *tlsListener) matches(local net.Addr) bool {
	switch a := local.(type) {
	case *net.TCPAddr:
		if l.path != "" || a.Port != l.port {
			return false
		}
		if len(l.hosts) == 0 {
			return true
		}
		ip, _ := netip.AddrFromSlice(a.IP)
		ip = ip.Unmap()
		for _, h := range l.hosts {
			if h == ip {
				return true
			}
		}
	case *net.UnixAddr:
		return l.path != "" && a.Name == l.path
	}
	return false
}

// newTLSListener resolves tl's address.
func newTLSListener(tl TLSListener) (*tlsListener, error) {
	l := &tlsListener{listen: tl.Listen}
	if p, ok := strings.CutPrefix(tl.Listen, "unix:"); ok {
		l.path = p
	} else {
		host, port, err := net.SplitHostPort(tl.Listen)
		if err != nil {
			return nil, fmt.Errorf("proxy: TLS listener %q: %v", tl.Listen, err)
		}
		pa, err := net.LookupPort("tcp", port)
		if err != nil {
			return nil, fmt.Errorf("proxy: TLS listener %q: %v", tl.Listen, err)
		}
		l.port = pa
		if ip, err := netip.ParseAddr(host); err == nil {
			if !ip.IsUnspecified() {
				l.hosts = []netip.Addr{ip.Unmap()}
			}
		} else if host != "" {
			ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
			if err != nil {
				return nil, fmt.Errorf("proxy: TLS listener %q: %v", tl.Listen, err)
			}
			for _, ip := range ips {
				l.hosts = append(l.hosts, ip.Unmap())
			}
		}
	}
	if tl.Config == nil {
		return nil, fmt.Errorf("proxy: TLS listener %q has no configuration", tl.Listen)
	}
	return l, nil
}

// ticketKeys makes and rotates the session-ticket keys every listener's
// configuration shares.
type ticketKeys struct {
	mu   sync.Mutex
	keys [][32]byte // newest first
}

func (k *ticketKeys) rotate(rnd io.Reader) error {
	var key [32]byte
	if _, err := io.ReadFull(rnd, key[:]); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append([][32]byte{key}, k.keys...)
	if len(k.keys) > ticketKeysKept {
		k.keys = k.keys[:ticketKeysKept]
	}
	return nil
}

func (k *ticketKeys) apply(cfg *tls.Config) {
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	if len(keys) > 0 && !cfg.SessionTicketsDisabled {
		cfg.SetSessionTicketKeys(keys)
	}
}

// prepareTLS returns the configuration the server uses for c.
func (s *Server) prepareTLS(c *tls.Config) *tls.Config {
	cfg := c.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	s.tickets.apply(cfg)
	return cfg
}

// SetTLSConfig replaces the configuration of the TLS listener listen (as
// given in Options.TLS): new handshakes use it, established connections
// keep theirs. Safe from any goroutine.
func (s *Server) SetTLSConfig(listen string, cfg *tls.Config) error {
	for _, l := range s.tlsl {
		if l.listen == listen {
			l.cfg.Store(s.prepareTLS(cfg))
			return nil
		}
	}
	return fmt.Errorf("proxy: no TLS listener %q", listen)
}

// rotateTickets adds a new session-ticket key every ticketKeyRotation.
func (s *Server) rotateTickets(ctx context.Context) {
	t := time.NewTicker(ticketKeyRotation)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.tickets.rotate(randReader); err != nil {
			s.opts.Logger.Error("session ticket key rotation", "err", err)
			continue
		}
		for _, l := range s.tlsl {
			cfg := l.cfg.Load().Clone()
			s.tickets.apply(cfg)
			l.cfg.Store(cfg)
		}
	}
}

// tlsListenerOf returns the TLS listener c was accepted on, or nil.
func (s *Server) tlsListenerOf(c gnet.Conn) *tlsListener {
	if len(s.tlsl) == 0 {
		return nil
	}
	local := c.LocalAddr()
	for _, l := range s.tlsl {
		if l.matches(local) {
			return l
		}
	}
	return nil
}

// TLSStats count TLS handshakes.
type TLSStats struct {
	// Handshakes completed; Resumed of them by a session ticket.
	Handshakes, Resumed uint64
	// Failed handshakes (bad client hello, no shared protocol, timeout,
	// client gone); Refused connections closed at once because
	// MaxHandshakes were under way.
	Failed, Refused uint64
	// InFlight handshakes now.
	InFlight int64
}

// errWouldBlock is what the adapter's Read returns when no ciphertext is
// buffered: crypto/tls passes a temporary net.Error up without making it
// sticky.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tls: would block" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

// tlsConn is a client connection's TLS state. It is also the net.Conn
// under its *tls.Conn: while hs is set it serves the handshake goroutine,
// then the loop.
type tlsConn struct {
	cc   *clientConn
	conn *tls.Conn
	hs   *handshake // until the handshake is over

	// pre is ciphertext the handshake goroutine left unread, handed over
	// before gnet's buffer.
	pre []byte
	// wbuf collects the ciphertext of one send (the loop's buffer, lent).
	wbuf []byte
	// in[off:] is the decrypted input not consumed yet.
	in  []byte
	off int
	// more: input() must decrypt again (a fill stopped at maxInbound).
	more bool
	// err is the record layer's error (io.EOF after close_notify).
	err error

	// What the handshake settled, for rules and the log.
	version, cipher uint16
	sni             []byte
	resumed         bool
}

// handshake is what the loop and the handshake goroutine share.
type handshake struct {
	mu     sync.Mutex
	cond   sync.Cond
	in     []byte // ciphertext from the client, not read yet
	closed bool
}

// startTLS begins the handshake of a connection accepted on tl; it
// reports false when MaxHandshakes are under way (the connection is then
// to be closed).
func (cc *clientConn) startTLS(tl *tlsListener) bool {
	s := cc.l.srv
	select {
	case s.hsSem <- struct{}{}:
	default:
		s.tlsRefused.Add(1)
		return false
	}
	t := &tlsConn{cc: cc, hs: &handshake{}}
	t.hs.cond.L = &t.hs.mu
	t.conn = tls.Server(t, tl.cfg.Load())
	cc.tl = t
	s.tlsInFlight.Add(1)
	go t.handshake(s.opts.TLSHandshakeTimeout)
	return true
}

// handshake runs on its own goroutine.
func (t *tlsConn) handshake(timeout time.Duration) {
	s := t.cc.l.srv
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	err := t.conn.HandshakeContext(ctx)
	cancel()
	<-s.hsSem
	s.tlsInFlight.Add(-1)
	cc := t.cc
	_ = cc.l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		cc.handshakeDone(t, err)
		return nil
	}))
}

// handshakeDone switches the connection to loop-driven TLS, or closes it
// after a failed handshake. Runs on the loop.
func (cc *clientConn) handshakeDone(t *tlsConn, err error) {
	if cc.tl != t || cc.state == clientClosed {
		return
	}
	s, l := cc.l.srv, cc.l
	l.touch()
	l.beginDispatch()
	defer l.endDispatch(nil)
	h := t.hs
	h.mu.Lock()
	t.pre, h.in = h.in, nil
	h.closed = true
	h.mu.Unlock()
	t.hs = nil
	cc.resume()
	if err != nil {
		s.tlsFailed.Add(1)
		s.opts.Logger.Debug("TLS handshake failed", "client", cc.ip, "err", err)
		cc.closeNow()
		return
	}
	st := t.conn.ConnectionState()
	t.version, t.cipher, t.resumed = st.Version, st.CipherSuite, st.DidResume
	t.sni = []byte(st.ServerName)
	s.tlsHandshakes.Add(1)
	if st.DidResume {
		s.tlsResumed.Add(1)
	}
	cc.onReadable()
	l.checkWatch()
}

// feedHandshake hands what gnet read to the handshake goroutine. Runs on
// the loop, in OnTraffic. Past maxHandshakeInput unread bytes the
// connection stops being read until the handshake is over: a client may
// send its first request (and body) as soon as its side of the handshake
// is done, before ours is; a flood just waits for the handshake timeout.
func (cc *clientConn) feedHandshake() {
	h := cc.tl.hs
	h.mu.Lock()
	room := maxHandshakeInput - len(h.in)
	var took int
	if room > 0 && !h.closed {
		buf, _ := cc.c.Peek(-1)
		took = min(room, len(buf))
		h.in = append(h.in, buf[:took]...)
		h.cond.Signal()
	}
	h.mu.Unlock()
	discard(cc.c, took)
	if cc.c.InboundBuffered() > 0 && !cc.paused {
		cc.pause()
	}
}

// close ends the handshake's input: the goroutine's Read fails.
func (h *handshake) close() {
	h.mu.Lock()
	h.closed = true
	h.cond.Broadcast()
	h.mu.Unlock()
}

// Read implements net.Conn for the *tls.Conn: during the handshake it
// blocks (on the handshake goroutine) until the loop feeds ciphertext;
// afterwards it hands over what gnet buffered, or reports errWouldBlock.
func (t *tlsConn) Read(p []byte) (int, error) {
	if h := t.hs; h != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		for len(h.in) == 0 && !h.closed {
			h.cond.Wait()
		}
		if len(h.in) == 0 {
			return 0, net.ErrClosed
		}
		n := copy(p, h.in)
		h.in = h.in[n:]
		return n, nil
	}
	if len(t.pre) > 0 {
		n := copy(p, t.pre)
		t.pre = t.pre[n:]
		if len(t.pre) == 0 {
			t.pre = nil
		}
		return n, nil
	}
	c := t.cc.c
	buf, _ := c.Peek(-1)
	if len(buf) == 0 {
		return 0, errWouldBlock
	}
	n := copy(p, buf)
	discard(c, n)
	return n, nil
}

// Write implements net.Conn for the *tls.Conn: the handshake's output
// goes to the loop through Execute (in order with the handshake's end);
// afterwards the ciphertext is collected in wbuf.
func (t *tlsConn) Write(p []byte) (int, error) {
	if t.hs != nil {
		b := append([]byte(nil), p...)
		cc := t.cc
		err := cc.l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			if cc.tl == t && cc.state != clientClosed {
				_, _ = cc.c.Write(b)
			}
			return nil
		}))
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	t.wbuf = append(t.wbuf, p...)
	return len(p), nil
}

// Close implements net.Conn: crypto/tls calls it when a handshake times
// out.
func (t *tlsConn) Close() error {
	if h := t.hs; h != nil {
		h.close()
	}
	return nil
}

// LocalAddr implements net.Conn.
func (t *tlsConn) LocalAddr() net.Addr { return t.cc.c.LocalAddr() }

// RemoteAddr implements net.Conn.
func (t *tlsConn) RemoteAddr() net.Addr { return t.cc.c.RemoteAddr() }

// SetDeadline implements net.Conn; timeouts are the loop's.
func (t *tlsConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline implements net.Conn.
func (t *tlsConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline implements net.Conn.
func (t *tlsConn) SetWriteDeadline(time.Time) error { return nil }

// lend points wbuf at the loop's ciphertext buffer.
func (t *tlsConn) lend() { t.wbuf = t.cc.l.tlsOut[:0] }

// give writes what wbuf collected to gnet and returns the buffer.
func (t *tlsConn) give() {
	b := t.wbuf
	t.wbuf = nil
	if len(b) > 0 {
		_, _ = t.cc.c.Write(b)
	}
	t.cc.l.tlsOut = b[:0]
}

// send encrypts a then b and writes them in one gnet write. A head and
// a body that fit in one record are joined first, so that they make one
// record, not two: the client decrypts once (measured with wrk against
// HAProxy, which does the same).
func (t *tlsConn) send(a, b []byte) {
	t.lend()
	if len(b) > 0 && len(a)+len(b) <= maxRecordPayload {
		l := t.cc.l
		p := append(append(l.tlsPlain[:0], a...), b...)
		_, _ = t.conn.Write(p)
		l.tlsPlain = p[:0]
	} else {
		_, _ = t.conn.Write(a)
		if len(b) > 0 {
			_, _ = t.conn.Write(b)
		}
	}
	t.give()
}

// maxRecordPayload is the most plaintext one TLS record carries.
const maxRecordPayload = 16 << 10

// fill decrypts what is buffered, up to maxInbound bytes of plaintext.
func (t *tlsConn) fill() {
	t.more = false
	if t.err != nil || t.hs != nil {
		return
	}
	t.lend() // alerts, KeyUpdate answers
	for {
		if len(t.in)-t.off >= maxInbound {
			t.more = true
			break
		}
		if t.off == len(t.in) {
			t.in, t.off = t.in[:0], 0
		}
		if cap(t.in)-len(t.in) < tlsRoom {
			if t.off > 0 {
				n := copy(t.in, t.in[t.off:])
				t.in, t.off = t.in[:n], 0
			}
			if cap(t.in)-len(t.in) < tlsRoom {
				nb := make([]byte, len(t.in), 2*cap(t.in)+tlsRoom)
				copy(nb, t.in)
				t.in = nb
			}
		}
		n, err := t.conn.Read(t.in[len(t.in):cap(t.in)])
		t.in = t.in[:len(t.in)+n]
		if err != nil {
			if !errors.Is(err, errWouldBlock) {
				t.err = err
			}
			break
		}
		if n == 0 {
			break
		}
	}
	t.give()
}

// input returns the decrypted bytes not consumed yet, decrypting what
// gnet buffered first.
func (t *tlsConn) input() []byte {
	if t.hs != nil {
		return nil
	}
	if t.more || len(t.pre) > 0 || t.cc.c.InboundBuffered() > 0 {
		t.fill()
	}
	return t.in[t.off:]
}

// consume drops n decrypted bytes (discardAll: every buffered one,
// decrypting all gnet holds).
func (t *tlsConn) consume(n int) {
	if n == discardAll {
		for {
			t.in, t.off = t.in[:0], 0
			if len(t.input()) == 0 {
				return
			}
		}
	}
	if t.off += n; t.off >= len(t.in) {
		t.in, t.off = t.in[:0], 0
		if cap(t.in) > 4*tlsRoom {
			t.in = nil // a large burst is over: do not keep its memory
		}
	}
}

// buffered counts the input bytes held: decrypted and not.
func (t *tlsConn) buffered() int {
	return len(t.in) - t.off + len(t.pre) + t.cc.c.InboundBuffered()
}

// closeNotify sends a close_notify alert (before the connection's write
// side is shut down).
func (t *tlsConn) closeNotify() {
	if t.hs != nil {
		return
	}
	t.lend()
	_ = t.conn.CloseWrite()
	t.give()
}

// failed reports whether the record layer failed (a bad record, an alert
// from the client): the connection is to be closed.
func (t *tlsConn) failed() bool {
	return t.err != nil && !errors.Is(t.err, io.EOF)
}

// randReader is the source of session-ticket keys.
var randReader io.Reader = rand.Reader

// setupTLS resolves the TLS listeners and makes the first ticket key.
// Called by Start.
func (s *Server) setupTLS() error {
	if len(s.opts.TLS) == 0 {
		return nil
	}
	if err := s.tickets.rotate(randReader); err != nil {
		return fmt.Errorf("proxy: session ticket key: %v", err)
	}
	for _, tl := range s.opts.TLS {
		l, err := newTLSListener(tl)
		if err != nil {
			return err
		}
		l.cfg.Store(s.prepareTLS(tl.Config))
		s.tlsl = append(s.tlsl, l)
	}
	s.hsSem = make(chan struct{}, s.opts.MaxTLSHandshakes)
	go s.rotateTickets(s.ctx)
	return nil
}
