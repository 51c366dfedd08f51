package bench

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

// Paths the benchmark backends answer. Any other GET gets the 1 KiB body.
const (
	path1K      = "/1k"      // 1 KiB body, Content-Length
	path16K     = "/16k"     // 16 KiB body, Content-Length
	pathChunked = "/chunked" // 1 KiB body, chunked response
	pathPost    = "/post"    // request body sink (any method with a body)
)

// Backends is a set of benchmark backends started by StartBackends: one
// gnet engine whose event loops serve every backend's listener, so that a
// single loop on a single CPU never waits for another goroutine.
type Backends struct {
	names []string // b1, b2, …; sent back in X-Backend
	addrs []string // host:port each listens on
	eng   gnet.Engine
	done  chan error
}

// Addrs returns the listening address of every backend, in order.
func (bs *Backends) Addrs() []string { return bs.addrs }

// Close stops the backends and waits for their event loops to end.
func (bs *Backends) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := bs.eng.Stop(ctx)
	<-bs.done
	if err != nil {
		return fmt.Errorf("stopping the backends: %w", err)
	}
	return nil
}

// quietLogger keeps gnet's start-up chatter out of the harness's output
// and passes its errors to stderr.
type quietLogger struct{}

// Debugf drops the message.
func (quietLogger) Debugf(string, ...any) {}

// Infof drops the message.
func (quietLogger) Infof(string, ...any) {}

// Warnf drops the message.
func (quietLogger) Warnf(string, ...any) {}

// Errorf writes the message to stderr.
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench backend: "+format+"\n", args...)
}

// Fatalf writes the message to stderr and exits.
func (quietLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench backend: "+format+"\n", args...)
	os.Exit(1)
}

var _ logging.Logger = quietLogger{}

// StartBackends starts one benchmark backend per address in listen (port
// 0 picks a free port), named b1, b2, … in order, all served by loops
// event loops. Every backend answers GET /1k, /16k and /chunked with
// fixed bodies and accepts request bodies (Content-Length or chunked) on
// any path, discarding them and answering with the number of bytes
// received.
func StartBackends(listen []string, loops int) (*Backends, error) {
	bs := &Backends{done: make(chan error, 1)}
	h := &backendHandler{booted: make(chan gnet.Engine, 1), byPort: map[int]*site{}}
	var protoAddrs []string
	for i, addr := range listen {
		// gnet reports no bound port, so a port 0 is resolved here first.
		host, port := splitHostPort(addr)
		if port == "0" || port == "" {
			p, err := freePortOn(host)
			if err != nil {
				return nil, err
			}
			port = strconv.Itoa(p)
		}
		addr = net.JoinHostPort(host, port)
		n, _ := strconv.Atoi(port)
		name := fmt.Sprintf("b%d", i+1)
		h.byPort[n] = newSite(name)
		bs.names = append(bs.names, name)
		bs.addrs = append(bs.addrs, addr)
		protoAddrs = append(protoAddrs, "tcp://"+addr)
	}
	h.scratch.New = func() any { b := make([]byte, 0, 64<<10); return &b }
	go func() {
		bs.done <- gnet.Rotate(h, protoAddrs,
			gnet.WithNumEventLoop(max(loops, 1)),
			gnet.WithReuseAddr(true),
			gnet.WithLogger(quietLogger{}),
			gnet.WithReadBufferCap(64<<10))
	}()
	select {
	case bs.eng = <-h.booted:
		return bs, nil
	case err := <-bs.done:
		return nil, fmt.Errorf("backends on %v: %w", bs.addrs, err)
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("backends on %v did not start in 10s", bs.addrs)
	}
}

// freePortOn returns a port nothing listens on right now on host.
func freePortOn(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// site is one backend: its canned responses, built once.
type site struct {
	name    string
	resp1K  [2][]byte // [keep-alive, close]
	resp16K [2][]byte
	respChk [2][]byte
	resp404 [2][]byte
}

func newSite(name string) *site {
	st := &site{name: name}
	body := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(i%26)
		}
		return b
	}
	for i, conn := range []string{"keep-alive", "close"} {
		st.resp1K[i] = st.fixed(200, conn, body(1<<10))
		st.resp16K[i] = st.fixed(200, conn, body(16<<10))
		st.resp404[i] = st.fixed(404, conn, []byte("not found\n"))
		chk := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nServer: shellac-bench\r\nX-Backend: %s\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: %s\r\n\r\n", name, conn)
		st.respChk[i] = appendChunked(chk, body(1<<10), 512)
	}
	return st
}

func (st *site) fixed(status int, conn string, body []byte) []byte {
	b := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nServer: shellac-bench\r\nX-Backend: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n",
		status, statusText(status), st.name, len(body), conn)
	return append(b, body...)
}

func statusText(code int) string {
	if code == 200 {
		return "OK"
	}
	return "Not Found"
}

// backendHandler is the gnet event handler of the backends. Per-connection
// state lives in the conn's context.
type backendHandler struct {
	gnet.BuiltinEventEngine
	booted  chan gnet.Engine
	byPort  map[int]*site // read-only once the engine runs
	scratch sync.Pool     // *[]byte, one response batch per OnTraffic
}

// backendConn is the parse state of one client connection.
type backendConn struct {
	site     *site // the backend whose listener accepted the connection
	inBody   bool
	chunked  bool
	left     int64 // Content-Length body bytes still to skip
	ch       chunkedBody
	received int64
	close    bool
}

// OnBoot hands the engine to StartBackends.
func (h *backendHandler) OnBoot(eng gnet.Engine) gnet.Action {
	h.booted <- eng
	return gnet.None
}

// OnOpen gives each connection its parse state.
func (h *backendHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	st := &backendConn{}
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		st.site = h.byPort[a.Port]
	}
	if st.site == nil {
		return nil, gnet.Close
	}
	c.SetContext(st)
	return nil, gnet.None
}

// OnTraffic answers every complete request in the inbound buffer, in
// order, with one write. Called on the connection's event loop.
func (h *backendHandler) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*backendConn)
	buf, _ := c.Peek(-1) // valid until Discard; not retained
	outp := h.scratch.Get().(*[]byte)
	out := (*outp)[:0]
	defer func() { *outp = out[:0]; h.scratch.Put(outp) }()
	pos := 0
	action := gnet.None
	for pos < len(buf) && action == gnet.None {
		if st.inBody {
			var done bool
			if st.chunked {
				n, end, err := st.ch.consume(buf[pos:])
				if err != nil {
					return gnet.Close
				}
				pos += n
				st.received = st.ch.data
				done = end
			} else {
				k := min(st.left, int64(len(buf)-pos))
				pos += int(k)
				st.left -= k
				st.received += k
				done = st.left == 0
			}
			if !done {
				break
			}
			st.inBody = false
			out = st.site.appendReceived(out, st)
			if st.close {
				action = gnet.Close
			}
			continue
		}
		hd, n, err := parseHead(buf[pos:], false)
		if err == errNeedMore {
			break
		}
		if err != nil {
			return gnet.Close
		}
		pos += n
		st.close = hd.close
		ci := 0
		if hd.close {
			ci = 1
		}
		if hd.chunked || hd.contentLength > 0 {
			st.inBody, st.chunked, st.left, st.received = true, hd.chunked, hd.contentLength, 0
			st.ch = chunkedBody{}
			if hd.expectContinue {
				out = append(out, "HTTP/1.1 100 Continue\r\n\r\n"...)
			}
			continue
		}
		if string(hd.method) == "POST" || string(hd.method) == "PUT" {
			st.received = 0
			out = st.site.appendReceived(out, st)
		} else {
			switch p := hd.path; {
			case bytes.HasPrefix(p, []byte(path16K)):
				out = append(out, st.site.resp16K[ci]...)
			case bytes.HasPrefix(p, []byte(pathChunked)):
				out = append(out, st.site.respChk[ci]...)
			case bytes.HasPrefix(p, []byte(path1K)), string(p) == "/", bytes.HasPrefix(p, []byte("/?")):
				out = append(out, st.site.resp1K[ci]...)
			default:
				out = append(out, st.site.resp404[ci]...)
			}
		}
		if hd.close {
			action = gnet.Close
		}
	}
	if pos > 0 {
		_, _ = c.Discard(pos)
	}
	if len(out) > 0 {
		if _, err := c.Write(out); err != nil {
			return gnet.Close
		}
	}
	return action
}

// appendReceived appends the answer to a request whose body was read:
// the number of body bytes received, as text.
func (s *site) appendReceived(out []byte, st *backendConn) []byte {
	var num [24]byte
	body := strconv.AppendInt(num[:0], st.received, 10)
	body = append(body, '\n')
	conn := "keep-alive"
	if st.close {
		conn = "close"
	}
	out = fmt.Appendf(out, "HTTP/1.1 200 OK\r\nServer: shellac-bench\r\nX-Backend: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n", s.name, len(body), conn)
	return append(out, body...)
}

// BackendMain is the hidden `shellac bench-backend` subcommand: it starts
// the benchmark backends in this process, prints one line per backend
// ("backend NAME ADDR") and then "ready" on stdout, and serves until
// SIGTERM or SIGINT (or, with -exit-on-eof, until stdin closes, so the
// backends die with the harness that started them).
func BackendMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0,127.0.0.1:0", "comma-separated addresses, one backend each")
	loops := fs.Int("loops", 1, "event loops per backend")
	exitOnEOF := fs.Bool("exit-on-eof", false, "exit when stdin reaches end of file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	bs, err := StartBackends(strings.Split(*listen, ","), *loops)
	if err != nil {
		fmt.Fprintf(stderr, "bench-backend: %v\n", err)
		return 1
	}
	w := bufio.NewWriter(stdout)
	for i, addr := range bs.addrs {
		fmt.Fprintf(w, "backend %s %s\n", bs.names[i], addr)
	}
	fmt.Fprintln(w, "ready")
	_ = w.Flush()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(stop)
	eof := make(chan struct{})
	if *exitOnEOF {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(eof) }()
	}
	select {
	case <-stop:
	case <-eof:
	}
	if err := bs.Close(); err != nil {
		fmt.Fprintf(stderr, "bench-backend: %v\n", err)
		return 1
	}
	return 0
}
