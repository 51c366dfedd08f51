package main

import (
	"fmt"
	"io"
)

// bench runs the benchmark harness (issue 6).
func bench(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "shellac bench: not built yet")
	return 1
}
