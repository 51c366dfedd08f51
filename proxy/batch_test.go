package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// Responses to pipelined requests are batched into one write; the batch
// must keep their order, let large (streamed) responses through, and hold
// nothing back for long.
func TestPipelinedBatchMixed(t *testing.T) {
	big := strings.Repeat("B", 300<<10)
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		switch {
		case i%7 == 3:
			w.WriteHeader(204)
		case i%11 == 5:
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			fmt.Fprint(w, big)
		case i%13 == 6:
			w.(http.Flusher).Flush() // chunked
			fmt.Fprintf(w, "chunked-%d", i)
		default:
			fmt.Fprintf(w, "resp-%d", i)
		}
	}))
	p := startProxy(t, Options{EventLoops: 1}, tableOf(a.backend(directors.BackendConfig{}), nil))
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 60
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "GET /?i=%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	go conn.Write(buf.Bytes())
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	rs := readResponses(t, bufio.NewReader(conn), n, "GET")
	for i, r := range rs {
		got := bodyOf(t, r)
		switch {
		case i%7 == 3:
			if r.StatusCode != 204 || got != "" {
				t.Errorf("response %d: %d %q; want 204", i, r.StatusCode, got)
			}
		case i%11 == 5:
			if got != big {
				t.Errorf("response %d: %d bytes; want %d", i, len(got), len(big))
			}
		case i%13 == 6:
			if want := fmt.Sprintf("chunked-%d", i); got != want {
				t.Errorf("response %d = %q; want %q", i, got, want)
			}
		default:
			if want := fmt.Sprintf("resp-%d", i); got != want {
				t.Errorf("response %d = %q; want %q", i, got, want)
			}
		}
	}
}

// A response held back for a batch goes out on the next tick when the
// next pipelined request is slow to answer.
func TestPipelinedBatchBounded(t *testing.T) {
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(time.Second)
		}
		fmt.Fprint(w, r.URL.Path)
	}))
	p := startProxy(t, Options{EventLoops: 1}, tableOf(a.backend(directors.BackendConfig{}), nil))
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	first := readResponses(t, br, 1, "GET")[0]
	if got := bodyOf(t, first); got != "/fast" {
		t.Fatalf("first response %q", got)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("first response took %v; it waited for the slow second one", d)
	}
	if got := bodyOf(t, readResponses(t, br, 1, "GET")[0]); got != "/slow" {
		t.Fatalf("second response %q", got)
	}
}

func TestEnsureProcs(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(1)
	ensureProcs(2)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS = %d after ensureProcs(2) from 1; want 3", got)
	}
	runtime.GOMAXPROCS(8)
	ensureProcs(2)
	if got := runtime.GOMAXPROCS(0); got != 8 {
		t.Errorf("GOMAXPROCS = %d; ensureProcs must not lower it", got)
	}
	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1)
	ensureProcs(2)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS = %d; an explicit GOMAXPROCS must be kept", got)
	}
}
