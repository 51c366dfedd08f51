package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/proxy"
)

const accessConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "web"
shutdown_timeout = "5s"

[admin]
listen = ""

[log]
access = %q
format = %q

[backends.a]
address = %q

[directors.web]
type = "round_robin"
members = ["a"]
`

// accessFields are the keys every access log line carries.
var accessFields = []string{"time", "msg", "client", "method", "path", "host", "status", "bytes",
	"backend", "director", "duration_ms", "ttfb_ms", "tries"}

// TestAccessLogJSON serves a few requests with a JSON access log and
// checks one line per request, with every field.
func TestAccessLogJSON(t *testing.T) {
	a := startBackend(t, "a")
	file := filepath.Join(t.TempDir(), "access.log")
	ta := startApp(t, fmt.Sprintf(accessConfig, file, "json", a.addr))
	bodies(t, ta.proxy, "/one?x=1", 1)
	bodies(t, ta.proxy, "/two", 2)
	shutdown(t, ta)

	lines := readLines(t, file)
	if len(lines) != 3 {
		t.Fatalf("%d lines; want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("line %q: %v", lines[0], err)
	}
	for _, f := range accessFields {
		if _, ok := rec[f]; !ok {
			t.Errorf("field %q missing from %s", f, lines[0])
		}
	}
	want := map[string]any{"client": "127.0.0.1", "method": "GET", "path": "/one?x=1", "status": 200.0,
		"backend": "a", "director": "web", "tries": 1.0, "msg": "access"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v; want %v", k, rec[k], v)
		}
	}
	if rec["bytes"].(float64) <= 1 || rec["duration_ms"].(float64) <= 0 || rec["ttfb_ms"].(float64) <= 0 {
		t.Errorf("bytes, duration_ms, ttfb_ms: %v %v %v; want > 0", rec["bytes"], rec["duration_ms"], rec["ttfb_ms"])
	}
	if _, err := time.Parse(time.RFC3339Nano, rec["time"].(string)); err != nil {
		t.Errorf("time %v: %v", rec["time"], err)
	}
}

// TestAccessLogText does the same with the text format, a 503 (no
// backend) included.
func TestAccessLogText(t *testing.T) {
	a := startBackend(t, "a")
	file := filepath.Join(t.TempDir(), "access.log")
	ta := startApp(t, fmt.Sprintf(accessConfig, file, "text", a.addr))
	bodies(t, ta.proxy, "/text", 2)
	ta.Table().Backends["a"].SetAdminState(directors.AdminSick) // the next request gets a 503
	if code, _ := get(t, &http.Client{Timeout: 5 * time.Second}, ta.proxy+"/none"); code != 503 {
		t.Fatalf("all sick: %d; want 503", code)
	}
	shutdown(t, ta)

	lines := readLines(t, file)
	if len(lines) != 3 {
		t.Fatalf("%d lines; want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, f := range accessFields {
		if !regexp.MustCompile(`(^| )` + f + `=`).MatchString(lines[0]) {
			t.Errorf("field %q missing from %s", f, lines[0])
		}
	}
	for _, s := range []string{"method=GET", "path=/text", "status=200", "backend=a", "director=web", "tries=1", "client=127.0.0.1"} {
		if !strings.Contains(lines[0], s) {
			t.Errorf("line %q lacks %s", lines[0], s)
		}
	}
	for _, s := range []string{"path=/none", "status=503", "backend=\"\"", "tries=0"} {
		if !strings.Contains(lines[2], s) {
			t.Errorf("503 line %q lacks %s", lines[2], s)
		}
	}
}

// TestAccessLogDropsWhenFull fills the queue with no writer running:
// record must neither block nor write, and must count the dropped lines.
func TestAccessLogDropsWhenFull(t *testing.T) {
	var dropped atomic.Uint64
	al := stalledAccessLog(&dropped)
	rec := testRecord()
	done := make(chan struct{})
	go func() {
		for i := 0; i < accessQueue+10; i++ {
			al.record(rec)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("record blocked on a full queue")
	}
	if n := dropped.Load(); n != 10 {
		t.Errorf("dropped %d; want 10", n)
	}
}

// stalledAccessLog is an access log whose writer never runs.
func stalledAccessLog(dropped *atomic.Uint64) *accessLog {
	al := &accessLog{free: make(chan *accessEntry, accessQueue), queue: make(chan *accessEntry, accessQueue), dropped: dropped}
	for range accessQueue {
		al.free <- &accessEntry{buf: make([]byte, 0, accessEntryBuf)}
	}
	return al
}

func testRecord() *proxy.Record {
	return &proxy.Record{
		Client: netip.MustParseAddr("192.0.2.1"), Method: []byte("GET"), Target: []byte("/x?y=z"),
		Host: []byte("example.com"), Status: 200, Bytes: 123, Backend: "a", Tries: 1,
		Start: 1, FirstByte: 2, End: 3,
	}
}

func shutdown(t *testing.T, ta *testApp) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ta.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestAccessLogOnAndOffByReload starts with no access log, turns it on by
// a reload, then off again: only the requests served while it was on are
// logged, and each of them whole.
func TestAccessLogOnAndOffByReload(t *testing.T) {
	a := startBackend(t, "a")
	file := filepath.Join(t.TempDir(), "access.log")
	ta := startApp(t, fmt.Sprintf(accessConfig, "", "json", a.addr))
	setAccess := func(to string) {
		t.Helper()
		text, err := os.ReadFile(ta.path)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`(?m)^access = ".*"$`)
		if err := os.WriteFile(ta.path, re.ReplaceAll(text, []byte(fmt.Sprintf("access = %q", to))), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := ta.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	bodies(t, ta.proxy, "/before", 1)
	setAccess(file)
	bodies(t, ta.proxy, "/on", 2)
	setAccess("")
	bodies(t, ta.proxy, "/after", 1)

	var lines []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(file); err == nil {
			if lines = readLines(t, file); len(lines) >= 2 {
				break
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // the old log is closed 100 ms after the switch
	lines = readLines(t, file)
	if len(lines) != 2 {
		t.Fatalf("%d lines; want the 2 requests served while the log was on:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if rec["path"] != "/on" || rec["method"] != "GET" || rec["status"] != 200.0 || rec["backend"] != "a" {
			t.Errorf("line %q; want GET /on 200 from a", l)
		}
	}
}

// TestAccessLogRequestID logs the id a request_id rule made, the one a
// client sent, and the path as received before a rewrite.
func TestAccessLogRequestID(t *testing.T) {
	a := startBackend(t, "a")
	file := filepath.Join(t.TempDir(), "access.log")
	cfg := fmt.Sprintf(accessConfig, file, "json", a.addr) + `
[[request_rules]]
request_id = "X-Request-Id"

[[request_rules]]
strip_prefix = "/app"
`
	ta := startApp(t, cfg)
	bodies(t, ta.proxy, "/app/one", 1)
	req, _ := http.NewRequest("GET", ta.proxy+"/two", nil)
	req.Header.Set("X-Request-Id", "from-client-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	shutdown(t, ta)
	lines := readLines(t, file)
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	var one, two map[string]any
	json.Unmarshal([]byte(lines[0]), &one)
	json.Unmarshal([]byte(lines[1]), &two)
	if id, _ := one["request_id"].(string); len(id) != 32 || one["path"] != "/app/one" {
		t.Errorf("first line: request_id %v path %v:\n%s", one["request_id"], one["path"], lines[0])
	}
	if two["request_id"] != "from-client-7" {
		t.Errorf("second line: request_id %v", two["request_id"])
	}
}
