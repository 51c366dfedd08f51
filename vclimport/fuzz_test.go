package vclimport

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
		if len(r.TOML) == 0 {
			t.Fatal("no TOML")
		}
	})
}
