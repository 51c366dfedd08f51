package config

import (
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/shellac-lb/shellac/directors"
)

// directorTypes are the core director types, in docs/spec.md order.
var directorTypes = []string{RoundRobin, Fallback, Random, Hash, Shard, Saintmode}

// allDirectorTypes returns the core types, then the registered ones.
func allDirectorTypes() string {
	return strings.Join(append(slices.Clip(directorTypes), directors.DirectorTypes()...), ", ")
}

// directorOptions maps each option that only some director types take to
// those types, in the order options are checked.
var directorOptions = []struct {
	key   string
	types []string
}{
	{"members", []string{RoundRobin, Fallback, Random, Hash, Shard}},
	{"member", []string{Saintmode}},
	{"weights", []string{Random, Hash, Shard}},
	{"key", []string{Hash, Shard}},
	{"idents", []string{Shard}},
	{"replicas", []string{Shard}},
	{"by", []string{Shard}},
	{"alt", []string{Shard}},
	{"healthy", []string{Shard}},
	{"rampup", []string{Shard}},
	{"warmup", []string{Shard}},
	{"digest", []string{Shard}},
	{"bound", []string{Shard}},
	{"threshold", []string{Saintmode}},
	{"sticky", []string{Fallback}},
	{"max_ejection_percent", []string{RoundRobin, Fallback, Random, Hash, Shard}},
}

func (p *parser) validateDirector(c *Config, d *Director, path []string) {
	p.checkName(path, "director")
	at := func(key string) []string { return sub(path, key) }
	if c.Backends[d.Name] != nil {
		p.errorf(path, "a backend has the same name; directors and backends share one namespace")
	}
	p.validateEjectionCap(d, path)
	switch {
	case d.Type == "":
		p.errorf(at("type"), "is required (one of %s)", allDirectorTypes())
		return
	case directors.IsRegistered(d.Type):
		p.validateMembers(c, d, path)
		_, err := directors.NewRegistered(d.Type, d.Name, d.Options)
		p.reportFactory(path, err)
		return
	case !slices.Contains(directorTypes, d.Type):
		p.errorf(at("type"), "unknown director type %q (valid: %s)", d.Type, allDirectorTypes())
		return
	}
	for _, o := range directorOptions {
		if !p.has(at(o.key)...) || slices.Contains(o.types, d.Type) {
			continue
		}
		switch {
		case o.key == "members":
			p.keyErr(at(o.key), `saintmode directors wrap one member: write member = "NAME", not members`)
		case o.key == "member":
			p.keyErr(at(o.key), "member is only for saintmode directors: write members = [...]")
		default:
			p.keyErr(at(o.key), "%s is not an option of %s directors (only of %s)", o.key, d.Type, strings.Join(o.types, ", "))
		}
	}

	if d.Type == Saintmode {
		switch {
		case d.Member == "":
			p.errorf(at("member"), "is required: the backend or director this saintmode director wraps")
		case !c.isMember(d.Member):
			p.errorf(at("member"), "%q is neither a backend nor a director", d.Member)
		}
		if d.Threshold < 0 {
			p.errorf(at("threshold"), "must be ≥ 0, got %d", d.Threshold)
		}
		return
	}

	p.validateMembers(c, d, path)
	if d.Type == Hash || d.Type == Shard {
		for i, k := range d.Key {
			if why := checkKeySource(k); why != "" {
				p.errorf(sub(path, "key", index(i)), "%q %s", k, why)
			} else if strings.HasPrefix(k, "int:") && len(d.Key) > 1 {
				p.errorf(sub(path, "key", index(i)), "%q: an int: source is the key itself, so it must be the only source", k)
			}
		}
	}
	switch d.Type {
	case Hash:
		if len(d.Key) == 0 {
			p.errorf(at("key"), `is required for hash directors (e.g. key = ["cookie:session"])`)
		}
	case Shard:
		p.validateShard(d, path)
	}
}

// validateMembers checks members and weights: the common keys of every
// type but saintmode.
func (p *parser) validateMembers(c *Config, d *Director, path []string) {
	if len(d.Members) == 0 {
		p.errorf(sub(path, "members"), "is empty: a %s director needs at least one member", d.Type)
	}
	for i, m := range d.Members {
		ep := sub(path, "members", index(i))
		switch {
		case !c.isMember(m):
			p.errorf(ep, "%q is neither a backend nor a director", m)
		case slices.Index(d.Members, m) < i:
			p.errorf(ep, "%q is listed twice", m)
		}
	}
	if d.Type != Random && d.Type != Hash && !directors.IsRegistered(d.Type) {
		return // weights were refused as an option of the type
	}
	for _, m := range sortedNames(d.Weights) {
		wp := sub(path, "weights", m)
		w := d.Weights[m]
		if !slices.Contains(d.Members, m) {
			p.errorf(wp, "%q is not a member", m)
		} else if !(w > 0) || math.IsInf(w, 0) {
			p.errorf(wp, "weight %v must be > 0", w)
		}
	}
}

// reportFactory reports the errors a registered type's factory returned
// for the table at path (directors.NewRegistered, NewRegisteredBackend),
// each at the key it names (a *directors.OptionError), else at the table.
func (p *parser) reportFactory(path []string, err error) {
	for _, e := range flatten(err) {
		var oe *directors.OptionError
		switch {
		case !errors.As(e, &oe):
			p.errorf(path, "%v", e)
		case errors.Is(oe.Err, directors.ErrUnknownOption):
			p.keyErr(sub(path, oe.Key), "%s is %v", oe.Key, oe.Err)
		case oe.Elem != "":
			p.errorf(sub(path, oe.Key, oe.Elem), "%v", oe.Err)
		default:
			p.errorf(sub(path, oe.Key), "%v", oe.Err)
		}
	}
}

// flatten returns the errors joined in err (errors.Join), recursively.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func (p *parser) validateShard(d *Director, path []string) {
	at := func(key string) []string { return sub(path, key) }
	if oneOf(p, at("by"), d.By, "url", "hash", "key") {
		switch {
		case d.By == "key" && len(d.Key) == 0:
			p.errorf(at("key"), `is required with by = "key"`)
		case d.By != "key" && p.has(at("key")...):
			p.errorf(at("key"), `is only used with by = "key" (by is %q)`, d.By)
		}
	}
	oneOf(p, at("healthy"), d.Healthy, "chosen", "ignore", "all")
	oneOf(p, at("digest"), d.Digest, DigestSHA256, DigestFNV1a)
	if d.Replicas < 1 {
		p.errorf(at("replicas"), "must be ≥ 1, got %d", d.Replicas)
	}
	if d.Alt < 0 {
		p.errorf(at("alt"), "must be ≥ 0, got %d", d.Alt)
	}
	if d.Warmup != -1 && !(d.Warmup >= 0 && d.Warmup <= 1) {
		p.errorf(at("warmup"), "%v is not -1 (default) or in 0..1", d.Warmup)
	}
	if d.Bound != 0 && !(d.Bound >= 1) || math.IsInf(d.Bound, 0) {
		p.errorf(at("bound"), "%v is not 0 (off) or ≥ 1.0", d.Bound)
	}
	owner := map[string]string{} // ident → member
	for _, m := range d.Members {
		ident := m
		if v, ok := d.Idents[m]; ok {
			ident = v
		}
		if o, dup := owner[ident]; dup && o != m {
			p.errorf(at("idents"), "members %q and %q both have ident %q", o, m, ident)
		}
		owner[ident] = m
	}
	for _, m := range sortedNames(d.Idents) {
		ip := sub(path, "idents", m)
		if !slices.Contains(d.Members, m) {
			p.errorf(ip, "%q is not a member", m)
		} else if d.Idents[m] == "" {
			p.errorf(ip, "ident must not be empty")
		}
	}
}

// checkKeySource returns why s is not a key source, or "".
func checkKeySource(s string) string {
	switch s {
	case "url", "host", "client_ip":
		return ""
	}
	const want = "is not a key source (url, host, client_ip, header:NAME, cookie:NAME, query:NAME, int:header:NAME)"
	kind, name, ok := strings.Cut(s, ":")
	if !ok {
		return want
	}
	if kind == "int" {
		h, ok := strings.CutPrefix(name, "header:")
		if !ok {
			return `is not a key source: int: takes a header, as in "int:header:X-Key"`
		}
		kind, name = "header", h
	}
	switch kind {
	case "header", "cookie":
		if !isToken(name) {
			return "has an invalid " + kind + " name"
		}
	case "query":
		if name == "" || strings.ContainsAny(name, "&=#? \t") {
			return "has an invalid query parameter name"
		}
	default:
		return want
	}
	return ""
}

// members returns the names d delegates to.
func (d *Director) members() []string {
	if d.Type == Saintmode {
		if d.Member == "" {
			return nil
		}
		return []string{d.Member}
	}
	return d.Members
}

// validateCycles reports director reference cycles (a -> b -> a), each
// once, at the director of the cycle whose name sorts first.
func (p *parser) validateCycles(c *Config) {
	const (
		unseen = iota
		onStack
		done
	)
	state := map[string]int{}
	reported := map[string]bool{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = onStack
		stack = append(stack, n)
		for _, m := range c.Directors[n].members() {
			if c.Directors[m] == nil || c.Backends[m] != nil {
				continue // not a director (a backend wins a name clash, as in topology)
			}
			switch state[m] {
			case unseen:
				visit(m)
			case onStack:
				cyc := slices.Clone(stack[slices.Index(stack, m):])
				first := slices.Index(cyc, slices.Min(cyc))
				cyc = append(cyc[first:], cyc[:first]...)
				k := strings.Join(cyc, " -> ")
				if !reported[k] {
					reported[k] = true
					p.errorf([]string{"directors", cyc[0]}, "members form a cycle: %s -> %s", k, cyc[0])
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range sortedNames(c.Directors) {
		if state[n] == unseen {
			visit(n)
		}
	}
}
