package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/app"
	"github.com/shellac-lb/shellac/config"
)

// demo starts three demo backends and a balancer in front of them, prints
// what to try, checks the balancer itself, and serves until interrupted
// (or for -duration).
func demo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "balancer address")
	adminAddr := fs.String("admin", "127.0.0.1:9091", `admin API address ("" = off)`)
	duration := fs.Duration("duration", 0, "stop after this long (0 = run until Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	bes, err := app.StartDemoBackends(3)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer func() {
		for _, b := range bes {
			b.Close()
		}
	}()
	text := app.DemoConfig(*listen, *adminAddr, bes)
	cfg, err := config.Parse("demo.toml", []byte(text))
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(cfg, "", log)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	if err := a.Start(); err != nil {
		fmt.Fprintf(stderr, "demo: cannot listen on %s or %s: %v (try -listen 127.0.0.1:8081 -admin 127.0.0.1:9092)\n", *listen, *adminAddr, err)
		return 1
	}
	base := "http://" + *listen
	fmt.Fprintf(stdout, "shellac demo\n  balancer  %s/\n", base)
	for _, b := range bes {
		fmt.Fprintf(stdout, "  backend   %-6s http://%s/\n", b.Name, b.Addr)
	}
	fmt.Fprintf(stdout, `
try:
  curl -i %[1]s/
  for i in 1 2 3 4 5 6; do curl -s %[1]s/; done
  curl -i %[1]s/maintenance
  curl -s %[1]s/headers
  curl -s -o /dev/null -w '%%{http_code} %%{size_download}\n' '%[1]s/bytes?n=104857600'
  wrk -c 256 -d 10s %[1]s/

`, base)
	if *adminAddr != "" {
		fmt.Fprintf(stdout, `admin API:
  curl -s http://%[1]s/status
  curl -s http://%[1]s/metrics | grep shellac_backend_requests_total
  curl -s -X POST -d '{"state":"sick"}' http://%[1]s/backends/demo2/health
  curl -s 'http://%[1]s/explain?path=/'

`, *adminAddr)
	}
	fmt.Fprintf(stdout, "self-check: %s\n", selfCheck(base))
	ctx := context.Background()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	} else {
		fmt.Fprintln(stdout, "serving; Ctrl-C to stop")
	}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	return 0
}

// selfCheck sends six requests through the balancer and reports which
// backend answered each.
func selfCheck(base string) string {
	c := &http.Client{Timeout: 5 * time.Second}
	var seen []string
	for i := 0; i < 6; i++ {
		resp, err := c.Get(base + "/")
		if err != nil {
			return "FAILED: " + err.Error()
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen = append(seen, resp.Header.Get("X-Backend"))
	}
	return "6 requests -> " + strings.Join(seen, " ")
}
