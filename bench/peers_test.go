package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testParams(t *testing.T) peerParams {
	return peerParams{
		Listen:    "127.0.0.1:18080",
		Backends:  []string{"127.0.0.1:19001", "127.0.0.1:19002"},
		Workers:   1,
		Dir:       t.TempDir(),
		MaxConns:  11024,
		AdminAddr: "127.0.0.1:19091",
	}
}

// TestPeerConfigs checks that each generated configuration names both
// backends, the listen address and the one-worker setting, and, when the
// peer is installed, that the peer's own checker accepts it.
func TestPeerConfigs(t *testing.T) {
	want := map[string][]string{
		"shellac": {`listen = ["127.0.0.1:18080"]`, "event_loops = 1", `type = "round_robin"`, `access = ""`,
			`address = "127.0.0.1:19001"`, `address = "127.0.0.1:19002"`, `members = ["b1", "b2"]`},
		"haproxy": {"nbthread 1", "balance roundrobin", "http-reuse always", "option http-keep-alive",
			"bind 127.0.0.1:18080", "server b1 127.0.0.1:19001", "server b2 127.0.0.1:19002"},
		"nginx": {"worker_processes 1;", "keepalive 64;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`,
			"listen 127.0.0.1:18080", "server 127.0.0.1:19001;", "server 127.0.0.1:19002;"},
		"varnish": {"vcl 4.1;", "directors.round_robin()", "return (pass);", `.port = "19001";`, `.port = "19002";`,
			"rr.add_backend(b1);", "rr.add_backend(b2);"},
		"caddy": {"lb_policy round_robin", "reverse_proxy 127.0.0.1:19001 127.0.0.1:19002", "bind 127.0.0.1",
			"http://127.0.0.1:18080", "keepalive_idle_conns 64", "admin off"},
	}
	for name, pr := range peers() {
		t.Run(name, func(t *testing.T) {
			p := testParams(t)
			text := pr.config(p)
			for _, w := range want[name] {
				if !strings.Contains(text, w) {
					t.Errorf("%s config lacks %q:\n%s", name, w, text)
				}
			}
			if name == "shellac" || name == "varnish" {
				argv, _ := pr.command("x", "cfg", p)
				if name == "varnish" && !strings.Contains(strings.Join(argv, " "), "thread_pools=1") {
					t.Errorf("varnishd command lacks thread_pools=1: %v", argv)
				}
			}
			if name == "haproxy" {
				short := p
				short.FDLimit = 1000
				if !strings.Contains(haproxyConfig(short), "no strict-limits") {
					t.Error("haproxy config with a low open-file limit lacks no strict-limits")
				}
				if strings.Contains(text, "strict-limits") {
					t.Error("haproxy config without a known limit has strict-limits")
				}
			}
			if name == "nginx" {
				short := p
				short.FDLimit = 1000
				if !strings.Contains(nginxConfig(short), "worker_rlimit_nofile 1000;") {
					t.Error("nginx config ignores the open-file limit")
				}
			}
			if name == "shellac" {
				return // the shellac binary is not built by this test
			}
			peerAccepts(t, pr, p, text)
		})
	}
}

// peerAccepts runs the installed peer's own config checker on text
// (written into p.Dir with what the peer needs beside it), skipping the
// test when the peer is not on PATH.
func peerAccepts(t *testing.T, pr *peer, p peerParams, text string) {
	t.Helper()
	bin, err := exec.LookPath(pr.binary)
	if err != nil {
		t.Skipf("%s not on PATH; checked the text only", pr.binary)
	}
	cfg := filepath.Join(p.Dir, pr.configFile)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareDir(pr, p); err != nil {
		t.Fatal(err)
	}
	argv := pr.check(bin, cfg, p)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), caddyEnv(p)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s rejects its config: %v\n%s\n%s", strings.Join(argv, " "), err, out, text)
	}
}
