package proxy

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// pattern is a deterministic, incompressible-enough byte stream.
type pattern struct{ off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		x := p.off + int64(i)
		b[i] = byte(x*7 + x>>8 + x>>16)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternSum(n int64) string {
	h := sha256.New()
	io.CopyN(h, &pattern{}, n)
	return hex.EncodeToString(h.Sum(nil))
}

// bulkHandler serves /down?n=N&chunked=1 (N pattern bytes) and /up (the
// SHA-256 of the body), optionally reading slowly.
func bulkHandler(slowRead time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
			if r.URL.Query().Get("chunked") == "" {
				w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			}
			io.CopyN(w, &pattern{}, n)
		case "/up":
			h := sha256.New()
			buf := make([]byte, 64<<10)
			var total int64
			for {
				k, err := r.Body.Read(buf)
				h.Write(buf[:k])
				total += int64(k)
				if err != nil {
					break
				}
				if slowRead > 0 {
					time.Sleep(slowRead)
				}
			}
			w.Header().Set("X-Len", strconv.FormatInt(total, 10))
			io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
		}
	})
}

// marks returns the buffer high-water marks across loops.
func (p *proxy) marks() highWaterMarks {
	var m highWaterMarks
	p.forEachLoop(func(l *loop) {
		m.note(&m.clientOut, l.hw.clientOut)
		m.note(&m.backendOut, l.hw.backendOut)
		m.note(&m.clientIn, l.hw.clientIn)
		m.note(&m.backendIn, l.hw.backendIn)
	})
	return m
}

// bufferBound is what any one connection may buffer: the high-water mark
// plus one read (gnet reads up to 64 KiB at a time) plus a write of one
// read's worth that crossed the mark.
const bufferBound = highWater + 2*(64<<10)

func checkBounded(t *testing.T, p *proxy) {
	t.Helper()
	m := p.marks()
	t.Logf("buffer high-water marks: client out %d, backend out %d, client in %d, backend in %d", m.clientOut, m.backendOut, m.clientIn, m.backendIn)
	for name, v := range map[string]int{"client out": m.clientOut, "backend out": m.backendOut, "client in": m.clientIn, "backend in": m.backendIn} {
		if v > bufferBound {
			t.Errorf("%s buffered %d bytes; bound is %d", name, v, bufferBound)
		}
	}
}

func TestLargeBodies(t *testing.T) {
	sizes := []int64{1 << 20, 100 << 20}
	if testing.Short() {
		sizes = sizes[:1]
	}
	a := newTestBackend(t, "a", bulkHandler(0))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	c := newClient()
	for _, n := range sizes {
		want := patternSum(n)
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("down-%d-chunked=%v", n, chunked), func(t *testing.T) {
				u := p.url(fmt.Sprintf("/down?n=%d", n))
				if chunked {
					u += "&chunked=1"
				}
				resp, err := c.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				h := sha256.New()
				got, err := io.Copy(h, resp.Body)
				if err != nil || got != n || hex.EncodeToString(h.Sum(nil)) != want {
					t.Fatalf("downloaded %d bytes (err %v), checksum match %v; want %d", got, err, hex.EncodeToString(h.Sum(nil)) == want, n)
				}
			})
			t.Run(fmt.Sprintf("up-%d-chunked=%v", n, chunked), func(t *testing.T) {
				req, _ := http.NewRequest("POST", p.url("/up"), io.LimitReader(&pattern{}, n))
				if !chunked {
					req.ContentLength = n
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if got := bodyOf(t, resp); got != want || resp.Header.Get("X-Len") != strconv.FormatInt(n, 10) {
					t.Fatalf("backend got %s bytes, checksum match %v", resp.Header.Get("X-Len"), got == want)
				}
			})
		}
	}
	checkBounded(t, p)
}

// TestSlowClientBoundedBuffering reads a large response slowly: the proxy
// must stop reading from the backend instead of buffering the response.
func TestSlowClientBoundedBuffering(t *testing.T) {
	n := int64(100 << 20)
	if testing.Short() {
		n = 16 << 20
	}
	a := newTestBackend(t, "a", bulkHandler(0))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(64 << 10)
	fmt.Fprintf(conn, "GET /down?n=%d HTTP/1.1\r\nHost: x\r\n\r\n", n)
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var got int64
	deadline := time.Now().Add(2 * time.Minute)
	for got < n && time.Now().Before(deadline) {
		k, err := resp.Body.Read(buf)
		h.Write(buf[:k])
		got += int64(k)
		if err != nil {
			break
		}
		time.Sleep(2 * time.Millisecond) // ~100 MB/s at most
	}
	if got != n || hex.EncodeToString(h.Sum(nil)) != patternSum(n) {
		t.Fatalf("read %d of %d bytes, checksum ok %v", got, n, hex.EncodeToString(h.Sum(nil)) == patternSum(n))
	}
	checkBounded(t, p)
}

// TestSlowBackendBoundedBuffering uploads a large body to a backend that
// reads slowly: the proxy must stop reading from the client.
func TestSlowBackendBoundedBuffering(t *testing.T) {
	n := int64(100 << 20)
	if testing.Short() {
		n = 16 << 20
	}
	a := newTestBackend(t, "a", bulkHandler(500*time.Microsecond))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	req, _ := http.NewRequest("POST", p.url("/up"), io.LimitReader(&pattern{}, n))
	req.ContentLength = n
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := bodyOf(t, resp); got != patternSum(n) {
		t.Fatalf("backend checksum mismatch (got %d bytes)", len(got))
	}
	checkBounded(t, p)
}

// TestMaxBodyBytes413 refuses a declared body over the limit before it
// reaches a backend, and cuts a chunked one when it crosses the limit.
func TestMaxBodyBytes413(t *testing.T) {
	a := newTestBackend(t, "a", bulkHandler(0))
	p := startProxy(t, Options{MaxBodyBytes: 1000}, tableOf(a.backend(directors.BackendConfig{}), nil))
	got := rawExchange(t, p.addr, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 413 ") {
		t.Errorf("declared body over the limit: got %q; want 413", got)
	}
	if a.requests.Load() != 0 {
		t.Errorf("backend saw %d requests; want 0", a.requests.Load())
	}
	body := "3e8\r\n" + strings.Repeat("z", 1000) + "\r\n10\r\n" + strings.Repeat("z", 16) + "\r\n0\r\n\r\n"
	got = rawExchange(t, p.addr, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+body, 2*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 413 ") {
		t.Errorf("chunked body over the limit: got %q; want 413", got)
	}
}
