package pool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// Defaults of the backend settings the pool applies (Varnish's connect
// timeout). DefaultConnectTimeout is also used when a backend sets none.
const (
	DefaultConnectTimeout = 3500 * time.Millisecond
	DefaultMaxIdle        = 64               // idle connections kept per backend, over all loops
	DefaultIdleTimeout    = 30 * time.Second // an idle connection is closed after this
)

// ErrConnectTimeout reports a connect that did not finish in time.
var ErrConnectTimeout = errors.New("pool: connect timeout")

// Dial opens a new connection to b with b's connect timeout. It blocks, so
// callers run it off the event loop. TCP connections get TCP_NODELAY (Go's
// default) and TCP keep-alive probes.
func Dial(ctx context.Context, b *directors.Backend) (net.Conn, error) {
	cfg := b.Config()
	if cfg.Network == "" {
		return nil, fmt.Errorf("pool: backend %s has no address", b.Name())
	}
	timeout := cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, cfg.Network, cfg.Address)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%w: backend %s (%s) after %v", ErrConnectTimeout, b.Name(), cfg.Address, timeout)
		}
		return nil, fmt.Errorf("pool: connect to backend %s (%s): %w", b.Name(), cfg.Address, err)
	}
	return c, nil
}
