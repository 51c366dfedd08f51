package topology

import (
	"testing"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/directors/contrib"
)

// TestBuildRegistered: directors and backends of registered types are
// built through the registry, with their members, weights and options,
// and the synthetic backend is one of them.
func TestBuildRegistered(t *testing.T) {
	cfg, err := config.Parse("t.toml", []byte(`
[backends.a]
address = "127.0.0.1:80"
[backends.b]
address = "127.0.0.1:81"
[backends.sorry]
type = "synthetic"
status = 503
body = "later\n"
[directors.lc]
type = "least_conn"
members = ["a", "b"]
weights = { b = 3.0 }
[directors.p]
type = "p2c"
members = ["lc", "sorry"]
`))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Build(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lc, ok := tab.Directors["lc"].(*contrib.LeastConn)
	if !ok {
		t.Fatalf("lc built as %T", tab.Directors["lc"])
	}
	if sn := lc.Load(); len(sn.Members) != 2 || sn.Weights[0] != 1 || sn.Weights[1] != 3 {
		t.Errorf("lc members %v weights %v", sn.Members, sn.Weights)
	}
	p, ok := tab.Directors["p"].(*contrib.P2C)
	if !ok || len(p.Members()) != 2 || p.Members()[0] != lc {
		t.Fatalf("p built as %T with %v", tab.Directors["p"], p.Members())
	}
	s, ok := tab.Backends["sorry"].Responder().(*contrib.Synthetic)
	if !ok || s.Status != 503 || string(s.Body) != "later\n" {
		t.Errorf("sorry responder %#v", tab.Backends["sorry"].Responder())
	}
	if b := directors.Resolve(p, &directors.Request{}); b == nil {
		t.Error("p resolved nothing")
	}
}

// A backend of a type nobody registered fails to build, at its position.
func TestNewBackendUnknownType(t *testing.T) {
	bc := &config.Backend{Name: "x", Type: "nope", Pos: config.Pos{File: "f.toml", Line: 3, Col: 11}}
	_, err := NewBackend("x", bc)
	if err == nil || err.Error() != `f.toml:3:11: backend x: directors: unknown type "nope" (registered: synthetic)` {
		t.Errorf("error %v", err)
	}
}
