package directors

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/shellac-lb/shellac/internal/suggest"
)

// Options are the options of one registered director or backend, as the
// TOML decoder gave them: string, int64, float64, bool, []any,
// map[string]any, or time.Time for a TOML date. (A Go program building
// options by hand may also use int.) A factory reads them through the
// typed getters, which record every key asked for, present or not;
// NewRegistered then refuses the keys nobody asked for.
//
// The getters return *OptionError, naming the key, so the configuration
// reports the error at that key's line. Options are read by one factory
// call: they are not safe for concurrent use.
type Options struct {
	raw   map[string]any
	asked map[string]bool
}

// NewOptions wraps raw (which may be nil). raw is not copied; the getters
// do not modify it.
func NewOptions(raw map[string]any) *Options {
	return &Options{raw: raw, asked: map[string]bool{}}
}

// OptionError is a problem with one option of a registered director or
// backend.
type OptionError struct {
	// Key is the option, as written in the table.
	Key string
	// Elem, when not empty, is where inside the option's value the problem
	// is: a key of a table value, or "[i]" for the ith element of an array.
	Elem string
	Err  error
}

// Error returns "key: message" or "key.elem: message".
func (e *OptionError) Error() string {
	k := e.Key
	if e.Elem != "" {
		if e.Elem[0] != '[' {
			k += "."
		}
		k += e.Elem
	}
	return k + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *OptionError) Unwrap() error { return e.Err }

// ErrUnknownOption is wrapped by the *OptionError NewRegistered returns
// for an option the factory never asked for.
var ErrUnknownOption = errors.New("not an option")

// Errorf returns an *OptionError about key.
func (o *Options) Errorf(key, format string, args ...any) error {
	return &OptionError{Key: key, Err: fmt.Errorf(format, args...)}
}

// ElemErrorf returns an *OptionError about elem (a key or "[i]") inside
// the value of key.
func (o *Options) ElemErrorf(key, elem, format string, args ...any) error {
	return &OptionError{Key: key, Elem: elem, Err: fmt.Errorf(format, args...)}
}

// Has reports whether key was given, and records it as asked.
func (o *Options) Has(key string) bool {
	_, ok := o.Value(key)
	return ok
}

// Value returns key's raw value and whether it was given, and records it
// as asked. Use it for values the typed getters do not cover.
func (o *Options) Value(key string) (any, bool) {
	o.asked[key] = true
	v, ok := o.raw[key]
	return v, ok
}

// Keys returns the keys given, sorted.
func (o *Options) Keys() []string { return sortedKeys(o.raw) }

// String returns key's value, or def when it was not given.
func (o *Options) String(key, def string) (string, error) {
	v, ok := o.Value(key)
	if !ok {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return def, o.Errorf(key, "expected a string, got %s", describe(v))
	}
	return s, nil
}

// Int returns key's value, or def when it was not given.
func (o *Options) Int(key string, def int) (int, error) {
	v, ok := o.Value(key)
	if !ok {
		return def, nil
	}
	switch n := v.(type) {
	case int64:
		if int64(int(n)) == n {
			return int(n), nil
		}
		return def, o.Errorf(key, "%d is out of range", n)
	case int:
		return n, nil
	}
	return def, o.Errorf(key, "expected an integer, got %s", describe(v))
}

// Float returns key's value, or def when it was not given. An integer is
// accepted. NaN and infinities are refused.
func (o *Options) Float(key string, def float64) (float64, error) {
	v, ok := o.Value(key)
	if !ok {
		return def, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int64:
		f = float64(n)
	case int:
		f = float64(n)
	default:
		return def, o.Errorf(key, "expected a number, got %s", describe(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return def, o.Errorf(key, "%v is not a finite number", f)
	}
	return f, nil
}

// Bool returns key's value, or def when it was not given.
func (o *Options) Bool(key string, def bool) (bool, error) {
	v, ok := o.Value(key)
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return def, o.Errorf(key, "expected true or false, got %s", describe(v))
	}
	return b, nil
}

// Duration returns key's value, a Go duration string such as "250ms", or
// def when it was not given. Negative durations are refused.
func (o *Options) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := o.Value(key)
	if !ok {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return def, o.Errorf(key, `expected a duration string such as "2s", got %s`, describe(v))
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return def, o.Errorf(key, `%q is not a duration (write e.g. "250ms", "2s", "1m30s")`, s)
	case d < 0:
		return def, o.Errorf(key, "%q is negative", s)
	}
	return d, nil
}

// Strings returns key's value, an array of strings, or nil when it was
// not given.
func (o *Options) Strings(key string) ([]string, error) {
	v, ok := o.Value(key)
	if !ok {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		if ss, ok := v.([]string); ok {
			return ss, nil
		}
		return nil, o.Errorf(key, "expected an array of strings, got %s", describe(v))
	}
	out := make([]string, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, o.ElemErrorf(key, fmt.Sprintf("[%d]", i), "expected a string, got %s", describe(e))
		}
		out[i] = s
	}
	return out, nil
}

// StringMap returns key's value, a table of strings such as
// { "Retry-After" = "120" }, or nil when it was not given.
func (o *Options) StringMap(key string) (map[string]string, error) {
	v, ok := o.Value(key)
	if !ok {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		if sm, ok := v.(map[string]string); ok {
			return sm, nil
		}
		return nil, o.Errorf(key, "expected a table (e.g. { name = value }), got %s", describe(v))
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		s, ok := m[k].(string)
		if !ok {
			return nil, o.ElemErrorf(key, k, "expected a string, got %s", describe(m[k]))
		}
		out[k] = s
	}
	return out, nil
}

// unasked returns one *OptionError per key given but never asked for,
// joined, or nil. what names the type for the message ("p2c directors").
func (o *Options) unasked(what string) error {
	var errs []error
	for _, k := range sortedKeys(o.raw) {
		if o.asked[k] {
			continue
		}
		msg := ErrUnknownOption.Error() + " of " + what
		if s := o.suggest(k); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		errs = append(errs, &OptionError{Key: k, Err: wrapped{ErrUnknownOption, msg}})
	}
	return errors.Join(errs...)
}

// suggest returns the asked key closest to k, if it is close.
func (o *Options) suggest(k string) string {
	return suggest.Closest(k, maps.Keys(o.asked))
}

// wrapped is an error with its own message that still matches err.
type wrapped struct {
	err error
	msg string
}

func (w wrapped) Error() string { return w.msg }
func (w wrapped) Unwrap() error { return w.err }

// describe names a raw value's type, with the value when it is short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			return "a string"
		}
		return fmt.Sprintf("the string %q", v)
	case int64, int:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the float %v", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case []any, []string:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date/time"
	}
	return fmt.Sprintf("a %T", v)
}
