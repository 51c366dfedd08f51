package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSystemdUnit checks deploy/systemd/shellac.service with
// systemd-analyze verify, pointed at a freshly built binary.
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "shellac.service"))
	if err != nil {
		t.Fatal(err)
	}
	bin := shellacBinary(t)
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/shellac", bin)
	dir := t.TempDir()
	path := filepath.Join(dir, "shellac.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	var problems []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "shellac.service") {
			problems = append(problems, l)
		}
	}
	if err != nil || len(problems) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"DynamicUser=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes", "ProtectSystem=strict", "ExecReload=/bin/kill -HUP $MAINPID"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
}

// TestDockerBuildFlags builds the binary with the flags of the
// Dockerfile's build stage: it must be static (no ELF interpreter, so it
// runs on a distroless/static image) and print a version.
func TestDockerBuildFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	f, err := os.Open(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^RUN CGO_ENABLED=0 go build (.*) -o /out/shellac ./cmd/shellac$`)
	var flags string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			flags = m[1]
		}
	}
	if flags == "" {
		t.Fatal("no `RUN CGO_ENABLED=0 go build … -o /out/shellac ./cmd/shellac` line in the Dockerfile")
	}
	args := []string{"build"}
	for _, a := range regexp.MustCompile(`-ldflags="[^"]*"|\S+`).FindAllString(flags, -1) {
		args = append(args, strings.ReplaceAll(a, `"`, ""))
	}
	out := filepath.Join(t.TempDir(), "shellac")
	args = append(args, "-o", out, ".")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		// -buildvcs=true needs the git checkout; a tarball has none.
		if strings.Contains(string(b), "vcs") {
			t.Skipf("not in a VCS checkout: %s", b)
		}
		t.Fatalf("go %v: %v\n%s", args, err, b)
	}
	ef, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("the binary has an ELF interpreter: it is not static")
		}
	}
	v, err := exec.Command(out, "version").Output()
	if err != nil || !strings.Contains(string(v), "(revision ") {
		t.Errorf("version: %q, %v; want the VCS revision stamped", v, err)
	}
}
