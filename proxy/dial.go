package proxy

import (
	"context"
	"fmt"

	"github.com/panjf2000/gnet/v2"

	"github.com/shellac-lb/shellac/pool"
)

// dial connects bc off the loop, on a goroutine of its own (a connect can
// block for connect_timeout), runs its TLS handshake there for a TLS
// backend (backendtls.go), and enrolls the connection on the loop l, so
// that its events run there, lock-free beside the client that uses it:
// gnet then calls OnOpen → bc.onOpen on l. A failed connect is reported on
// l through bc.dialFailed. Called only on l.
func (l *loop) dial(bc *backendConn) {
	ctx := l.srv.ctx
	go func() {
		nc, err := pool.Dial(ctx, bc.b)
		if err == nil && bc.tl != nil {
			if err = bc.tl.handshake(ctx, nc, bc.b.Config().ConnectTimeout); err != nil {
				_ = nc.Close()
				err = fmt.Errorf("pool: TLS handshake with backend %s (%s): %w", bc.b.Name(), bc.b.Config().Address, err)
			}
		}
		if err == nil {
			var ch <-chan gnet.RegisteredResult
			ch, err = l.el.Enroll(gnet.NewContext(context.Background(), bc), nc)
			if err != nil {
				_ = nc.Close()
			} else if r := <-ch; r.Err != nil {
				err = r.Err
			}
		}
		if err != nil {
			_ = l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
				l.touch()
				l.beginDispatch()
				bc.dialFailed(err)
				l.checkWatch()
				l.endDispatch(nil)
				return nil
			}))
		}
	}()
}
