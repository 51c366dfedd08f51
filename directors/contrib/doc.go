// Package contrib holds shellac's built-in extensions: director and
// backend types written only against the public API of package directors,
// exactly as a Go program outside shellac would write its own (see
// docs/writing-a-director.md, whose worked examples they are).
//
//   - least_conn (LeastConn): the member with the fewest requests in
//     flight per unit of weight; ties go round-robin.
//   - p2c (P2C): power of two random choices: of two members drawn by
//     weight, the one with fewer requests in flight per unit of weight.
//   - synthetic (Synthetic): a leaf backend that answers every request
//     itself with a fixed status, headers and body.
//
// Importing the package registers the three types (directors.Register,
// directors.RegisterBackend) from its init function. Packages config and
// topology import it, so they are built-ins of every shellac program.
package contrib

import "github.com/shellac-lb/shellac/directors"

func init() {
	directors.Register("least_conn", newLeastConn)
	directors.Register("p2c", newP2C)
	directors.RegisterBackend("synthetic", newSynthetic)
}
