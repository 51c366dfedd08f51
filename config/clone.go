package config

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of c: changing the copy never changes c.
func (c *Config) Clone() *Config {
	n := *c
	n.Server.Listen = slices.Clone(c.Server.Listen)
	n.Probes = cloneNamed(c.Probes, func(p *Probe) *Probe {
		x := *p
		x.Request = slices.Clone(p.Request)
		return &x
	})
	n.Backends = cloneNamed(c.Backends, func(b *Backend) *Backend {
		x := *b
		x.Options = cloneOptions(b.Options)
		x.Resolvers = slices.Clone(b.Resolvers)
		x.OutlierOn = slices.Clone(b.OutlierOn)
		return &x
	})
	n.Directors = cloneNamed(c.Directors, func(d *Director) *Director {
		x := *d
		x.Members = slices.Clone(d.Members)
		x.Weights = maps.Clone(d.Weights)
		x.Key = slices.Clone(d.Key)
		x.Idents = maps.Clone(d.Idents)
		x.Options = cloneOptions(d.Options)
		return &x
	})
	if c.Routes != nil {
		n.Routes = make([]*Route, len(c.Routes))
		for i, r := range c.Routes {
			x := *r
			x.RetryOn = slices.Clone(r.RetryOn)
			n.Routes[i] = &x
		}
	}
	return &n
}

func cloneNamed[T any](m map[string]*T, clone func(*T) *T) map[string]*T {
	if m == nil {
		return nil
	}
	out := make(map[string]*T, len(m))
	for k, v := range m {
		out[k] = clone(v)
	}
	return out
}

// cloneOptions deep-copies a registered type's raw option values.
func cloneOptions(o map[string]any) map[string]any {
	if o == nil {
		return nil
	}
	return rawValue(o).(map[string]any)
}
