package arch

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/shellac-lb/shellac/"

// Layers of docs/architecture.md. The data plane runs the request path;
// the control plane reads configuration and serves the admin API; cmd and
// bench assemble programs.
var (
	dataPlane    = []string{"http1", "directors", "directors/contrib", "health", "pool", "rules", "route", "proxy"}
	controlPlane = []string{"config", "app", "app/topology", "admin", "discovery", "vclimport"}
	programs     = []string{"cmd/shellac", "bench", "scripts/hostilepeers"}
)

// rules lists, per package (a prefix match on the path below the module),
// what it must not depend on, directly or not.
var rules = []struct {
	pkgs      []string
	forbidden []string
	why       string
}{
	{dataPlane, controlPlane, "the data plane never imports the control plane"},
	{dataPlane, programs, "the data plane never imports a program"},
	{controlPlane, programs, "nothing imports the programs"},
	{[]string{"http1", "directors", "directors/contrib", "health", "rules", "route", "pool"},
		[]string{"github.com/panjf2000/gnet"}, "only the proxy knows gnet"},
	{[]string{"config"}, []string{"directors/contrib"},
		"plug-ins are registered where the program is assembled (app), not by the configuration"},
	{[]string{"proxy", "route", "rules"}, []string{"app/topology", "config"},
		"routes are built by app/topology; the request path never sees configuration types"},
}

// deps returns every package of the module with its transitive imports
// (outside the standard library), as go list reports them.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			m[strings.TrimPrefix(f[0], mod)] = f[1:]
		}
	}
	return m
}

// forbiddenDep reports whether dep is one of forbidden: a package of this
// module (exactly), or any package of an outside module (a prefix with a
// dot, such as github.com/panjf2000/gnet).
func forbiddenDep(dep string, forbidden []string) bool {
	for _, f := range forbidden {
		if strings.Contains(f, ".") {
			if strings.HasPrefix(dep, f) {
				return true
			}
		} else if dep == mod+f {
			return true
		}
	}
	return false
}

// TestImportArrows fails when a package depends on one its layer must not
// know (docs/architecture.md).
func TestImportArrows(t *testing.T) {
	graph := deps(t)
	for _, pkgs := range [][]string{dataPlane, controlPlane, programs} {
		for _, p := range pkgs {
			if _, ok := graph[p]; !ok {
				t.Errorf("package %s of docs/architecture.md does not exist: update the map and this test", p)
			}
		}
	}
	for _, r := range rules {
		for _, p := range r.pkgs {
			for _, d := range graph[p] {
				if forbiddenDep(d, r.forbidden) {
					t.Errorf("%s depends on %s: %s", p, strings.TrimPrefix(d, mod), r.why)
				}
			}
		}
	}
	// Every package is on the map, so a new one gets a place on purpose.
	known := append(append(append([]string{}, dataPlane...), controlPlane...), programs...)
	for p := range graph {
		if !slices.Contains(known, p) && !strings.HasPrefix(p, "internal/") && !strings.HasPrefix(p, "examples/") {
			t.Errorf("package %s is not on the map of docs/architecture.md (nor in this test's layers)", p)
		}
	}
}

// TestGnetInternalsInOneFile: only proxy/gnetinternals.go reaches into
// gnet's unexported code (go:linkname, reflect on its types).
func TestGnetInternalsInOneFile(t *testing.T) {
	root, _ := filepath.Abs("../..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if rel == filepath.Join("proxy", "gnetinternals.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("//go:linkname")) {
			t.Errorf("%s uses go:linkname: reaches into another package's internals belong in proxy/gnetinternals.go", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
