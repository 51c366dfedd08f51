package directors_test

import (
	"fmt"

	"github.com/shellac-lb/shellac/app/topology"
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
)

// Primary is a whole custom director, the smallest useful one: every
// request goes to its first healthy member (fallback without sticky).
type Primary struct {
	directors.Set // members, weights, snapshots: the shared core
	name          string
}

// NewPrimary returns an empty primary director.
func NewPrimary(name string) *Primary {
	d := &Primary{name: name}
	d.SetOwner(d)
	return d
}

func (d *Primary) Name() string { return d.name }

func (d *Primary) Healthy(r *directors.Request) bool { return d.Load().AnyHealthy(r) }

func (d *Primary) Resolve(r *directors.Request) directors.Member {
	for _, m := range d.Load().Members {
		if m.Healthy(r) {
			return m
		}
	}
	return nil
}

func init() {
	directors.Register("primary", func(name string, _ *directors.Options) (directors.Cluster, error) {
		return NewPrimary(name), nil
	})
}

// A director type registered by a Go program is named in the file like a
// built-in one, checked by config.Parse and built by topology.Build.
func ExampleRegister() {
	cfg, err := config.Parse("example.toml", []byte(`
[backends.app1]
address = "127.0.0.1:9001"

[backends.app2]
address = "127.0.0.1:9002"

[directors.web]
type = "primary"
members = ["app1", "app2"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	tab, err := topology.Build(cfg, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	web := tab.Directors["web"]
	fmt.Println(directors.Resolve(web, &directors.Request{}).Name())
	tab.Backends["app1"].SetAdminState(directors.AdminSick)
	fmt.Println(directors.Resolve(web, &directors.Request{}).Name())

	_, err = config.Parse("bad.toml", []byte(`
[backends.app1]
address = "127.0.0.1:9001"

[directors.web]
type = "primary"
members = ["app1"]
sticky = true
`))
	fmt.Println(err)
	// Output:
	// app1
	// app2
	// bad.toml:8:1: directors.web: sticky is not an option of primary directors
}
