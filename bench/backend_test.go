package bench

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startTestBackends(t *testing.T) *Backends {
	t.Helper()
	bs, err := StartBackends([]string{"127.0.0.1:0", "127.0.0.1:0"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bs.Close(); err != nil {
			t.Error(err)
		}
	})
	return bs
}

// TestBackendAnswersNetHTTP checks every kind of answer of the gnet
// backend against a net/http client.
func TestBackendAnswersNetHTTP(t *testing.T) {
	bs := startTestBackends(t)
	if len(bs.Addrs()) != 2 || bs.Addrs()[0] == bs.Addrs()[1] {
		t.Fatalf("addrs = %v; want two distinct", bs.Addrs())
	}
	base := "http://" + bs.Addrs()[0]
	c := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	for _, tc := range []struct {
		path    string
		size    int
		chunked bool
	}{{"/1k", 1 << 10, false}, {"/16k", 16 << 10, false}, {"/chunked", 1 << 10, true}, {"/", 1 << 10, false}} {
		resp, body := get(tc.path)
		if resp.StatusCode != 200 || len(body) != tc.size {
			t.Errorf("GET %s: status %d, %d bytes; want 200, %d", tc.path, resp.StatusCode, len(body), tc.size)
		}
		if got := len(resp.TransferEncoding) > 0; got != tc.chunked {
			t.Errorf("GET %s: chunked = %v; want %v", tc.path, got, tc.chunked)
		}
		if b := resp.Header.Get("X-Backend"); b != "b1" {
			t.Errorf("GET %s: X-Backend = %q; want b1", tc.path, b)
		}
	}
	if resp, _ := get("/nope"); resp.StatusCode != 404 {
		t.Errorf("GET /nope: status %d; want 404", resp.StatusCode)
	}

	post := func(body io.Reader, size int64) string {
		t.Helper()
		req, _ := http.NewRequest("POST", base+pathPost, body)
		req.ContentLength = size
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}
	big := bytes.Repeat([]byte("x"), 100000)
	if got := post(bytes.NewReader(big), int64(len(big))); got != "100000" {
		t.Errorf("POST Content-Length 100000: sink read %s", got)
	}
	// A reader of unknown length makes net/http send a chunked body.
	if got := post(io.MultiReader(bytes.NewReader(big[:70000])), -1); got != "70000" {
		t.Errorf("POST chunked 70000: sink read %s", got)
	}
	if got := post(nil, 0); got != "0" {
		t.Errorf("POST empty: sink read %s", got)
	}
}

// TestBackendPipelinedAndClose sends three pipelined requests in one write,
// the last with Connection: close, and expects three answers in order
// followed by the end of the connection.
func TestBackendPipelinedAndClose(t *testing.T) {
	bs := startTestBackends(t)
	c, err := net.Dial("tcp", bs.Addrs()[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET /16k HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
		"GET /1k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var rr respReader
	rr.reset(c)
	for i, want := range []bool{false, false, true} {
		status, closed, err := rr.readResponse()
		if err != nil || status != 200 || closed != want {
			t.Fatalf("response %d: status %d, close %v, err %v; want 200, %v", i, status, closed, err, want)
		}
	}
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after Connection: close read %d bytes, err %v; want EOF", n, err)
	}
}

func TestReadBackendAddrs(t *testing.T) {
	out := "[gnet] noise\nbackend b1 127.0.0.1:1\nbackend b2 127.0.0.1:2\nready\n"
	addrs, err := readBackendAddrs(strings.NewReader(out), time.Second)
	if err != nil || strings.Join(addrs, ",") != "127.0.0.1:1,127.0.0.1:2" {
		t.Errorf("got %v, %v", addrs, err)
	}
	if _, err := readBackendAddrs(strings.NewReader("unknown command\n"), time.Second); err == nil {
		t.Error("no error for output without ready")
	}
}
