// Command shellac is an HTTP/1.1 layer-7 load balancer.
//
//	shellac [-config FILE]          run (FILE defaults to ./shellac.toml)
//	shellac check -config FILE      validate a configuration
//	shellac import-vcl FILE.vcl     translate a Varnish VCL file into TOML
//	shellac demo                    demo backends and a balancer on 127.0.0.1
//	shellac bench [flags]           benchmark harness against peers
//	shellac version                 version and Go version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/shellac-lb/shellac/app"
	"github.com/shellac-lb/shellac/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		return serve(args, stderr)
	case "check":
		return check(args, stdout, stderr)
	case "import-vcl":
		return importVCL(args, stdout, stderr)
	case "demo":
		return demo(args, stdout, stderr)
	case "bench":
		return bench(args, stdout, stderr)
	case "bench-backend": // hidden: the harness's backends, run as a child process
		return benchBackend(args, stdout, stderr)
	case "bench-httputil": // hidden: Go's httputil.ReverseProxy as a harness target
		return benchHTTPUtil(args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "shellac %s %s %s/%s%s\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH, vcsString())
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "shellac: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  shellac [-config FILE]        run the balancer (default ./shellac.toml)
  shellac check -config FILE    validate a configuration
  shellac import-vcl FILE.vcl [-o out.toml]
                                translate a Varnish VCL file into TOML
  shellac demo                  demo backends + balancer on 127.0.0.1
  shellac bench [flags]         benchmark against haproxy, nginx, varnish, caddy
  shellac version               print the version
`)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// vcsString returns " (revision abcdef123456, 2026-12-06T03:00:00Z,
// modified)" from the build's VCS stamp, or "" when there is none (go
// run, -buildvcs=false).
func vcsString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return fmt.Sprintf(" (revision %s, %s%s)", rev, at, modified)
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("shellac", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "shellac.toml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	log := newLogger(cfg, stderr)
	a, err := app.New(cfg, *path, log)
	if err != nil {
		fmt.Fprintf(stderr, "shellac: %v\n", err)
		return 1
	}
	if err := a.Run(context.Background()); err != nil {
		fmt.Fprintf(stderr, "shellac: %v\n", err)
		return 1
	}
	return 0
}

func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "shellac.toml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err == nil {
		_, err = app.New(cfg, *path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	if err != nil {
		printConfigErrors(stdout, err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

// printConfigErrors prints one error per line (FILE:LINE:COL: message).
func printConfigErrors(w io.Writer, err error) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintln(w, err.Error())
}

// newLogger returns the operational logger: to w (stderr), at [log]
// level, in [log] format. The access log is separate (app).
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
