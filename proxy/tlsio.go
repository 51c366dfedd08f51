package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"

	"github.com/panjf2000/gnet/v2"
)

// tlsIO is the loop side of a TLS connection whose handshake is over: a
// *tls.Conn driven on the loop, never blocking. The net.Conn under conn
// (tlsConn for a client, backendTLS for a backend) hands over the
// ciphertext gnet buffered through loopRead, which reports "would block"
// — a net.Error whose Temporary() is true, which crypto/tls does not make
// sticky — when there is none, and collects conn's ciphertext through
// loopWrite into a loop buffer written to gnet once per send. The
// connection's I/O primitives see plaintext: input, consume, buffered,
// send.
type tlsIO struct {
	conn *tls.Conn
	l    *loop
	// c is the gnet connection once the loop drives the record layer; nil
	// while the handshake runs elsewhere.
	c gnet.Conn

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
	// fr follows the record framing of the ciphertext handed to
	// crypto/tls, which is never handed past the end of a record (see
	// recordFramer).
	fr recordFramer
}

// recordFramer follows the TLS record framing (a 5-byte header whose
// last two bytes are the length, then that many bytes) of a ciphertext
// stream, so that the adapter never hands crypto/tls bytes past the end
// of the record being read. crypto/tls then holds no ciphertext after it
// decrypts a record (its readFromUntil stops reading once it has the
// bytes it asked for, and it asks for one record at a time): when a Read
// returned plaintext and gnet holds no more bytes, there is nothing left
// to decrypt, and fill skips the Read that would only report "would
// block" — and allocate, in readFromUntil.
type recordFramer struct {
	hdr  [5]byte
	hdrN int // header bytes of the current record seen
	left int // body bytes of the current record not handed over yet
}

// take returns how many of buf's first bytes can be handed over without
// crossing the end of the current record, and moves past them.
func (f *recordFramer) take(buf []byte) int {
	n := 0
	if f.left == 0 {
		n = copy(f.hdr[f.hdrN:], buf)
		if f.hdrN += n; f.hdrN < len(f.hdr) {
			return n
		}
		f.hdrN = 0
		f.left = int(f.hdr[3])<<8 | int(f.hdr[4])
	}
	k := min(f.left, len(buf)-n)
	f.left -= k
	return n + k
}

// handOver copies into p what of src can be handed to crypto/tls now (at
// most the rest of the current record) and returns the count.
func (f *recordFramer) handOver(p, src []byte) int {
	return copy(p, src[:f.take(src[:min(len(src), len(p))])])
}

// tlsRoom is the free space a plaintext read is given: one record.
const tlsRoom = 16 << 10

// maxRecordPayload is the most plaintext one TLS record carries.
const maxRecordPayload = 16 << 10

// errWouldBlock is what the adapter's Read returns when no ciphertext is
// buffered: crypto/tls passes a temporary net.Error up without making it
// sticky.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tls: would block" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

// loopRead is the underlying conn's Read once the loop drives it: what
// the handshake left, then what gnet buffered, else errWouldBlock.
func (t *tlsIO) loopRead(p []byte) (int, error) {
	if len(t.pre) > 0 {
		return t.readPre(p), nil
	}
	buf, _ := t.c.Peek(-1)
	if len(buf) == 0 {
		return 0, errWouldBlock
	}
	n := t.fr.handOver(p, buf)
	discard(t.c, n)
	return n, nil
}

// readPre hands over from pre.
func (t *tlsIO) readPre(p []byte) int {
	n := t.fr.handOver(p, t.pre)
	t.pre = t.pre[n:]
	if len(t.pre) == 0 {
		t.pre = nil
	}
	return n
}

// loopWrite is the underlying conn's Write once the loop drives it.
func (t *tlsIO) loopWrite(p []byte) (int, error) {
	t.wbuf = append(t.wbuf, p...)
	return len(p), nil
}

// lend points wbuf at the loop's ciphertext buffer.
func (t *tlsIO) lend() { t.wbuf = t.l.tlsOut[:0] }

// give writes what wbuf collected to gnet and returns the buffer.
func (t *tlsIO) give() {
	b := t.wbuf
	t.wbuf = nil
	if len(b) > 0 {
		_, _ = t.c.Write(b)
	}
	t.l.tlsOut = b[:0]
}

// send encrypts a then b and writes them in one gnet write.
func (t *tlsIO) send(a, b []byte) {
	out := t.seal(a, b)
	if len(out) > 0 {
		_, _ = t.c.Write(out)
	}
	t.unseal(out)
}

// seal encrypts a then b and returns the ciphertext, in the loop's buffer
// until unseal gives it back. A head and a body that fit in one record
// are joined first, so that they make one record, not two: the peer
// decrypts once (measured with wrk against HAProxy, which does the same).
func (t *tlsIO) seal(a, b []byte) []byte {
	t.lend()
	if len(b) > 0 && len(a)+len(b) <= maxRecordPayload {
		l := t.l
		p := append(append(l.tlsPlain[:0], a...), b...)
		_, _ = t.conn.Write(p)
		l.tlsPlain = p[:0]
	} else {
		_, _ = t.conn.Write(a)
		if len(b) > 0 {
			_, _ = t.conn.Write(b)
		}
	}
	out := t.wbuf
	t.wbuf = nil
	return out
}

// unseal returns the buffer seal lent.
func (t *tlsIO) unseal(out []byte) { t.l.tlsOut = out[:0] }

// sealCloseNotify returns a close_notify alert's ciphertext (nothing
// when one was sent already); unseal gives the buffer back.
func (t *tlsIO) sealCloseNotify() []byte {
	t.lend()
	_ = t.conn.CloseWrite()
	out := t.wbuf
	t.wbuf = nil
	return out
}

// fill decrypts what is buffered, up to maxInbound bytes of plaintext.
func (t *tlsIO) fill() {
	t.more = false
	if t.err != nil || t.c == nil {
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
		if cap(t.in) == 0 {
			t.in = t.l.takePlain()
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
		if len(t.pre) == 0 && t.c.InboundBuffered() == 0 {
			// A Read that returned plaintext ends at a record's end
			// (recordFramer): crypto/tls holds nothing more.
			break
		}
	}
	t.give()
	if t.off == len(t.in) {
		t.release() // nothing decrypted (a ticket, an alert): keep no buffer
	}
}

// input returns the decrypted bytes not consumed yet, decrypting what
// gnet buffered first; nil while the handshake runs.
func (t *tlsIO) input() []byte {
	if t.c == nil {
		return nil
	}
	if t.more || len(t.pre) > 0 || t.c.InboundBuffered() > 0 {
		t.fill()
	}
	return t.in[t.off:]
}

// consume drops n decrypted bytes (discardAll: every buffered one,
// decrypting all gnet holds).
func (t *tlsIO) consume(n int) {
	if n == discardAll {
		// A fill that decrypts nothing releases the buffer itself.
		for {
			t.release()
			if len(t.input()) == 0 {
				return
			}
		}
	}
	if t.off += n; t.off >= len(t.in) {
		t.release()
	}
}

// release lets go of the plaintext buffer once all of it is consumed: one
// of tlsRoom bytes goes back to the loop for the next fill of any of its
// connections, a grown one past 4× that (a burst) to the collector. The input
// contract (valid until the next consume, never retained past the
// callback) is what makes the reuse safe; an idle keep-alive connection
// then keeps no 16 KiB buffer.
func (t *tlsIO) release() {
	t.in, t.off = t.in[:0], 0
	switch {
	case cap(t.in) == tlsRoom:
		t.l.givePlain(t.in)
		t.in = nil
	case cap(t.in) > 4*tlsRoom:
		t.in = nil // a large burst is over: do not keep its memory
	}
}

// buffered counts the input bytes held: decrypted and not.
func (t *tlsIO) buffered() int {
	n := len(t.in) - t.off + len(t.pre)
	if t.c != nil {
		n += t.c.InboundBuffered()
	}
	return n
}

// closeNotify sends a close_notify alert (before the connection's write
// side is shut down). Sending it twice sends one.
func (t *tlsIO) closeNotify() {
	if t.c == nil {
		return
	}
	out := t.sealCloseNotify()
	if len(out) > 0 {
		_, _ = t.c.Write(out)
	}
	t.unseal(out)
}

// failed reports whether the record layer failed (a bad record, an alert
// from the peer): the connection is to be closed.
func (t *tlsIO) failed() bool {
	return t.err != nil && !errors.Is(t.err, io.EOF)
}

// maxSpareTLSBufs bounds a loop's spare plaintext buffers (1 MiB): past
// it a released buffer is left to the collector.
const maxSpareTLSBufs = 64

// takePlain returns an empty plaintext buffer of tlsRoom bytes, a spare
// one when the loop has it.
func (l *loop) takePlain() []byte {
	if n := len(l.tlsBufs); n > 0 {
		b := l.tlsBufs[n-1]
		l.tlsBufs[n-1] = nil
		l.tlsBufs = l.tlsBufs[:n-1]
		return b
	}
	return make([]byte, 0, tlsRoom)
}

// givePlain keeps b (of tlsRoom bytes, all consumed) for the next
// takePlain.
func (l *loop) givePlain(b []byte) {
	if len(l.tlsBufs) < maxSpareTLSBufs {
		l.tlsBufs = append(l.tlsBufs, b[:0])
	}
}
