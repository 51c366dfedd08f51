package app

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/shellac-lb/shellac/admin"
)

// tomlTable writes fields, a table decoded from JSON (numbers as
// json.Number), as the TOML table [kind.name], so that it goes through
// config.Parse like any table of a file: unknown keys, wrong types, bad
// durations and addresses are reported by the same code with the same
// messages. JSON numbers are copied as written (JSON's number syntax is a
// subset of TOML's), so 8 stays an integer and 8.0 a float.
func tomlTable(kind, name string, fields map[string]any) (string, error) {
	var b strings.Builder
	b.WriteString("[" + tomlKey(kind) + "." + tomlKey(name) + "]\n")
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		b.WriteString(tomlKey(k) + " = ")
		if err := tomlValue(&b, fields[k]); err != nil {
			return "", admin.Errorf(http.StatusBadRequest, "%s: %v", k, err)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// tomlValue appends v as a TOML value.
func tomlValue(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("null is not a value: leave the key out to get its default")
	case string:
		b.WriteString(tomlString(x))
	case bool:
		fmt.Fprint(b, x)
	case json.Number:
		b.WriteString(x.String())
	case float64: // decoded without UseNumber
		fmt.Fprint(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := tomlValue(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteString("{ ")
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tomlKey(k) + " = ")
			if err := tomlValue(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteString(" }")
	default:
		return fmt.Errorf("unsupported value %T", v)
	}
	return nil
}

// tomlKey returns k as a TOML key: bare when it can be, else quoted.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return tomlString(k)
		}
	}
	return k
}

// tomlString returns s as a TOML basic string, control characters
// escaped. (s comes from JSON, so it is valid UTF-8.)
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
