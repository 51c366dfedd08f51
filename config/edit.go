package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// An Edit is a typed change to a configuration, such as the admin API's
// run-time changes. Config.With applies edits to a copy and validates the
// result as Parse validates a file.
type Edit interface {
	// apply changes c, reporting problems through p.
	apply(p *parser, c *Config)
}

// PutBackend sets the backend Name from Fields, its [backends.NAME]
// table: TOML key names, values as TOML or JSON decoding yields them
// (json.Number included). The fields are decoded and given their
// defaults exactly as the same table in a file would be; a backend of that
// name is replaced whole.
type PutBackend struct {
	Name   string
	Fields map[string]any
}

// DeleteBackend removes the backend Name and drops it from the members
// (and per-member weights and idents) of every director.
type DeleteBackend struct{ Name string }

// PutMember adds Member at the end of Director's members when it is not
// there yet, and sets its weight when Weight is positive.
type PutMember struct {
	Director, Member string
	Weight           float64
}

// PutDiscovered adds (or replaces) Name, an endpoint of the discovery
// template Template at Address: a backend with the template's settings,
// appended to the members of every director that lists the template, with
// Weight (an SRV weight; 0 = none) where the director takes weights.
type PutDiscovered struct {
	Template, Name, Address string
	Weight                  float64
}

// DeleteMember drops Member from Director's members, weights and idents.
type DeleteMember struct{ Director, Member string }

// With returns a copy of c with edits applied, validated as a whole by the
// same checks as a file (a reference to a missing probe, a name used
// twice, a director left without members…). c is not changed. On failure
// the error is an Errors whose messages name the key paths
// (backends.NAME.KEY); they carry no positions, as the edits come from no
// file.
func (c *Config) With(edits ...Edit) (*Config, error) {
	n := c.Clone()
	p := &parser{raw: map[string]any{}, ps: &positions{offs: map[string]int{}}, bad: map[string]bool{}}
	for _, e := range edits {
		e.apply(p, n)
	}
	if len(p.errs) == 0 {
		p.validate(n)
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return n, nil
}

func (e PutBackend) apply(p *parser, c *Config) {
	path := []string{"backends", e.Name}
	fields, ok := p.tomlValue(path, e.Fields).(map[string]any)
	if !ok {
		return
	}
	// The decoder and the provisioning read presence from the raw
	// document: this table is what was "written".
	backends, _ := p.raw["backends"].(map[string]any)
	if backends == nil {
		backends = map[string]any{}
		p.raw["backends"] = backends
	}
	backends[e.Name] = fields
	b := &Backend{Name: e.Name}
	p.backend(path, fields, b)
	p.provisionBackend(b, path)
	if c.Backends == nil {
		c.Backends = map[string]*Backend{}
	}
	c.Backends[e.Name] = b
}

func (e PutDiscovered) apply(p *parser, c *Config) {
	t := c.Backends[e.Template]
	if t == nil || !t.IsTemplate() {
		p.errorf([]string{"backends", e.Template}, "no such discovery template")
		return
	}
	b := *t
	b.Name, b.Address, b.DiscoveredFrom = e.Name, e.Address, e.Template
	b.Discover, b.Resolvers = "", nil
	b.MinTTL, b.MaxTTL, b.Grace = Duration{}, Duration{}, Duration{}
	c.Backends[e.Name] = &b
	for _, d := range c.Directors {
		if d.Type == Saintmode || !slices.Contains(d.Members, e.Template) {
			continue
		}
		if !slices.Contains(d.Members, e.Name) {
			d.Members = append(d.Members, e.Name)
		}
		if e.Weight > 0 && (d.Type == Random || d.Type == Hash || !slices.Contains(directorTypes, d.Type)) {
			if d.Weights == nil {
				d.Weights = map[string]float64{}
			}
			d.Weights[e.Name] = e.Weight
		}
	}
}

func (e DeleteBackend) apply(_ *parser, c *Config) {
	delete(c.Backends, e.Name)
	for _, d := range c.Directors {
		d.dropMember(e.Name)
	}
	if len(c.Backends) == 0 {
		c.Backends = nil
	}
}

func (e PutMember) apply(p *parser, c *Config) {
	d := c.Directors[e.Director]
	if d == nil {
		p.errorf([]string{"directors", e.Director}, "no such director")
		return
	}
	if !slices.Contains(d.Members, e.Member) {
		d.Members = append(d.Members, e.Member)
	}
	if e.Weight > 0 {
		if d.Weights == nil {
			d.Weights = map[string]float64{}
		}
		d.Weights[e.Member] = e.Weight
	}
}

func (e DeleteMember) apply(p *parser, c *Config) {
	d := c.Directors[e.Director]
	if d == nil {
		p.errorf([]string{"directors", e.Director}, "no such director")
		return
	}
	d.dropMember(e.Member)
}

// dropMember removes name from d's members and per-member options.
func (d *Director) dropMember(name string) {
	d.Members = slices.DeleteFunc(d.Members, func(m string) bool { return m == name })
	if len(d.Members) == 0 {
		d.Members = nil
	}
	delete(d.Weights, name)
	delete(d.Idents, name)
	if len(d.Weights) == 0 {
		d.Weights = nil
	}
	if len(d.Idents) == 0 {
		d.Idents = nil
	}
}

// tomlValue returns v as the TOML decoder would have produced it, so that
// a table decoded from JSON goes through the very checks a file's table
// does: json.Number becomes int64 when it is written as an integer (8)
// and float64 otherwise (8.0, 8e0), a float64 with an integral value (JSON
// decoded without UseNumber) an int64, and JSON's null is refused, as TOML
// has none. It returns nil after reporting a value it cannot take.
func (p *parser) tomlValue(path []string, v any) any {
	switch x := v.(type) {
	case nil:
		p.decodeErr(path, "null is not a value: leave the key out to get its default")
		return nil
	case string, bool, int64:
		return x
	case int:
		return int64(x)
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			p.decodeErr(path, "%s is not a number TOML can hold", s)
			return nil
		}
		return f
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if out[i] = p.tomlValue(append(slices.Clip(path), index(i)), e); out[i] == nil {
				return nil
			}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := p.tomlValue(append(slices.Clip(path), k), x[k])
			if e == nil {
				return nil
			}
			out[k] = e
		}
		return out
	}
	p.decodeErr(path, "%s", fmt.Sprintf("unsupported value %T", v))
	return nil
}
