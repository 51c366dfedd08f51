// Package vclimport turns a Varnish VCL 4.x file into shellac's TOML
// configuration (shellac import-vcl, docs/spec.md section 1): its
// backends, probes and the director objects of vcl_init
// (directors.round_robin, fallback, random, hash, shard, and
// saintmode.saintmode), and the backend choice of vcl_recv where
// shellac's routes (host, path prefix) can express it. Everything else
// is listed, line by line, with the reason and shellac's nearest
// equivalent.
//
// The lexer and parser (lex.go, parse.go) read VCL as varnishd's VCC
// does: strings without escapes, {"…"} and """…""" long strings, the
// three kinds of comment, inline C. Subroutines are parsed into
// statements; one whose logic the parser cannot follow is listed as
// untranslated rather than refused. The translation (translate.go,
// route.go) reads the parse tree; emit.go writes the TOML.
//
// Varnish passes a shard or hash director's parameters (by, key, alt,
// healthy…) with each D.backend() call; shellac keeps them in the
// director. Each distinct set of parameters of one VCL director becomes
// a shellac director of its own, with the same members.
package vclimport

import (
	"slices"
	"strings"

	"github.com/shellac-lb/shellac/config"
)

// Result is an imported VCL file.
type Result struct {
	// TOML is the shellac configuration.
	TOML []byte
	// Config is TOML parsed and validated by package config (what
	// shellac check runs), or nil when it did not validate; Err then
	// says why.
	Config *config.Config
	Err    error
	// Notes list what was not translated, in line order.
	Notes []Note
	// Calls are the D.backend(…) calls of the VCL and their directors.
	Calls []BackendCall
}

// Import parses the VCL file src (named name in positions and
// comments) and translates it. The error is a *SyntaxError when src is
// not VCL this importer can read (a syntax error outside a sub, or in
// vcl_init, vcl_recv or vcl_backend_fetch); a translation that does not validate
// is reported in Result.Err instead.
func Import(name string, src []byte) (*Result, error) {
	f, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	for _, d := range f.Decls {
		if d.BodyErr != nil && translatedSubs[d.Name] {
			return nil, d.BodyErr
		}
	}
	t := &translator{f: f, lines: strings.Split(string(src), "\n")}
	t.translate()
	out := t.emit() // may add notes
	r := &Result{TOML: out, Notes: sortNotes(t.notes), Calls: t.calls}
	r.Config, r.Err = config.Parse(strings.TrimSuffix(name, ".vcl")+".toml", out)
	return r, nil
}

// translatedSubs are the subs whose statements are translated: a syntax
// error in one of them is an error; in any other sub it is a note (the
// sub is listed as untranslated).
var translatedSubs = map[string]bool{"vcl_init": true, "vcl_recv": true, "vcl_backend_fetch": true}

// sortNotes orders notes by line, keeping the order of notes of one
// line, and drops repeats (a sub called twice from vcl_recv).
func sortNotes(ns []Note) []Note {
	slices.SortStableFunc(ns, func(a, b Note) int { return a.Line - b.Line })
	seen := map[Note]bool{}
	return slices.DeleteFunc(ns, func(n Note) bool {
		dup := seen[n]
		seen[n] = true
		return dup
	})
}
