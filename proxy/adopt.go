package proxy

import (
	"context"
	"net"
	"os"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// maxAdopt bounds the connections adoptBacklog takes from one listener.
const maxAdopt = 65536

// adoptBacklog accepts the connections still queued on the listeners
// (taken out of epoll by unwatchListeners) and enrolls each on the loop of
// its listener, where it is served like any other, with "Connection:
// close" since the server is draining. Without it, shutting the
// listeners down would reset them: a client that connected a moment
// before a SIGTERM would lose its request. It returns once every adopted
// connection is open on its loop (so Shutdown counts it), and how many
// there were.
func (s *Server) adoptBacklog(lns []listenerFD) int {
	s.loopsMu.Lock()
	loops := append([]*loop(nil), s.loopList...)
	s.loopsMu.Unlock()
	var pending []<-chan gnet.RegisteredResult
	for _, ln := range lns {
		var el gnet.EventLoop
		for _, l := range loops {
			if l.epfd == ln.epfd {
				el = l.el
			}
		}
		for range maxAdopt {
			fd, _, err := unix.Accept4(ln.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err != nil {
				break // EAGAIN: the queue is empty
			}
			f := os.NewFile(uintptr(fd), "adopted")
			nc, err := net.FileConn(f) // a dup: f is closed below, nc after gnet dups it again
			_ = f.Close()
			if err != nil {
				continue
			}
			var ch <-chan gnet.RegisteredResult
			if el != nil {
				ch, err = el.Enroll(context.Background(), nc)
			} else {
				ch, err = s.eng.Register(gnet.NewNetConnContext(context.Background(), nc))
			}
			if err != nil {
				_ = nc.Close()
				continue
			}
			pending = append(pending, ch)
		}
	}
	for _, ch := range pending {
		<-ch
	}
	return len(pending)
}
