package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/shellac-lb/shellac/pool"
)

// TLS to backends. A backend whose configuration carries a TLS client
// config gets a backendTLS on every new connection. The dial goroutine
// (dial.go) connects, sends the PROXY header if one is due (it precedes
// the handshake, in clear), and runs the whole handshake there, blocking,
// on the socket itself; only then is the socket enrolled on the loop, and
// the same *tls.Conn is driven there like a client's (tlsIO): the loop
// never waits for a backend's handshake, and a pooled connection is
// handshaken once. Session tickets from the backend go to the config's
// ClientSessionCache, so a new connection resumes.

// backendTLS is a backend connection's TLS state and the net.Conn under
// its *tls.Conn: raw is the socket while the dial goroutine runs the
// handshake; once the connection is enrolled the loop drives it (tlsIO).
type backendTLS struct {
	tlsIO
	raw net.Conn
	// proxyHeader is sent on raw before the handshake (nil for none).
	proxyHeader []byte
	resumed     bool
}

// newBackendTLS prepares the TLS state of a new connection to bc's
// backend; the handshake runs in handshake, off the loop.
func newBackendTLS(l *loop, cfg *tls.Config) *backendTLS {
	t := &backendTLS{}
	t.l = l
	t.conn = tls.Client(t, cfg)
	return t
}

// handshake runs on the dial goroutine: the PROXY header, then the TLS
// handshake on nc, within the backend's connect timeout. After it, nc
// belongs to the loop (enrolled) and t is driven there.
func (t *backendTLS) handshake(ctx context.Context, nc net.Conn, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = pool.DefaultConnectTimeout
	}
	t.raw = nc
	defer func() { t.raw = nil }()
	_ = nc.SetDeadline(time.Now().Add(timeout))
	if len(t.proxyHeader) > 0 {
		if _, err := nc.Write(t.proxyHeader); err != nil {
			return err
		}
		t.proxyHeader = nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := t.conn.HandshakeContext(ctx); err != nil {
		return err
	}
	t.resumed = t.conn.ConnectionState().DidResume
	return nc.SetDeadline(time.Time{})
}

// Read implements net.Conn for the *tls.Conn.
func (t *backendTLS) Read(p []byte) (int, error) {
	if t.raw == nil {
		return t.loopRead(p)
	}
	if len(t.pre) > 0 {
		return t.readPre(p), nil
	}
	// During the handshake: what the socket gave past the current
	// record's end waits in pre (recordFramer), for the next Read here or
	// on the loop.
	n, err := t.raw.Read(p)
	k := t.fr.take(p[:n])
	if k < n {
		t.pre = append(t.pre, p[k:n]...)
	}
	return k, err
}

// Write implements net.Conn for the *tls.Conn.
func (t *backendTLS) Write(p []byte) (int, error) {
	if t.raw != nil {
		return t.raw.Write(p)
	}
	return t.loopWrite(p)
}

// Close implements net.Conn: crypto/tls calls it when a handshake is
// cancelled; the loop closes the connection itself.
func (t *backendTLS) Close() error {
	if t.raw != nil {
		return t.raw.Close()
	}
	return nil
}

// LocalAddr implements net.Conn.
func (t *backendTLS) LocalAddr() net.Addr {
	if t.raw != nil {
		return t.raw.LocalAddr()
	}
	return t.c.LocalAddr()
}

// RemoteAddr implements net.Conn.
func (t *backendTLS) RemoteAddr() net.Addr {
	if t.raw != nil {
		return t.raw.RemoteAddr()
	}
	return t.c.RemoteAddr()
}

// SetDeadline implements net.Conn; after the handshake timeouts are the
// loop's.
func (t *backendTLS) SetDeadline(d time.Time) error {
	if t.raw != nil {
		return t.raw.SetDeadline(d)
	}
	return nil
}

// SetReadDeadline implements net.Conn.
func (t *backendTLS) SetReadDeadline(d time.Time) error {
	if t.raw != nil {
		return t.raw.SetReadDeadline(d)
	}
	return nil
}

// SetWriteDeadline implements net.Conn.
func (t *backendTLS) SetWriteDeadline(d time.Time) error {
	if t.raw != nil {
		return t.raw.SetWriteDeadline(d)
	}
	return nil
}
