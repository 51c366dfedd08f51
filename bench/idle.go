package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// dialFunc opens one connection to the target, with the TLS handshake
// done for a TLS target.
type dialFunc func(ctx context.Context) (net.Conn, error)

// dialer returns the dialFunc for addr: TCP, or TLS with cfg when cfg is
// not nil.
func dialer(addr string, cfg *tls.Config) dialFunc {
	nd := &net.Dialer{Timeout: 5 * time.Second}
	if cfg == nil {
		return func(ctx context.Context) (net.Conn, error) { return nd.DialContext(ctx, "tcp", addr) }
	}
	td := &tls.Dialer{NetDialer: nd, Config: cfg}
	return func(ctx context.Context) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return td.DialContext(ctx, "tcp", addr)
	}
}

// openIdle opens n keep-alive connections with dial, parallel at a time,
// sends req on each and reads the response, and returns the connections
// it managed to open, still open. failed counts the ones that did not.
func openIdle(ctx context.Context, dial dialFunc, n, parallel int, req []byte) (conns []net.Conn, failed int) {
	conns = make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rr respReader
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := idleRoundTrip(ctx, dial, req, &rr)
				if err != nil {
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out, n - len(out)
}

func idleRoundTrip(ctx context.Context, dial dialFunc, req []byte, rr *respReader) (net.Conn, error) {
	c, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := roundTripOn(c, req, rr); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// roundTripOn sends req on c and reads one response, which must be a 2xx
// that keeps the connection open.
func roundTripOn(c net.Conn, req []byte, rr *respReader) error {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(req); err != nil {
		return err
	}
	rr.reset(c)
	status, closed, err := rr.readResponse()
	switch {
	case err != nil:
		return err
	case status < 200 || status > 299:
		return fmt.Errorf("status %d", status)
	case closed:
		return fmt.Errorf("connection closed by the server")
	}
	return nil
}

// stillOpen sends one more request on up to k of conns, spread evenly,
// and reports how many answered: whether the proxy kept the idle
// connections open.
func stillOpen(conns []net.Conn, k int, req []byte) string {
	k = min(k, len(conns))
	ok := 0
	var rr respReader
	for i := range k {
		if roundTripOn(conns[i*len(conns)/k], req, &rr) == nil {
			ok++
		}
	}
	return fmt.Sprintf("%d/%d", ok, k)
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}
