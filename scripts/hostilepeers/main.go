// Command hostilepeers runs shellac's hostile request corpus
// (testdata/hostile/requests) against shellac, nginx and HAProxy, each in
// front of the same recording backend on loopback, and prints the verdict
// table docs/security.md carries. Run it through scripts/hostile-vs-peers.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shellac-lb/shellac/internal/hostile"
)

// proxyConf is one proxy under test: its configuration and command line.
type proxyConf struct {
	name   string
	file   string
	config func(listen, backend, dir string) string
	argv   func(bin, cfg, dir string) []string
	bin    string
}

var proxies = []*proxyConf{
	{name: "shellac", file: "shellac.toml", config: func(listen, backend, _ string) string {
		return fmt.Sprintf(`[server]
listen = [%q]
default_director = "rec"
[limits]
max_body_bytes = 1048576
client_header_timeout = "3s"
[admin]
listen = ""
[log]
access = ""
[backends.rec]
address = %q
`, listen, backend)
	}, argv: func(bin, cfg, _ string) []string { return []string{bin, "-config", cfg} }},
	{name: "nginx", file: "nginx.conf", bin: "nginx", config: func(listen, backend, dir string) string {
		return fmt.Sprintf(`worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path tmp;
	proxy_temp_path tmp;
	client_max_body_size 1m;
	client_header_timeout 3s;
	client_body_timeout 3s;
	upstream rec { server %s; keepalive 8; }
	server {
		listen %s;
		location / {
			proxy_pass http://rec;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_request_buffering off;
		}
	}
}
`, backend, listen)
	}, argv: func(bin, cfg, dir string) []string {
		return []string{bin, "-p", dir + "/", "-c", cfg, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"}
	}},
	{name: "haproxy", file: "haproxy.cfg", bin: "haproxy", config: func(listen, backend, _ string) string {
		return fmt.Sprintf(`global
	nbthread 1
defaults
	mode http
	option http-keep-alive
	timeout connect 3s
	timeout client 5s
	timeout server 5s
	timeout http-request 3s
frontend f
	bind %s
	default_backend b
backend b
	server rec %s
`, listen, backend)
	}, argv: func(bin, cfg, _ string) []string { return []string{bin, "-f", cfg, "-db"} }},
}

func main() {
	shellacBin := flag.String("shellac", "", "shellac binary (required)")
	dir := flag.String("corpus", "testdata/hostile/requests", "request corpus directory")
	only := flag.String("proxies", "shellac,nginx,haproxy", "proxies to run, comma-separated")
	flag.Parse()
	if err := run(*shellacBin, *dir, strings.Split(*only, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "hostilepeers:", err)
		os.Exit(1)
	}
}

func run(shellacBin, dir string, only []string) error {
	cases, err := hostile.Load(hostile.KindRequest, dir)
	if err != nil {
		return err
	}
	rec, err := hostile.NewRecordingBackend()
	if err != nil {
		return err
	}
	defer rec.Close()
	var names []string
	verdicts := map[string][]string{}
	passed := map[string]int{}
	for _, p := range proxies {
		if !contains(only, p.name) {
			continue
		}
		bin := p.bin
		if p.name == "shellac" {
			bin = shellacBin
		}
		if path, err := exec.LookPath(bin); err != nil {
			fmt.Fprintf(os.Stderr, "hostilepeers: %s not found, skipped\n", p.name)
			continue
		} else {
			bin = path
		}
		names = append(names, p.name)
		out, n, err := runProxy(p, bin, rec, cases)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		verdicts[p.name], passed[p.name] = out, n
	}
	fmt.Printf("| case | %s | rests on |\n|---|%s---|\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
	for i, c := range cases {
		row := []string{"`" + c.Name + "`"}
		for _, n := range names {
			row = append(row, verdicts[n][i])
		}
		why := c.RFC
		if c.Note != "" {
			why += "; " + c.Note
		}
		row = append(row, strings.ReplaceAll(why, "|", "\\|"))
		fmt.Printf("| %s |\n", strings.Join(row, " | "))
	}
	fmt.Printf("| **meets the case (of %d)** |", len(cases))
	for _, n := range names {
		fmt.Printf(" **%d** |", passed[n])
	}
	fmt.Println(" |")
	return nil
}

// runProxy starts one proxy and sends it every case; a verdict is "ok"
// when the proxy did what the case expects, else what it did.
func runProxy(p *proxyConf, bin string, rec *hostile.RecordingBackend, cases []*hostile.Case) ([]string, int, error) {
	dir, err := os.MkdirTemp("", "hostile-"+p.name)
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	listen, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	cfg := filepath.Join(dir, p.file)
	if err := os.WriteFile(cfg, []byte(p.config(listen, rec.Addr(), dir)), 0o644); err != nil {
		return nil, 0, err
	}
	argv := p.argv(bin, cfg, dir)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	if err := waitListening(listen, 10*time.Second); err != nil {
		return nil, 0, err
	}
	if err := rec.Sync(listen, 5*time.Second); err != nil {
		return nil, 0, err
	}
	rec.Take()
	var out []string
	passed := 0
	for _, c := range cases {
		res := hostile.Send(listen, c, 5*time.Second)
		if err := rec.Sync(listen, 5*time.Second); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", c.Name, err)
		}
		got, _ := rec.Take()
		v := hostile.Check(c, res, got)
		if v.OK() {
			passed++
			out = append(out, "ok")
			continue
		}
		out = append(out, describe(res, got, v))
	}
	return out, passed, nil
}

// describe says in a few words what a proxy did when it did not meet a
// case: the statuses it answered, whether it kept the connection, and
// what reached the backend when that was wrong.
func describe(res *hostile.Result, got []hostile.Received, v hostile.Verdict) string {
	var parts []string
	if len(res.Statuses) == 0 {
		if res.Closed {
			parts = append(parts, "closed")
		} else {
			parts = append(parts, "no answer")
		}
	} else {
		parts = append(parts, strings.Trim(fmt.Sprint(res.Statuses), "[]"))
		if !res.Closed {
			parts = append(parts, "kept open")
		}
	}
	if !v.Backend {
		bad, n := 0, 0
		for _, g := range got {
			if g.Err != nil && !errors.Is(g.Err, hostile.ErrIncomplete) {
				bad++
			} else if g.Err == nil {
				n++
			}
		}
		switch {
		case bad > 0:
			parts = append(parts, "**backend got bytes a strict server refuses**")
		case n > 0:
			parts = append(parts, fmt.Sprintf("backend got %d request(s)", n))
		default:
			parts = append(parts, "backend got a partial request")
		}
	}
	return strings.Join(parts, ", ")
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(addr string, d time.Duration) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %v", addr, d)
}
