package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// TestStateFile: what one App writes to server.state_file, the next one
// started with the file restores — the operator override of a backend
// with the same address, a saintmode blacklist — and a backend whose
// address changed starts from its configuration.
func TestStateFile(t *testing.T) {
	b1, b2 := startBackend(t, "b1"), startBackend(t, "b2")
	state := filepath.Join(t.TempDir(), "state.json")
	text := `
[server]
listen = ["{LISTEN}"]
default_director = "sm"
state_file = "` + state + `"
[admin]
listen = "{ADMIN}"
[backends.b1]
address = "` + b1.addr + `"
[backends.b2]
address = "ADDR2"
[directors.sm]
type = "saintmode"
member = "b1"
threshold = 5
`
	first := startApp(t, strings.Replace(text, "ADDR2", b2.addr, 1))
	first.admin.must(200, "POST", "/backends/b1/health", `{"state":"sick"}`)
	first.admin.must(200, "POST", "/backends/b2/health", `{"state":"sick"}`)
	now := time.Now().UnixNano()
	entry := directors.SaintEntry{Digest: [32]byte{1, 2, 3}, Expires: now + int64(time.Minute)}
	first.Table().Directors["sm"].(*directors.Saintmode).Restore([]directors.SaintEntry{entry}, now)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.Shutdown(ctx); err != nil { // writes the file a last time
		t.Fatal(err)
	}
	if data, err := os.ReadFile(state); err != nil || !strings.Contains(string(data), `"admin": "sick"`) {
		t.Fatalf("state file: %v\n%s", err, data)
	}

	// b2 moved: its entry must not apply.
	second := startApp(t, strings.Replace(text, "ADDR2", startBackend(t, "b2new").addr, 1))
	bs := second.Table().Backends
	if got := bs["b1"].AdminState(); got != directors.AdminSick {
		t.Errorf("b1 after restart: %v, want sick", got)
	}
	if got := bs["b2"].AdminState(); got != directors.AdminAuto {
		t.Errorf("b2 (another address) after restart: %v, want auto", got)
	}
	es := second.Table().Directors["sm"].(*directors.Saintmode).Entries(time.Now().UnixNano())
	if len(es) != 1 || es[0] != entry {
		t.Errorf("saintmode entries after restart: %+v, want [%+v]", es, entry)
	}

	// Applied once: a reload does not re-apply the file over a change.
	second.admin.must(200, "POST", "/backends/b1/health", `{"state":"auto"}`)
	second.admin.must(200, "POST", "/reload", "")
	if got := bs["b1"].AdminState(); got != directors.AdminAuto {
		t.Errorf("b1 after a reload: %v, want the operator's auto", got)
	}
}
