package app

// The built-in extension types are registered here, where the program is
// assembled, not in the configuration package: config only looks types up
// in the directors registry, so a Go program that embeds shellac decides
// what its registry holds (docs/writing-a-director.md).
import _ "github.com/shellac-lb/shellac/directors/contrib" // least_conn, p2c, synthetic
