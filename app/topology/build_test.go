package topology

import (
	"path/filepath"
	"testing"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/directors/contrib"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// TestBuildExamples builds every example configuration and the docs/spec.md
// example, and checks each director has the type its configuration names
// and resolves a request to a backend.
func TestBuildExamples(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/*.toml")
	paths = append(paths, "../../config/testdata/spec.toml")
	types := map[string]bool{}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, err := config.Parse(p, testutil.ExampleTOML(t, p))
			if err != nil {
				t.Fatal(err)
			}
			tab, err := Build(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, dc := range cfg.Directors {
				d := tab.Directors[name]
				if got := typeName(d); got != dc.Type {
					t.Errorf("%s: built %s; want %s", name, got, dc.Type)
				}
				types[dc.Type] = true
				r := &directors.Request{Key: 12345, HasKey: true}
				if b := directors.Resolve(d, r); b == nil {
					t.Errorf("%s: resolved nothing", name)
				}
			}
		})
	}
	for _, ty := range []string{"round_robin", "fallback", "random", "hash", "shard", "saintmode", "least_conn", "p2c"} {
		if !types[ty] {
			t.Errorf("no example builds a %s director", ty)
		}
	}
}

// TestBuildShardOptions checks the shard options reach the director.
func TestBuildShardOptions(t *testing.T) {
	cfg, err := config.Load("../../examples/shard.toml")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Build(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := tab.Directors["cache"].(*directors.Shard)
	o := d.Options()
	if o.Replicas != 67 || o.By != directors.ByURL || o.Bound != 1.25 || o.Warmup != 0.05 ||
		o.Rampup.Seconds() != 30 || o.Healthy != directors.HealthyChosen || o.Digest != directors.DigestSHA256 {
		t.Errorf("options %+v", o)
	}
	if got := d.Ident("cache2"); got != "beta" {
		t.Errorf("ident of cache2 = %q; want beta", got)
	}
}

func typeName(d directors.Director) string {
	switch d.(type) {
	case *directors.RoundRobin:
		return "round_robin"
	case *directors.Fallback:
		return "fallback"
	case *directors.Random:
		return "random"
	case *directors.Hash:
		return "hash"
	case *directors.Shard:
		return "shard"
	case *directors.Saintmode:
		return "saintmode"
	case *contrib.LeastConn:
		return "least_conn"
	case *contrib.P2C:
		return "p2c"
	}
	return "?"
}
