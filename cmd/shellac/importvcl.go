package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/shellac-lb/shellac/app"
	"github.com/shellac-lb/shellac/vclimport"
)

// importVCL is shellac import-vcl FILE.vcl [-o out.toml]: the TOML to
// stdout (or -o), what was not translated to stderr as FILE:LINE: what —
// why; exit 0 when the TOML passes shellac check, 1 on a VCL syntax
// error (FILE:LINE:COL) or a TOML that does not, 2 on bad usage.
func importVCL(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import-vcl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the TOML to this file instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: shellac import-vcl FILE.vcl [-o out.toml]")
		fs.PrintDefaults()
	}
	// The file may come before or after the flags.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return 2
	}
	path := files[0]
	src, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
	r, err := vclimport.Import(path, src)
	if err != nil {
		fmt.Fprintln(stderr, err) // FILE:LINE:COL: message
		return 1
	}
	for _, n := range r.Notes {
		fmt.Fprintf(stderr, "%s:%d: %s — %s\n", path, n.Line, n.What, n.Why)
	}
	if *out != "" {
		if err := os.WriteFile(*out, r.TOML, 0o644); err != nil {
			fmt.Fprintf(stderr, "shellac: %v\n", err)
			return 1
		}
	} else if _, err := stdout.Write(r.TOML); err != nil {
		return 1
	}
	// What shellac check runs: the configuration's validation, then
	// building it.
	verr := r.Err
	if verr == nil {
		_, verr = app.New(r.Config, *out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	if verr != nil {
		fmt.Fprintln(stderr, "shellac: the imported configuration does not pass shellac check:")
		printConfigErrors(stderr, verr)
		return 1
	}
	return 0
}
