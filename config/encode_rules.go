package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/shellac-lb/shellac/rules"
)

// rules writes a list of rules as an array of tables at path.
func (e *encoder) rules(list []*rules.Rule, path ...string) {
	for _, r := range list {
		e.arrayTable(path...)
		if r == nil {
			continue
		}
		for _, kv := range fieldsKV(reflect.ValueOf(r).Elem()) {
			e.kv(kv[0], kv[1])
		}
	}
}

// inline returns v (a matcher, rewrite or rate limit) as a TOML inline
// table.
func inline(v reflect.Value) string {
	kvs := fieldsKV(v)
	if len(kvs) == 0 {
		return "{}"
	}
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = quoteKey(kv[0]) + " = " + kv[1]
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// fieldsKV returns the TOML key and value text of each field of the
// struct v that is set: non-zero scalars, non-nil slices, maps and
// pointers (so an empty table or array reads back as it was).
func fieldsKV(v reflect.Value) [][2]string {
	var out [][2]string
	t := v.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("toml")
		if name == "" || name == "-" {
			continue
		}
		if s, ok := tomlValue(v.Field(i)); ok {
			out = append(out, [2]string{name, s})
		}
	}
	return out
}

// tomlValue returns the TOML text of a rule field, and false when it is
// not set.
func tomlValue(f reflect.Value) (string, bool) {
	switch f.Kind() {
	case reflect.String:
		return quoteString(f.String()), f.String() != ""
	case reflect.Int:
		return strconv.FormatInt(f.Int(), 10), f.Int() != 0
	case reflect.Float64:
		return formatFloat(f.Float()), f.Float() != 0
	case reflect.Pointer:
		if f.IsNil() {
			return "", false
		}
		if f.Elem().Kind() == reflect.Bool { // tls = true|false: set, even when false
			return strconv.FormatBool(f.Elem().Bool()), true
		}
		return inline(f.Elem()), true
	case reflect.Slice:
		if f.IsNil() {
			return "", false
		}
		parts := make([]string, f.Len())
		for i := range f.Len() {
			e := f.Index(i)
			switch {
			case e.Kind() == reflect.Pointer && e.IsNil():
				parts[i] = "{}"
			default:
				parts[i], _ = tomlValue(e)
				if e.Kind() == reflect.String || e.Kind() == reflect.Int {
					parts[i] = elemText(e)
				}
			}
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	case reflect.Map:
		if f.IsNil() {
			return "", false
		}
		keys := make([]string, 0, f.Len())
		for _, k := range f.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = quoteKey(k) + " = " + quoteString(f.MapIndex(reflect.ValueOf(k)).String())
		}
		if len(parts) == 0 {
			return "{}", true
		}
		return "{ " + strings.Join(parts, ", ") + " }", true
	}
	panic("config: no rule encoder for " + f.Type().String())
}

// elemText is an array element's text: zero values included.
func elemText(e reflect.Value) string {
	if e.Kind() == reflect.String {
		return quoteString(e.String())
	}
	return strconv.FormatInt(e.Int(), 10)
}
