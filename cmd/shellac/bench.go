package main

import (
	"io"

	benchpkg "github.com/shellac-lb/shellac/bench"
)

// bench runs the benchmark harness, `shellac bench` (docs/spec.md section 6).
func bench(args []string, stdout, stderr io.Writer) int {
	return benchpkg.Main(args, stdout, stderr)
}

// benchBackend runs the hidden `shellac bench-backend` subcommand: the
// harness re-executes this binary with it to run its backends in their own
// process.
func benchBackend(args []string, stdout, stderr io.Writer) int {
	return benchpkg.BackendMain(args, stdout, stderr)
}

// benchHTTPUtil runs the hidden `shellac bench-httputil` subcommand: Go's
// httputil.ReverseProxy as a baseline target of the harness.
func benchHTTPUtil(args []string, stdout, stderr io.Writer) int {
	return benchpkg.HTTPUtilMain(args, stdout, stderr)
}
