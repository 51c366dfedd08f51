package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns
// has a position inside the input, and that whatever it accepts survives
// a TOML round trip.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*.toml")
	paths = append(paths, "testdata/spec.toml")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, tc := range brokenConfigs {
		f.Add([]byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err != nil {
			errs, ok := err.(Errors)
			if !ok || len(errs) == 0 {
				t.Fatalf("error %T %v is not a non-empty Errors", err, err)
			}
			lines := 1
			for _, b := range data {
				if b == '\n' {
					lines++
				}
			}
			for _, e := range errs {
				if e.Line < 0 || e.Line > lines || e.Col < 0 {
					t.Fatalf("error %q: position outside the input (%d lines)", e.Error(), lines)
				}
			}
			return
		}
		out, err := c.TOML()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("out.toml", out)
		if err != nil {
			t.Fatalf("Parse(TOML()) failed: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(clearPos(back), clearPos(c)) {
			t.Fatalf("round trip differs:\n%s", out)
		}
	})
}
