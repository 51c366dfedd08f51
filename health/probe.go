package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// statusLineMax is how much of the response a probe reads looking for the
// end of the status line; Varnish keeps 128 bytes too. A longer line is
// judged on its first statusLineMax bytes, which hold the status code.
const statusLineMax = 128

// target is what a prober needs to probe one backend. It is immutable.
type target struct {
	network, address string
	req              []byte      // the request, built once by ProbeSpec.appendRequest
	proxyHeader      int         // 0, 1 or 2: PROXY header version sent first
	tls              *tls.Config // the backend's TLS client config; nil for cleartext
	timeout          time.Duration
	expect           int
}

// result is one probe's outcome.
type result struct {
	outcome Outcome
	status  int           // status code read; 0 when none
	err     error         // why the probe failed; nil when good
	start   time.Time     // when the probe started
	dur     time.Duration // until the status line or the failure
}

// probe runs one probe: connect, write the request, read the status line,
// all within t.timeout. Cancelling ctx interrupts it.
func (t *target) probe(ctx context.Context) (r result) {
	r.start = time.Now()
	defer func() { r.dur = time.Since(r.start) }()
	ctx, cancel := context.WithDeadline(ctx, r.start.Add(t.timeout))
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, t.network, t.address)
	if err != nil {
		r.outcome, r.err = OutcomeConnectError, fmt.Errorf("connect: %w", t.timeoutErr(err))
		return r
	}
	defer conn.Close()
	// The deadline bounds the write and the read; cancelling ctx (Stop,
	// Remove, or its own deadline) moves it to the past, which wakes them.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var wbuf [512]byte
	req := appendProxyHeader(wbuf[:0], t.proxyHeader, conn.LocalAddr())
	if t.tls != nil {
		// The PROXY header goes first, in clear; then the handshake.
		if len(req) > 0 {
			if _, err := conn.Write(req); err != nil {
				r.outcome, r.err = OutcomeWriteError, fmt.Errorf("write: %w", t.timeoutErr(err))
				return r
			}
			req = req[:0]
		}
		tc := tls.Client(conn, t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			r.outcome, r.err = OutcomeConnectError, fmt.Errorf("tls handshake: %w", t.timeoutErr(err))
			return r
		}
		conn = tc
	}
	req = append(req, t.req...)
	if _, err := conn.Write(req); err != nil {
		r.outcome, r.err = OutcomeWriteError, fmt.Errorf("write: %w", t.timeoutErr(err))
		return r
	}

	var rbuf [statusLineMax]byte
	line, err := readStatusLine(conn, rbuf[:])
	if err != nil {
		r.outcome, r.err = OutcomeRecvError, fmt.Errorf("read: %w", t.timeoutErr(err))
		return r
	}
	r.outcome = OutcomeBadStatus
	if r.status, r.err = parseStatusLine(line); r.err != nil {
		return r
	}
	if r.status != t.expect {
		r.err = fmt.Errorf("%w %d, want %d", ErrUnexpectedStatus, r.status, t.expect)
		return r
	}
	r.outcome = OutcomeGood
	return r
}

// timeoutErr returns ErrTimeout, with the timeout, for an error caused by a
// deadline; err otherwise.
func (t *target) timeoutErr(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w after %v", ErrTimeout, t.timeout)
	}
	return err
}

// readStatusLine reads from r into buf until the end of the first line and
// returns the line without its CRLF; the result aliases buf. A line longer
// than buf is returned cut, and a line ended by EOF is returned whole.
func readStatusLine(r io.Reader, buf []byte) ([]byte, error) {
	n := 0
	for {
		m, err := r.Read(buf[n:])
		if i := bytes.IndexByte(buf[n:n+m], '\n'); i >= 0 {
			return bytes.TrimSuffix(buf[:n+i], []byte{'\r'}), nil
		}
		n += m
		switch {
		case n == len(buf):
			return buf, nil
		case err == io.EOF && n > 0:
			return buf[:n], nil
		case err == io.EOF:
			return nil, ErrNoStatusLine
		case err != nil:
			return nil, err
		}
	}
}

// parseStatusLine returns the status code of an HTTP/1.x status line
// ("HTTP/1.1 200 OK"), as Varnish's sscanf("HTTP/%*f %u "): a version, one
// space, then a three-digit code ending the line or followed by a space.
func parseStatusLine(line []byte) (int, error) {
	rest, ok := bytes.CutPrefix(line, []byte("HTTP/"))
	sp := bytes.IndexByte(rest, ' ')
	if !ok || sp <= 0 || !isVersion(rest[:sp]) {
		return 0, fmt.Errorf("%w %q", ErrMalformedStatusLine, line)
	}
	code := rest[sp+1:]
	if len(code) > 3 && code[3] == ' ' {
		code = code[:3]
	}
	if len(code) != 3 {
		return 0, fmt.Errorf("%w %q", ErrMalformedStatusLine, line)
	}
	status := 0
	for _, c := range code {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w %q", ErrMalformedStatusLine, line)
		}
		status = status*10 + int(c-'0')
	}
	return status, nil
}

// isVersion reports whether v is digits with at most one dot, as "1.1".
func isVersion(v []byte) bool {
	dots := 0
	for _, c := range v {
		switch {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return false
		}
	}
	return dots <= 1 && v[0] != '.' && v[len(v)-1] != '.'
}

// proxyV2Local is a PROXY protocol v2 header with the LOCAL command: the
// signature, version 2 / LOCAL, family UNSPEC, no addresses. It tells the
// backend the connection comes from the proxy itself, as Varnish's probes do.
var proxyV2Local = []byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00")

// appendProxyHeader appends the PROXY header of version v (0: none) for a
// connection from local to dst. Version 1 names local as both ends, as
// Varnish's vbp_write_proxy_v1; a UNIX socket is "PROXY UNKNOWN".
func appendProxyHeader(dst []byte, v int, local net.Addr) []byte {
	switch v {
	case 1:
		tcp, ok := local.(*net.TCPAddr)
		if !ok {
			return append(dst, "PROXY UNKNOWN\r\n"...)
		}
		ap := tcp.AddrPort()
		ip := ap.Addr().Unmap()
		fam := "TCP6"
		if ip.Is4() {
			fam = "TCP4"
		}
		port := strconv.Itoa(int(ap.Port()))
		dst = append(dst, "PROXY "+fam+" "...)
		dst = ip.AppendTo(dst)
		dst = append(dst, ' ')
		dst = ip.AppendTo(dst)
		return append(dst, " "+port+" "+port+"\r\n"...)
	case 2:
		return append(dst, proxyV2Local...)
	}
	return dst
}
