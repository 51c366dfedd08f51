package vclimport

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/app/topology"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/route"
)

// Equivalence with the oracle: VCL declaring the directors Varnish
// 7.1.1 recorded decisions for is imported, its TOML built into a live
// table by app/topology (as shellac builds it), and every recorded key
// must go to the recorded backend.

// build imports the VCL file and builds its table.
func build(t *testing.T, path string) (*Result, *route.Table) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Import(filepath.Base(path), src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Err != nil {
		t.Fatalf("the TOML does not validate: %v\n%s", r.Err, r.TOML)
	}
	tbl, err := topology.Build(r.Config, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, tbl
}

func request(t *testing.T, target, host string, headers ...string) *directors.Request {
	t.Helper()
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	h := &http1.Request{}
	if _, err := h.Parse([]byte(b.String()), nil); err != nil {
		t.Fatalf("%v parsing %q", err, b.String())
	}
	return &directors.Request{Head: h}
}

// recordedHosts are the host names testdata/recorded.vcl routes to each
// director of varnish-vectors.tsv.
var recordedHosts = map[string]string{
	"shard_std_key": "std-key.example", "shard_std_url": "std-url.example",
	"shard_ident_key": "ident-key.example", "shard_r10_key": "r10-key.example",
	"shard_std_key_alt1": "alt1.example", "hash_w1234": "hash.example",
}

// recordedEmbedded is varnish-vectors.tsv's decisions for key-1000..1005
// (by=URL: /obj/1000..1005), so the test runs without ../shared too.
var recordedEmbedded = []struct{ stage, director, want string }{
	{"healthy", "shard_std_key", "b1 b1 b2 b2 b1 b3"},
	{"healthy", "shard_std_url", "b1 b1 b3 b2 b3 b1"},
	{"healthy", "shard_ident_key", "b2 b2 b2 b1 b4 b2"},
	{"healthy", "shard_r10_key", "b1 b3 b2 b3 b3 b3"},
	{"healthy", "shard_std_key_alt1", "b3 b3 b3 b4 b3 b2"},
	{"healthy", "hash_w1234", "b4 b3 b2 b3 b3 b4"},
	{"b2-sick", "shard_std_key", "b1 b1 b3 b4 b1 b3"},
	{"b2-sick", "shard_std_url", "b1 b1 b3 b4 b3 b1"},
	{"b2-sick", "shard_ident_key", "b4 b4 b4 b1 b4 b1"},
	{"b2-sick", "shard_r10_key", "b1 b3 b3 b3 b3 b3"},
	{"b2-sick", "shard_std_key_alt1", "b3 b3 b3 b4 b3 b4"},
	{"b2-sick", "hash_w1234", "b4 b3 b3 b3 b3 b4"},
}

// checkRecorded routes the request for director's host through the
// imported table and checks it reaches want.
func checkRecorded(t *testing.T, tbl *route.Table, stage, director, key, url, want string) {
	t.Helper()
	tbl.Backends["b2"].SetAdminState(directors.AdminAuto)
	if stage == "b2-sick" {
		tbl.Backends["b2"].SetAdminState(directors.AdminSick)
	}
	host := recordedHosts[director]
	if host == "" {
		t.Fatalf("no host for director %q", director)
	}
	rt := tbl.Match([]byte(host), []byte(url))
	if rt == nil || rt == tbl.Default {
		t.Fatalf("%s: no route", host)
	}
	got := ""
	if b := directors.Resolve(rt.Target, request(t, url, host, "X-Key: "+key)); b != nil {
		got = b.Name()
	}
	if got != want {
		t.Errorf("%s %s key %s url %s → %s; Varnish chose %s", stage, director, key, url, got, want)
	}
}

func TestOracleRecordedEmbedded(t *testing.T) {
	_, tbl := build(t, "testdata/recorded.vcl")
	n := 0
	for _, c := range recordedEmbedded {
		for i, want := range strings.Fields(c.want) {
			checkRecorded(t, tbl, c.stage, c.director, fmt.Sprintf("key-%d", 1000+i), fmt.Sprintf("/obj/%d", 1000+i), want)
			n++
		}
	}
	if n != 72 {
		t.Errorf("checked %d vectors; want 72", n)
	}
}

// TestOracleRecordedFile checks every line of the shared vectors file.
func TestOracleRecordedFile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "shared", "notes", "varnish-vectors.tsv"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("../../shared/notes/varnish-vectors.tsv not found; TestOracleRecordedEmbedded checks the embedded copy")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, tbl := build(t, "testdata/recorded.vcl")
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.HasPrefix(line, "stage\t") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 6 {
			t.Fatalf("bad line %q", line)
		}
		checkRecorded(t, tbl, c[0], c[1], c[3], c[4], c[5])
		n++
	}
	if n != 72 {
		t.Errorf("checked %d vectors; the file has 72", n)
	}
}

// TestOracleExtraVectors imports the very VCL varnishd 7.1.1 ran to
// record directors/testdata/varnish71-extra.tsv and checks the 3000
// decisions, the weighted shard director s-w included.
func TestOracleExtraVectors(t *testing.T) {
	const vcl = "../directors/testdata/varnish71-extra.vcl"
	r, tbl := build(t, vcl)
	src, _ := os.ReadFile(vcl)
	lines := strings.Split(string(src), "\n")
	lineOf := func(needle string) int {
		for i, l := range lines {
			if strings.Contains(l, needle) {
				return i + 1
			}
		}
		t.Fatalf("%q not in %s", needle, vcl)
		return 0
	}
	// Each column of the TSV is the header the VCL sets from one
	// D.backend(…) call; the call's line says which director it became.
	dirOf := map[string]directors.Director{}
	for _, col := range []string{"s10", "s10-all2", "s10-ign1", "s10-cho3", "s10-int", "s10-url", "h5", "h5-ab", "s10-hash", "s-w"} {
		var line int
		if col == "s10-hash" {
			line = lineOf("set bereq.http.x-be =")
		} else {
			line = lineOf("set resp.http." + col + " =")
		}
		i := slices.IndexFunc(r.Calls, func(c BackendCall) bool { return c.Line == line })
		if i < 0 {
			t.Fatalf("no director for the call at line %d (%s)", line, col)
		}
		dirOf[col] = tbl.Directors[r.Calls[i].Director]
	}
	for _, l := range []int{19, 20, 21, 22} { // s_w.add_backend(bN, weight=…): translated
		if slices.ContainsFunc(r.Notes, func(n Note) bool { return n.Line == l }) {
			t.Errorf("a note for the shard weight at line %d", l)
		}
	}
	f, err := os.Open("../directors/testdata/varnish71-extra.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sick := map[string][]string{"healthy": nil, "b5-sick": {"b5"}, "b2b5-sick": {"b2", "b5"}}
	sc := bufio.NewScanner(f)
	n, bad := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 9 {
			t.Fatalf("bad line %q", line)
		}
		for name, b := range tbl.Backends {
			b.SetAdminState(directors.AdminAuto)
			if slices.Contains(sick[c[0]], name) {
				b.SetAdminState(directors.AdminSick)
			}
		}
		hdrs := []string{"X-Key: " + c[2], "X-Int: " + c[3], "X-A: " + c[4]}
		if c[5] != "" {
			hdrs = append(hdrs, "X-B: "+c[5])
		}
		// The director's own pick, as the header Varnish set records it
		// (with healthy=IGNORE it may be a sick backend).
		got := ""
		if m := dirOf[c[1]].Resolve(request(t, c[6], c[7], hdrs...)); m != nil {
			got = m.Name()
		}
		if got != c[8] {
			if bad++; bad <= 20 {
				t.Errorf("%s %s key=%s int=%s url=%s host=%s → %s; Varnish chose %s", c[0], c[1], c[2], c[3], c[6], c[7], got, c[8])
			}
		}
		n++
	}
	if n != 3000 || bad > 0 {
		t.Errorf("%d of %d vectors differ", bad, n)
	}
	t.Logf("%d of %d recorded decisions equal", n-bad, n)
}
