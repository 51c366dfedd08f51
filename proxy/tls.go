package proxy

import (
	"context"
	"crypto/rand"
	"crypto/tls"
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
	// BackendHandshakes with TLS backends that succeeded (one per new
	// backend connection; pooled ones are reused), BackendResumed of
	// them by a session ticket. A failed one counts as the backend's
	// connect error.
	BackendHandshakes, BackendResumed uint64
}

// tlsConn is a client connection's TLS state. It is also the net.Conn
// under its *tls.Conn: while hs is set it serves the handshake goroutine,
// then the loop (tlsIO, from handshakeDone on).
type tlsConn struct {
	tlsIO
	cc *clientConn
	hs *handshake // until the handshake is over

	// What the handshake settled, for rules and the log.
	version, cipher uint16
	sni             []byte
	resumed         bool
	// clientCert is the subject (RFC 2253) of the certificate the client
	// presented and that was verified against client_ca; nil if none.
	clientCert []byte
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
	t.l = cc.l
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

// takeOver ends the handshake's share of t: what it left unread comes
// first (pre), and from now on the loop drives the record layer.
func (t *tlsConn) takeOver() {
	h := t.hs
	h.mu.Lock()
	t.pre, h.in = h.in, nil
	h.closed = true
	h.mu.Unlock()
	t.hs = nil
	t.c = t.cc.c
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
	t.takeOver()
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
	if len(st.PeerCertificates) > 0 {
		t.clientCert = []byte(st.PeerCertificates[0].Subject.String())
	}
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
		n := t.fr.handOver(p, h.in)
		h.in = h.in[n:]
		return n, nil
	}
	return t.loopRead(p)
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
	return t.loopWrite(p)
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
