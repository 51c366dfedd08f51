// Package arch holds no code: its test checks that the package map of
// docs/architecture.md holds, by reading the real import graph with
// `go list -deps`, and fails when a forbidden import appears.
package arch
