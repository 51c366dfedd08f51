//go:build linux && !poll_opt

package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// internalsProbe is a minimal gnet handler that exercises every internal
// this package relies on.
type internalsProbe struct {
	gnet.BuiltinEventEngine
	eng     chan gnet.Engine
	booted  gnet.Engine
	running sync.Once
	opened  chan gnet.Conn
	traffic atomic.Int64 // bytes seen by OnTraffic
	pause   bool         // pause reads in OnOpen
	pauseOK chan error
}

func (p *internalsProbe) OnBoot(e gnet.Engine) gnet.Action { p.booted = e; return gnet.None }

// OnTick first runs once every loop is started (gnet starts its ticker
// last), so the engine is handed to the test only then.
func (p *internalsProbe) OnTick() (time.Duration, gnet.Action) {
	p.running.Do(func() { p.eng <- p.booted })
	return time.Hour, gnet.None
}

func (p *internalsProbe) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if p.pause {
		epfd, err := loopEpollFD(c.EventLoop())
		if err == nil {
			err = pauseRead(epfd, c.Fd(), false)
		}
		p.pauseOK <- err
	}
	p.opened <- c
	return nil, gnet.None
}

func (p *internalsProbe) OnTraffic(c gnet.Conn) gnet.Action {
	b, _ := c.Next(-1)
	p.traffic.Add(int64(len(b)))
	_, _ = c.Write(b) // echo
	return gnet.None
}

func startProbe(t *testing.T, p *internalsProbe, loops int) (gnet.Engine, string) {
	t.Helper()
	addr := testutil.FreeAddr(t)
	errc := make(chan error, 1)
	go func() {
		errc <- gnet.Run(p, "tcp://"+addr, gnet.WithNumEventLoop(loops), gnet.WithReusePort(true), gnet.WithTicker(true))
	}()
	select {
	case e := <-p.eng:
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = e.Stop(ctx)
			<-errc
		})
		return e, addr
	case err := <-errc:
		t.Fatalf("gnet.Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("gnet engine did not boot")
	}
	return gnet.Engine{}, ""
}

func fdLink(fd int) string {
	s, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	return s
}

// TestGnetInternals fails loudly when a gnet upgrade moves the unexported
// fields the proxy reads: the loop's epoll fd and the engine's listeners.
func TestGnetInternals(t *testing.T) {
	p := &internalsProbe{eng: make(chan gnet.Engine, 1), opened: make(chan gnet.Conn, 4)}
	eng, addr := startProbe(t, p, 2)

	lns, err := engineListeners(eng)
	if err != nil {
		t.Fatalf("engineListeners: %v", err)
	}
	if len(lns) != 2 {
		t.Fatalf("engineListeners found %d listeners; want 2 (one per loop with SO_REUSEPORT)", len(lns))
	}
	for _, l := range lns {
		if got := fdLink(l.epfd); got != "anon_inode:[eventpoll]" {
			t.Errorf("loop epoll fd %d is %q; want an epoll instance", l.epfd, got)
		}
		v, err := unix.GetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		if err != nil || v != 1 {
			t.Errorf("listener fd %d: SO_ACCEPTCONN = %d, %v; want a listening socket", l.fd, v, err)
		}
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := <-p.opened
	epfd, err := loopEpollFD(c.EventLoop())
	if err != nil {
		t.Fatalf("loopEpollFD: %v", err)
	}
	found := false
	for _, l := range lns {
		found = found || l.epfd == epfd
	}
	if !found {
		t.Errorf("connection's loop epoll fd %d is not one of the engine's loops", epfd)
	}
}

// TestPauseResume checks that a paused connection gets no OnTraffic while
// data waits in the kernel, and gets it all after resuming.
func TestPauseResume(t *testing.T) {
	p := &internalsProbe{eng: make(chan gnet.Engine, 1), opened: make(chan gnet.Conn, 4), pause: true, pauseOK: make(chan error, 4)}
	_, addr := startProbe(t, p, 1)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := <-p.pauseOK; err != nil {
		t.Fatalf("pauseRead: %v", err)
	}
	c := <-p.opened
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := p.traffic.Load(); n != 0 {
		t.Fatalf("paused connection saw %d bytes of traffic; want 0", n)
	}
	done := make(chan error, 1)
	_ = c.EventLoop().Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		epfd, err := loopEpollFD(c.EventLoop())
		if err == nil {
			err = resumeRead(epfd, c.Fd(), false)
		}
		done <- err
		return nil
	}))
	if err := <-done; err != nil {
		t.Fatalf("resumeRead: %v", err)
	}
	buf := make([]byte, 5)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(buf); err != nil || string(buf) != "hello" {
		t.Fatalf("after resume got %q, %v; want echo of hello", buf, err)
	}
}

// TestStopListening checks that after unwatch+shutdown new connections are
// refused while an established one keeps working.
func TestStopListening(t *testing.T) {
	p := &internalsProbe{eng: make(chan gnet.Engine, 1), opened: make(chan gnet.Conn, 4)}
	eng, addr := startProbe(t, p, 2)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-p.opened
	lns, err := engineListeners(eng)
	if err != nil {
		t.Fatal(err)
	}
	if err := unwatchListeners(lns); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := shutdownListeners(lns); err != nil {
		t.Fatal(err)
	}
	if c2, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c2.Close()
		t.Fatal("dial after stopListening succeeded; want refused")
	} else if !strings.Contains(err.Error(), "refused") {
		t.Logf("dial error: %v", err)
	}
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(buf); err != nil || string(buf) != "ping" {
		t.Fatalf("established conn after stopListening: %q, %v", buf, err)
	}
}

// TestCloseOnLoop checks the synchronous close of a client that asked to
// close: the linked gnet is the version loopClose was checked against, and
// a Connection: close exchange, answered by a backend (closed from the
// backend's callback through loopClose) or by a synthetic backend (closed
// by returning gnet.Close from the client's own callback), gets its whole
// response and then EOF, with every close taking the synchronous path.
func TestCloseOnLoop(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "github.com/panjf2000/gnet/v2 "+gnetVersion+"\n") {
		t.Fatalf("go.mod does not pin gnet %s: check (*eventloop).close's signature in the new version, then update gnetVersion", gnetVersion)
	}
	if !closeOnLoopOK {
		t.Fatalf("closeOnLoop is off: the linked gnet is not %s; check (*eventloop).close's signature in the new version and update gnetVersion", gnetVersion)
	}
	web := newTestBackend(t, "web", nil)
	synth := directors.NewResponderBackend("synth", staticResponder{200, "synthetic\n"})
	for _, tc := range []struct {
		name   string
		target directors.Member
		want   string
	}{
		{"backend", web.backend(directors.BackendConfig{}), "web"},
		{"synthetic", synth, "synthetic\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, Options{}, tableOf(tc.target, nil))
			const n = 20
			for i := 0; i < n; i++ {
				c, err := net.Dial("tcp", p.addr)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, err := io.ReadAll(c) // ends at the proxy's FIN
				c.Close()
				if err != nil {
					t.Fatalf("request %d: %v after %q (no close from the proxy)", i, err, got)
				}
				resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(got))), nil)
				if err != nil {
					t.Fatalf("request %d: %v in %q", i, err, got)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) || !resp.Close {
					t.Fatalf("request %d: %d close=%v body %q err %v", i, resp.StatusCode, resp.Close, body, err)
				}
			}
			// Every close here should be synchronous; a slow machine may
			// send one through another path (e.g. a response that had
			// to wait for the socket to drain), hence the margin. A
			// broken fast path gives 0.
			got := p.syncCloses.Load()
			t.Logf("%d of %d closes synchronous", got, n)
			if got < n/2 {
				t.Errorf("synchronous closes = %d; want about %d (one per exchange)", got, n)
			}
		})
	}
}

// outboundProbe writes more than the socket takes to the first client that
// speaks, then takes gnet's unsent output with takeOutbound.
type outboundProbe struct {
	internalsProbe
	result chan [3]int // buffered before, taken, buffered after
}

func (p *outboundProbe) OnTraffic(c gnet.Conn) gnet.Action {
	_, _ = c.Next(-1)
	_, _ = c.Write(make([]byte, 8<<20)) // the client does not read: most is buffered
	before := c.OutboundBuffered()
	out, ok := takeOutbound(c, nil)
	if !ok {
		p.result <- [3]int{before, -1, c.OutboundBuffered()}
		return gnet.Close
	}
	p.result <- [3]int{before, len(out), c.OutboundBuffered()}
	return gnet.Close
}

// TestTakeOutbound fails loudly when a gnet upgrade moves or retypes the
// conn's outbound buffer that a half-closed client's takeover empties.
func TestTakeOutbound(t *testing.T) {
	p := &outboundProbe{internalsProbe: internalsProbe{eng: make(chan gnet.Engine, 1), opened: make(chan gnet.Conn, 4)}, result: make(chan [3]int, 1)}
	addr2 := testutil.FreeAddr(t)
	errc := make(chan error, 1)
	go func() {
		errc <- gnet.Run(p, "tcp://"+addr2, gnet.WithNumEventLoop(1), gnet.WithTicker(true))
	}()
	var eng gnet.Engine
	select {
	case eng = <-p.eng:
	case err := <-errc:
		t.Fatalf("gnet.Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("gnet engine did not boot")
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Stop(ctx)
		<-errc
	}()
	c, err := net.Dial("tcp", addr2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "go"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-p.result:
		if r[1] < 0 {
			t.Fatalf("takeOutbound refused: gnet's conn layout is not the one proxy/gnetinternals.go checked; revisit it")
		}
		if r[0] == 0 || r[1] != r[0] || r[2] != 0 {
			t.Errorf("buffered %d, took %d, left %d; want all of it taken and none left", r[0], r[1], r[2])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
}
