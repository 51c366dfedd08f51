package app

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/hostile"
)

// hostileConfig runs the corpus: requests go to a recording backend, and
// the targets of response cases to a raw backend that answers each case's
// bytes. The body limit is the one the corpus's 413 cases are written for.
const hostileConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "rec"
shutdown_timeout = "2s"

[limits]
max_body_bytes = 1048576
client_header_timeout = "3s"

[admin]
listen = ""

[log]
access = ""

[backends.rec]
address = %q

[backends.raw]
address = %q

[[routes]]
path_prefix = "/__hostile/resp/"
director = "raw"

[[routes]]
path_prefix = "/__hostile/second"
director = "raw"
`

// hostileTimeout bounds each read of a case's answers; the corpus has
// cases that hold a head or a body open until a proxy's timeout.
const hostileTimeout = 5 * time.Second

// TestHostileRequestCorpus sends every case of testdata/hostile/requests
// raw to shellac in front of a recording backend: each must get its
// statuses and its close, and the backend must receive nothing, or
// exactly the well-framed requests the case lists.
func TestHostileRequestCorpus(t *testing.T) {
	cases, err := hostile.Load(hostile.KindRequest, filepath.Join("..", "testdata", "hostile", "requests"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 250 {
		t.Fatalf("%d request cases; the corpus must hold at least 250", len(cases))
	}
	rec, err := hostile.NewRecordingBackend()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	raw, err := hostile.NewRawBackend(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	ta := startApp(t, fmt.Sprintf(hostileConfig, rec.Addr(), raw.Addr()))
	addr := ta.proxy[len("http://"):]

	passed, known := 0, 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Known != "" {
				known++
				t.Skipf("known: %s", c.Known)
			}
			res := hostile.Send(addr, c, hostileTimeout)
			if err := rec.Sync(addr, hostileTimeout); err != nil {
				t.Fatal(err)
			}
			got, _ := rec.Take()
			v := hostile.Check(c, res, got)
			if err := v.Err(); err != nil {
				t.Errorf("%s (%s)\n%v\nclient read %q", c.File, c.RFC, err, clip(res.Received, 300))
				return
			}
			passed++
		})
	}
	t.Logf("%d request cases: %d passed, %d known failures skipped", len(cases), passed, known)
}

// TestHostileResponseCorpus has a raw backend answer each case of
// testdata/hostile/responses: the client gets the case's status (a 502,
// or the response correctly truncated and closed), and a connection left
// open answers a second request correctly — it never desynchronises.
func TestHostileResponseCorpus(t *testing.T) {
	cases, err := hostile.Load(hostile.KindResponse, filepath.Join("..", "testdata", "hostile", "responses"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("%d response cases; want at least 20", len(cases))
	}
	rec, err := hostile.NewRecordingBackend()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	raw, err := hostile.NewRawBackend(cases)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	ta := startApp(t, fmt.Sprintf(hostileConfig, rec.Addr(), raw.Addr()))
	addr := ta.proxy[len("http://"):]

	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Known != "" {
				t.Skipf("known: %s", c.Known)
			}
			r := hostile.SendForResponse(addr, c, hostileTimeout)
			if err := hostile.CheckResponse(c, r).Err(); err != nil {
				t.Errorf("%s (%s)\n%v\nclient read %q", c.File, c.RFC, err, clip(r.Received, 300))
			}
			if bad := raw.Bad(); len(bad) > 0 {
				t.Errorf("the backend received malformed requests: %v", bad)
			}
		})
	}
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
