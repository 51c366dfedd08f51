package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/suggest"
)

// parser carries one Parse through its phases.
type parser struct {
	raw  map[string]any // the TOML document as plain values
	ps   *positions
	errs Errors
	bad  map[string]bool // path keys that had a decode error
}

// newParser parses the TOML syntax of data. On a syntax error it returns
// that error alone: nothing after it can be trusted.
func newParser(name string, data []byte) (*parser, Errors) {
	p := &parser{raw: map[string]any{}, bad: map[string]bool{}}
	if _, err := toml.Decode(string(data), &p.raw); err != nil {
		e := &Error{File: name, Msg: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e.Line, e.Col, e.Msg = pe.Position.Line, pe.Position.Col, "TOML syntax: "+pe.Message
		}
		return nil, Errors{e}
	}
	p.ps = scanKeys(name, data)
	return p, nil
}

// errorf records an error about path, at its position (or its closest
// written ancestor's). The message is prefixed with the dotted path.
// Errors about a path that already had a decode error, or lies under one,
// are dropped: they would only repeat it.
func (p *parser) errorf(path []string, format string, args ...any) {
	p.report(path, path, fmt.Sprintf(format, args...))
}

// keyErr is errorf for messages that name the key themselves: the prefix
// is the enclosing table's path.
func (p *parser) keyErr(path []string, format string, args ...any) {
	p.report(path, path[:len(path)-1], fmt.Sprintf(format, args...))
}

// report records msg, prefixed with subject, at the position of path,
// unless path is or lies under a path that had a decode error.
func (p *parser) report(path, subject []string, msg string) {
	for n := 1; n <= len(path); n++ {
		if p.bad[pathKey(path[:n])] {
			return
		}
	}
	if len(subject) > 0 {
		msg = display(subject) + ": " + msg
	}
	pos := p.ps.pos(path)
	p.errs = append(p.errs, &Error{File: pos.File, Line: pos.Line, Col: pos.Col, Msg: msg})
}

// decodeErr records a decode error and marks path bad.
func (p *parser) decodeErr(path []string, format string, args ...any) {
	p.errorf(path, format, args...)
	p.bad[pathKey(path)] = true
}

// has reports whether path was written in the file.
func (p *parser) has(path ...string) bool {
	var v any = p.raw
	for _, seg := range path {
		if isIndex(seg) {
			elems, ok := asArray(v)
			i, err := strconv.Atoi(seg[1 : len(seg)-1])
			if !ok || err != nil || i < 0 || i >= len(elems) {
				return false
			}
			v = elems[i]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[seg]; !ok {
			return false
		}
	}
	return true
}

// display writes a path as the user would: routes[0].retry_on[1],
// backends."odd name".address.
func display(path []string) string {
	var b strings.Builder
	for i, seg := range path {
		switch {
		case isIndex(seg):
			b.WriteString(seg)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(quoteKey(seg))
		}
	}
	return b.String()
}

// decode turns the raw document into a Config. Unknown keys and values of
// the wrong type are errors; what could be decoded is kept, so later
// phases can report further problems.
func (p *parser) decode() *Config {
	cfg := &Config{}
	for _, k := range p.sortedKeys(nil, p.raw) {
		path := []string{k}
		v := p.raw[k]
		switch k {
		case "server":
			p.table(path, v, &cfg.Server)
		case "limits":
			p.table(path, v, &cfg.Limits)
		case "admin":
			p.table(path, v, &cfg.Admin)
		case "log":
			p.table(path, v, &cfg.Log)
		case "probes":
			cfg.Probes = named(p, path, v, func(name string, pos Pos) *Probe { return &Probe{Name: name, Pos: pos} }, nil)
		case "backends":
			cfg.Backends = named(p, path, v, func(name string, pos Pos) *Backend { return &Backend{Name: name, Pos: pos} }, p.backend)
		case "directors":
			cfg.Directors = named(p, path, v, func(name string, pos Pos) *Director { return &Director{Name: name, Pos: pos} }, p.director)
		case "routes":
			elems, ok := asArray(v)
			if !ok {
				p.decodeErr(path, "expected an array of tables ([[routes]]), got %s", describe(v))
				continue
			}
			for i, e := range elems {
				ep := []string{k, index(i)}
				r := &Route{Pos: p.ps.pos(ep)}
				p.table(ep, e, r)
				cfg.Routes = append(cfg.Routes, r)
			}
		case "request_rules":
			p.value(path, v, reflect.ValueOf(&cfg.RequestRules).Elem())
		case "response_rules":
			p.value(path, v, reflect.ValueOf(&cfg.ResponseRules).Elem())
		default:
			p.unknown(path, reflect.TypeFor[Config]())
		}
	}
	return cfg
}

// named decodes a table of named tables ([backends.NAME]), each with dec,
// or with table when dec is nil.
func named[T any](p *parser, path []string, v any, mk func(name string, pos Pos) *T, dec func(path []string, v any, t *T)) map[string]*T {
	m, ok := v.(map[string]any)
	if !ok {
		p.decodeErr(path, "expected a table, got %s", describe(v))
		return nil
	}
	out := make(map[string]*T, len(m))
	for _, name := range p.sortedKeys(path, m) {
		np := append(slices.Clip(path), name)
		t := mk(name, p.ps.pos(np))
		if dec != nil {
			dec(np, m[name], t)
		} else {
			p.table(np, m[name], t)
		}
		out[name] = t
	}
	return out
}

// backend decodes a [backends.NAME] table. A registered type's options
// are kept raw for its factory.
func (p *parser) backend(path []string, v any, b *Backend) {
	if typ := typeOf(v); typ != "" && directors.IsRegisteredBackend(typ) {
		b.Options = p.extTable(path, v, b, "type")
		return
	}
	p.table(path, v, b)
}

// director decodes a [directors.NAME] table. A registered type's options
// are kept raw for its factory.
func (p *parser) director(path []string, v any, d *Director) {
	if typ := typeOf(v); typ != "" && directors.IsRegistered(typ) {
		d.Options = p.extTable(path, v, d, "type", "members", "weights", "max_ejection_percent")
		return
	}
	p.table(path, v, d)
}

// typeOf returns the string value of the type key of the table v, or "".
func typeOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["type"].(string)
	return s
}

// extTable decodes the keys of the table v that are in common into the
// struct *dst by their toml tags, as table does, and returns the others
// as raw values (nil when there are none).
func (p *parser) extTable(path []string, v any, dst any, common ...string) map[string]any {
	m := v.(map[string]any) // typeOf found a type key in it
	rv := reflect.ValueOf(dst).Elem()
	fields := fieldsOf(rv.Type())
	var raw map[string]any
	for _, k := range p.sortedKeys(path, m) {
		if slices.Contains(common, k) {
			p.value(append(slices.Clip(path), k), m[k], rv.Field(fields[k]))
			continue
		}
		if raw == nil {
			raw = map[string]any{}
		}
		raw[k] = rawValue(m[k])
	}
	return raw
}

// rawValue returns v with arrays of tables as []any, the form TOML's
// inline arrays take, so a value reads back equal from TOML().
func rawValue(v any) any {
	switch x := v.(type) {
	case []map[string]any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = rawValue(x[i])
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = rawValue(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = rawValue(e)
		}
		return out
	}
	return v
}

// sortedKeys returns m's keys in file order, so errors come out in a
// stable order.
func (p *parser) sortedKeys(path []string, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := p.ps.offs[pathKey(append(slices.Clip(path), a))], p.ps.offs[pathKey(append(slices.Clip(path), b))]
		if pa != pb {
			return pa - pb
		}
		return strings.Compare(a, b)
	})
	return keys
}

var durationType = reflect.TypeFor[Duration]()

// table decodes the TOML table v into the struct *dst by its toml tags.
func (p *parser) table(path []string, v any, dst any) {
	m, ok := v.(map[string]any)
	if !ok {
		p.decodeErr(path, "expected a table, got %s", describe(v))
		return
	}
	rv := reflect.ValueOf(dst).Elem()
	fields := fieldsOf(rv.Type())
	for _, k := range p.sortedKeys(path, m) {
		kp := append(slices.Clip(path), k)
		i, ok := fields[k]
		if !ok {
			p.unknown(kp, rv.Type())
			continue
		}
		p.value(kp, m[k], rv.Field(i))
	}
}

// fieldsOf maps toml tag names to field indexes.
func fieldsOf(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("toml"); name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// unknown reports an unknown key, suggesting a known one it resembles.
func (p *parser) unknown(path []string, t reflect.Type) {
	msg := "unknown key"
	if best := suggest.Closest(path[len(path)-1], maps.Keys(fieldsOf(t))); best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	}
	p.decodeErr(path, "%s", msg)
}

// value decodes one TOML value into the field rv.
func (p *parser) value(path []string, v any, rv reflect.Value) {
	if rv.Type() == durationType {
		s, ok := v.(string)
		if !ok {
			p.decodeErr(path, `expected a duration string such as "2s", got %s`, describe(v))
			return
		}
		d, err := parseDuration(s)
		if err != nil {
			p.decodeErr(path, "%v", err)
			return
		}
		rv.Set(reflect.ValueOf(Duration{d}))
		return
	}
	switch rv.Kind() {
	case reflect.String:
		if s, ok := v.(string); ok {
			rv.SetString(s)
			return
		}
		p.decodeErr(path, "expected a string, got %s", describe(v))
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			rv.SetBool(b)
			return
		}
		p.decodeErr(path, "expected true or false, got %s", describe(v))
	case reflect.Int, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			p.decodeErr(path, "expected an integer, got %s", describe(v))
			return
		}
		if rv.OverflowInt(n) {
			p.decodeErr(path, "%d is out of range", n)
			return
		}
		rv.SetInt(n)
	case reflect.Float64:
		switch f := v.(type) {
		case float64:
			rv.SetFloat(f)
		case int64:
			rv.SetFloat(float64(f))
		default:
			p.decodeErr(path, "expected a number, got %s", describe(v))
		}
	case reflect.Pointer: // *struct: a table; *bool (a rule's tls): set even when false
		ptr := reflect.New(rv.Type().Elem())
		if ptr.Elem().Kind() == reflect.Struct {
			p.table(path, v, ptr.Interface())
		} else {
			p.value(path, v, ptr.Elem())
		}
		rv.Set(ptr)
	case reflect.Slice:
		p.slice(path, v, rv)
	case reflect.Map: // map[string]string or map[string]float64
		m, ok := v.(map[string]any)
		if !ok {
			p.decodeErr(path, "expected a table (e.g. { name = value }), got %s", describe(v))
			return
		}
		out := reflect.MakeMapWithSize(rv.Type(), len(m))
		for _, k := range p.sortedKeys(path, m) {
			ev := reflect.New(rv.Type().Elem()).Elem()
			kp := append(slices.Clip(path), k)
			p.value(kp, m[k], ev)
			if !p.bad[pathKey(kp)] {
				out.SetMapIndex(reflect.ValueOf(k), ev)
			}
		}
		rv.Set(out)
	default:
		panic("config: no decoder for " + rv.Type().String())
	}
}

// slice decodes an array: of strings, of integers, or of tables (a slice
// of struct pointers).
func (p *parser) slice(path []string, v any, rv reflect.Value) {
	et := rv.Type().Elem()
	switch et.Kind() {
	case reflect.Pointer:
		elems, ok := asArray(v)
		if !ok {
			p.decodeErr(path, "expected an array of tables, got %s", describe(v))
			return
		}
		out := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
		for i, e := range elems {
			p.value(append(slices.Clip(path), index(i)), e, out.Index(i))
		}
		rv.Set(out)
		return
	case reflect.Int:
		elems, ok := v.([]any)
		if !ok {
			p.decodeErr(path, "expected an array of integers, got %s", describe(v))
			return
		}
		out := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
		for i, e := range elems {
			p.value(append(slices.Clip(path), index(i)), e, out.Index(i))
		}
		rv.Set(out)
		return
	}
	{ // []string
		elems, ok := v.([]any)
		if !ok {
			p.decodeErr(path, "expected an array of strings, got %s", describe(v))
			return
		}
		out := make([]string, 0, len(elems))
		bad := false
		for i, e := range elems {
			s, ok := e.(string)
			if !ok {
				p.decodeErr(append(slices.Clip(path), index(i)), "expected a string, got %s", describe(e))
				bad = true
				continue
			}
			out = append(out, s)
		}
		if bad {
			p.bad[pathKey(path)] = true
		}
		rv.Set(reflect.ValueOf(out))
	}
}

// asArray returns v's elements when v is an array.
func asArray(v any) ([]any, bool) {
	switch a := v.(type) {
	case []map[string]any:
		out := make([]any, len(a))
		for i := range a {
			out[i] = a[i]
		}
		return out, true
	case []any:
		return a, true
	}
	return nil, false
}

// describe names a TOML value's type, with the value when it is short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			return "a string"
		}
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Sprintf("the float %v", v)
		}
		return fmt.Sprintf("the float %s", formatFloat(v))
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date/time"
	}
	return fmt.Sprintf("a %T", v)
}
