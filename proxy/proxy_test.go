package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
	"github.com/shellac-lb/shellac/route"
)

func TestMethods(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{XForwardedFor: true}, tableOf(a.backend(directors.BackendConfig{}), nil))
	c := newClient()
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		body := ""
		if m == "POST" || m == "PUT" || m == "PATCH" {
			body = strings.Repeat("x", 1000)
		}
		req, _ := http.NewRequest(m, p.url("/m/"+m+"?q=1"), strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		got := bodyOf(t, resp)
		want := fmt.Sprintf("a %s /m/%s?q=1 %d", m, m, len(body))
		if resp.StatusCode != 200 || got != want {
			t.Errorf("%s: got %d %q; want 200 %q", m, resp.StatusCode, got, want)
		}
		if xff := resp.Header.Get("X-Got-XFF"); xff != "127.0.0.1" {
			t.Errorf("%s: backend saw X-Forwarded-For %q; want 127.0.0.1", m, xff)
		}
	}
}

// TestKeepAliveReuse checks that 50 sequential requests use one client
// connection and one backend connection.
func TestKeepAliveReuse(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{EventLoops: 1}, tableOf(a.backend(directors.BackendConfig{}), nil))
	c := newClient()
	reused := 0
	for i := 0; i < 50; i++ {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, _ := http.NewRequest("GET", p.url("/"), nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		bodyOf(t, resp)
	}
	if reused != 49 {
		t.Errorf("client reused its connection %d times; want 49", reused)
	}
	if n := a.conns.Load(); n != 1 {
		t.Errorf("backend saw %d connections for 50 requests; want 1", n)
	}
	if n := a.requests.Load(); n != 50 {
		t.Errorf("backend saw %d requests; want 50", n)
	}
}

func TestRoundRobinAlternates(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	b := newTestBackend(t, "b", nil)
	p := startProxy(t, Options{}, rrTable(a.backend(directors.BackendConfig{}), b.backend(directors.BackendConfig{})))
	c := newClient()
	var seq []string
	for i := 0; i < 10; i++ {
		resp, err := c.Get(p.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		bodyOf(t, resp)
		seq = append(seq, resp.Header.Get("X-Backend"))
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] == seq[i-1] {
			t.Fatalf("round robin sequence %v repeats a backend", seq)
		}
	}
}

func TestPipelinedInOrder(t *testing.T) {
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answer later requests faster to catch reordering.
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		time.Sleep(time.Duration(10-i) * time.Millisecond)
		fmt.Fprintf(w, "resp-%d", i)
	}))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var buf bytes.Buffer
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&buf, "GET /?i=%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rs := readResponses(t, bufio.NewReader(conn), 10, "GET")
	for i, r := range rs {
		if got, want := bodyOf(t, r), fmt.Sprintf("resp-%d", i); got != want {
			t.Errorf("pipelined response %d = %q; want %q", i, got, want)
		}
	}
}

func TestHeadNoContentNotModified(t *testing.T) {
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "11")
			io.WriteString(w, "hello world")
		}
	}))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// One connection: a body-less response must not desynchronise it.
	io.WriteString(conn, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /304 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	head := readResponses(t, br, 1, "HEAD")[0]
	if head.StatusCode != 200 || head.ContentLength != 11 || bodyOf(t, head) != "" {
		t.Errorf("HEAD: %d CL=%d", head.StatusCode, head.ContentLength)
	}
	rs := readResponses(t, br, 3, "GET")
	if rs[0].StatusCode != 204 || rs[1].StatusCode != 304 || rs[2].StatusCode != 200 || bodyOf(t, rs[2]) != "hello world" {
		t.Errorf("got statuses %d %d %d", rs[0].StatusCode, rs[1].StatusCode, rs[2].StatusCode)
	}
}

func TestChunkedBodiesAndTrailers(t *testing.T) {
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Sum")
		w.Header().Set("X-Req-Trailer", r.Trailer.Get("X-Req-Sum"))
		w.Header().Set("X-Req-TE", strings.Join(r.TransferEncoding, ","))
		w.(http.Flusher).Flush() // forces a chunked response
		for i := 0; i < 5; i++ {
			w.Write(body)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", strconv.Itoa(5*len(body)))
	}))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	c := newClient()
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 10; i++ {
			pw.Write([]byte(strings.Repeat("y", 100)))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", p.url("/"), pr)
	req.ContentLength = -1
	req.Trailer = http.Header{"X-Req-Sum": nil}
	go func() {}()
	req.Trailer.Set("X-Req-Sum", "1000")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got := bodyOf(t, resp)
	if len(got) != 5000 || strings.Trim(got, "y") != "" {
		t.Errorf("chunked response body: %d bytes", len(got))
	}
	if te := resp.Header.Get("X-Req-TE"); te != "chunked" {
		t.Errorf("backend saw Transfer-Encoding %q; want chunked", te)
	}
	if tr := resp.Header.Get("X-Req-Trailer"); tr != "1000" {
		t.Errorf("backend saw request trailer %q; want 1000", tr)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("client saw Transfer-Encoding %v; want chunked", resp.TransferEncoding)
	}
	if tr := resp.Trailer.Get("X-Sum"); tr != "5000" {
		t.Errorf("client saw response trailer X-Sum=%q; want 5000", tr)
	}
}

func TestExpectContinue(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q, %v; want a 100 Continue before the body", line, err)
	}
	if l2, _ := br.ReadString('\n'); l2 != "\r\n" {
		t.Fatalf("100 Continue head has extra fields: %q", l2)
	}
	io.WriteString(conn, "hello")
	r := readResponses(t, br, 1, "POST")[0]
	if got := bodyOf(t, r); got != "a POST /up 5" {
		t.Errorf("body %q", got)
	}
}

func TestBackendClosesIdlePooledConnection(t *testing.T) {
	a := startTestBackend(t, "a", "tcp", "127.0.0.1:0", nil, func(s *http.Server) { s.IdleTimeout = 100 * time.Millisecond })
	p := startProxy(t, Options{EventLoops: 1}, tableOf(a.backend(directors.BackendConfig{}), nil))
	c := newClient()
	for i := 0; i < 3; i++ {
		resp, err := c.Get(p.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		bodyOf(t, resp)
		time.Sleep(300 * time.Millisecond) // the backend closes its idle side
	}
	if n := a.conns.Load(); n < 2 {
		t.Errorf("backend saw %d connections; want a new one after each idle close", n)
	}
}

// TestStaleConnectionRetried races a request against a backend closing a
// pooled connection: the backend closes right after answering while still
// advertising keep-alive, so the next request hits a dead connection. The
// proxy must retry it once on a fresh connection.
func TestStaleConnectionRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted int
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted++
			go func(c net.Conn) {
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					c.Close()
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				// Lie about keep-alive: wait, then drop the connection
				// without reading the next request.
				time.Sleep(50 * time.Millisecond)
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}(c)
		}
	}()
	b := directors.NewBackend("s", directors.BackendConfig{Network: "tcp", Address: ln.Addr().String(), MaxIdle: 4, IdleTimeout: time.Minute, FirstByteTimeout: 5 * time.Second})
	p := startProxy(t, Options{EventLoops: 1}, tableOf(b, nil))
	c := newClient()
	for i := 0; i < 3; i++ {
		resp, err := c.Get(p.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		if got := bodyOf(t, resp); resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("request %d: %d %q; want 200 ok (stale pooled connection not retried)", i, resp.StatusCode, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBackendRefused502(t *testing.T) {
	dead := testutil.FreeAddr(t) // nothing listens there
	b := directors.NewBackend("dead", directors.BackendConfig{Network: "tcp", Address: dead, ConnectTimeout: time.Second})
	p := startProxy(t, Options{}, tableOf(b, nil))
	resp, err := newClient().Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, resp)
	if resp.StatusCode != 502 {
		t.Errorf("status %d; want 502", resp.StatusCode)
	}
}

func TestNoHealthyBackend503(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	be := a.backend(directors.BackendConfig{})
	be.SetAdminState(directors.AdminSick)
	p := startProxy(t, Options{}, rrTable(be))
	resp, err := newClient().Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, resp)
	if resp.StatusCode != 503 {
		t.Errorf("status %d; want 503", resp.StatusCode)
	}
	if a.requests.Load() != 0 {
		t.Errorf("sick backend got %d requests", a.requests.Load())
	}
	// The connection stays usable: set it healthy and go again.
	be.SetAdminState(directors.AdminAuto)
	resp, err = newClient().Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	if bodyOf(t, resp); resp.StatusCode != 200 {
		t.Errorf("after healthy: status %d", resp.StatusCode)
	}
}

func TestSlowFirstByte504(t *testing.T) {
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(600 * time.Millisecond)
		io.WriteString(w, "late")
	}))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{FirstByteTimeout: 150 * time.Millisecond}), nil))
	start := time.Now()
	resp, err := newClient().Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, resp)
	if resp.StatusCode != 504 {
		t.Errorf("status %d; want 504", resp.StatusCode)
	}
	if el := time.Since(start); el > 550*time.Millisecond {
		t.Logf("504 took %v", el) // informational; no timing assertion
	}
}

func TestSlowClientHead408(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{ClientHeaderTimeout: 200 * time.Millisecond}, tableOf(a.backend(directors.BackendConfig{}), nil))
	got := rawExchange(t, p.addr, "GET / HTTP/1.1\r\nHost: x\r\n", 3*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, "Connection: close") {
		t.Errorf("got %q; want a 408 with Connection: close", got)
	}
	if a.requests.Load() != 0 {
		t.Errorf("backend got %d requests", a.requests.Load())
	}
}

func TestUnixSocketBackend(t *testing.T) {
	u := newUnixBackend(t, "u", nil)
	p := startProxy(t, Options{}, tableOf(u.backend(directors.BackendConfig{}), nil))
	c := newClient()
	for i := 0; i < 3; i++ {
		resp, err := c.Post(p.url("/unix"), "text/plain", strings.NewReader("abc"))
		if err != nil {
			t.Fatal(err)
		}
		if got := bodyOf(t, resp); got != "u POST /unix 3" {
			t.Errorf("got %q", got)
		}
	}
	if n := u.conns.Load(); n != 1 {
		t.Errorf("unix backend saw %d connections; want 1 (reused)", n)
	}
}

type staticResponder struct {
	status int
	body   string
}

func (s staticResponder) Respond(r *directors.Request, w directors.ResponseWriter) {
	w.WriteStatus(s.status)
	w.AddHeader("Retry-After", "120")
	w.AddHeader("Content-Length", "999") // ignored: framing is the proxy's
	w.Write([]byte(s.body))
}

func TestSyntheticBackend(t *testing.T) {
	b := directors.NewResponderBackend("maint", staticResponder{503, "down for maintenance\n"})
	p := startProxy(t, Options{}, tableOf(b, nil))
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcHEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	rs := readResponses(t, br, 2, "GET")
	for i, r := range rs {
		if r.StatusCode != 503 || r.Header.Get("Retry-After") != "120" || bodyOf(t, r) != "down for maintenance\n" {
			t.Errorf("response %d: %d %v", i, r.StatusCode, r.Header)
		}
	}
	h := readResponses(t, br, 1, "HEAD")[0]
	if h.StatusCode != 503 || h.ContentLength != int64(len("down for maintenance\n")) {
		t.Errorf("HEAD: %d CL %d", h.StatusCode, h.ContentLength)
	}
}

// TestRetryOnConnectFailure checks retries = 1 on connect moves a request
// from a dead backend to a live one.
func TestRetryOnConnectFailure(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	dead := directors.NewBackend("dead", directors.BackendConfig{Network: "tcp", Address: testutil.FreeAddr(t), ConnectTimeout: time.Second})
	rr := directors.NewRoundRobin("web")
	rr.Add(dead, 1)
	rr.Add(a.backend(directors.BackendConfig{}), 1)
	p := startProxy(t, Options{}, tableOf(rr, &route.Route{Retry: route.RetryPolicy{Max: 1, On: route.RetryConnect}}))
	c := newClient()
	for i := 0; i < 4; i++ {
		resp, err := c.Get(p.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		if bodyOf(t, resp); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d; want 200 after retry", i, resp.StatusCode)
		}
	}
	if dead.Failures() == 0 {
		t.Errorf("dead backend recorded no failures")
	}
}
