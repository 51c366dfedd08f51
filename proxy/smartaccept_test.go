package proxy

import (
	"bufio"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellac-lb/shellac/directors"
)

// TestSmartAccept checks tcp_smart_accept both ways: the TCP listeners
// carry TCP_QUICKACK = 0 unless Options.QuickAck, and a client sees the
// difference on the wire. TCP_INFO's segs_in on the client's socket,
// after one keep-alive exchange, counts the SYN-ACK, the response, and,
// with quick ACKs, the proxy kernel's bare ACK of the request: 2 against
// 3. Linux still sends that ACK after its delayed-ACK timeout (about
// 40 ms) when the response is slower, as it can be on a loaded machine,
// so smart accept must show 2 on at least one of a few connections and
// quick ACKs must never show fewer than 3.
func TestSmartAccept(t *testing.T) {
	tb := newTestBackend(t, "a", echoHandler("a"))
	for _, quick := range []bool{false, true} {
		p := startProxy(t, Options{EventLoops: 1, QuickAck: quick}, rrTable(tb.backend(directors.BackendConfig{})))
		lns, err := engineListeners(p.eng)
		if err != nil || len(lns) == 0 {
			t.Fatalf("listeners: %v %v", lns, err)
		}
		for _, ln := range lns {
			v, err := unix.GetsockoptInt(ln.fd, unix.IPPROTO_TCP, unix.TCP_QUICKACK)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 1}[quick]; v != want {
				t.Errorf("QuickAck %v: listener TCP_QUICKACK = %d, want %d", quick, v, want)
			}
		}
		var segs []uint32
		for i := 0; i < 5; i++ {
			segs = append(segs, exchangeSegsIn(t, p.addr))
			if !quick && segs[len(segs)-1] == 2 {
				break
			}
		}
		t.Logf("QuickAck %v: segments in per connection %v", quick, segs)
		for _, n := range segs {
			if quick && n < 3 {
				t.Errorf("QuickAck: a connection got %d segments, want ≥ 3 (SYN-ACK, ACK, response)", n)
			}
		}
		if !quick && segs[len(segs)-1] != 2 {
			t.Errorf("smart accept: no connection got the ACK with its response: segments %v, want a 2", segs)
		}
	}
}

// exchangeSegsIn sends one keep-alive GET on a new connection, reads the
// response, and returns the segments the client's socket received.
func exchangeSegsIn(t *testing.T, addr string) uint32 {
	t.Helper()
	c := dialSend(t, addr, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second)
	defer c.Close()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var serr error
	if err := raw.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), syscall.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return info.Segs_in
}
