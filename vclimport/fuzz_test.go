package vclimport

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzParseVCL: Import never panics; it either refuses the input with a
// *SyntaxError at a position inside it, or returns TOML.
func FuzzParseVCL(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.vcl"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`sub vcl_recv { if (req.http.host ~ "^(a|b)$") { set req.backend_hint = d.backend(by=KEY, key=d.key(req.http.x)); } }`))
	f.Add([]byte("sub a { call a; call a; call a; }\nsub vcl_recv { call a; call a; }"))
	f.Add([]byte("backend b { .probe = { .request = \"GET / HTTP/1.1\" \"Host: x\"; } }"))
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := Import("f.vcl", src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Pos.Line < 1 || se.Pos.Col < 1 {
				t.Fatalf("error at %v", se.Pos)
			}
			return
		}
		// Whatever the input, the TOML written is TOML, and every
		// note points into the file.
		var v map[string]any
		if _, err := toml.Decode(string(r.TOML), &v); err != nil {
			t.Fatalf("the TOML written does not parse: %v\n%s", err, r.TOML)
		}
		lines := bytes.Count(src, []byte("\n")) + 1
		for _, n := range r.Notes {
			if n.Line < 1 || n.Line > lines {
				t.Fatalf("note at line %d of %d: %v", n.Line, lines, n)
			}
		}
	})
}
