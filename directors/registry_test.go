package directors

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// registered is a director type registered by these tests: round-robin
// with a start option.
type registered struct {
	RoundRobin
	start int
}

func init() {
	Register("registry_test_rr", func(name string, o *Options) (Cluster, error) {
		start, err := o.Int("start", 0)
		if err == nil && start < 0 {
			err = o.Errorf("start", "must be ≥ 0, got %d", start)
		}
		d := &registered{RoundRobin: *NewRoundRobin(name), start: start}
		d.SetOwner(d)
		return d, err
	})
	RegisterBackend("registry_test_leaf", func(name string, o *Options) (Responder, error) {
		return nil, nil // a broken factory
	})
}

func TestRegistry(t *testing.T) {
	if !slices.Contains(DirectorTypes(), "registry_test_rr") || !IsRegistered("registry_test_rr") {
		t.Errorf("DirectorTypes() = %v", DirectorTypes())
	}
	if IsRegistered("round_robin") || IsRegistered("nope") {
		t.Error("core or unknown types reported registered")
	}
	if !IsRegisteredBackend("registry_test_leaf") || !slices.Contains(BackendTypes(), "registry_test_leaf") {
		t.Errorf("BackendTypes() = %v", BackendTypes())
	}
	d, err := NewRegistered("registry_test_rr", "web", map[string]any{"start": int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "web" || d.(*registered).start != 2 {
		t.Errorf("built %s with start %d", d.Name(), d.(*registered).start)
	}
	bs := testBackends("s", 2)
	if err := d.Replace(asMembers(bs), nil); err != nil {
		t.Fatal(err)
	}
	if got := resolveName(d, &Request{}); got != "s1" {
		t.Errorf("resolved %q", got)
	}
	if err := d.Add(d, 1); !errors.Is(err, ErrCycle) {
		t.Errorf("adding the director to itself: %v; want ErrCycle", err)
	}
}

func TestRegistryErrors(t *testing.T) {
	_, err := NewRegistered("registry_test_rr", "web", map[string]any{"start": int64(-1), "strat": int64(1), "zzz": true})
	for _, want := range []string{
		"start: must be ≥ 0, got -1",
		"strat: not an option of registry_test_rr directors (did you mean start?)",
		"zzz: not an option of registry_test_rr directors",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrUnknownOption) {
		t.Errorf("%v does not match ErrUnknownOption", err)
	}
	if _, err := NewRegistered("nope", "web", nil); !errors.Is(err, ErrUnknownType) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := NewRegisteredBackend("nope", "b", nil); !errors.Is(err, ErrUnknownType) {
		t.Errorf("unknown backend type: %v", err)
	}
	if _, err := NewRegisteredBackend("registry_test_leaf", "b", nil); err == nil {
		t.Error("a factory returning a nil Responder was accepted")
	}
}

func TestRegisterPanics(t *testing.T) {
	f := func(string, *Options) (Cluster, error) { return NewRoundRobin("x"), nil }
	for _, c := range []struct {
		name string
		do   func()
	}{
		{"core type", func() { Register("shard", f) }},
		{"twice", func() { Register("registry_test_rr", f) }},
		{"empty", func() { Register("", f) }},
		{"nil factory", func() { Register("registry_test_nil", nil) }},
		{"backend twice", func() {
			RegisterBackend("registry_test_leaf", func(string, *Options) (Responder, error) { return nil, nil })
		}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", c.name)
				}
			}()
			c.do()
		}()
	}
}

func TestOptionsGetters(t *testing.T) {
	o := NewOptions(map[string]any{
		"s": "x", "i": int64(3), "f": 2.5, "fi": int64(2), "b": true, "d": "250ms",
		"ss": []any{"a", "b"}, "sm": map[string]any{"k": "v"},
		"bad_d": "soon", "neg_d": "-1s", "bad_ss": []any{"a", int64(1)}, "bad_sm": map[string]any{"k": 1.5},
		"inf": 0.0,
	})
	check := func(what string, err error, want string) {
		t.Helper()
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", what, err)
		case want != "" && (err == nil || err.Error() != want):
			t.Errorf("%s: error %v; want %q", what, err, want)
		}
	}
	s, err := o.String("s", "")
	check("s", err, "")
	i, err := o.Int("i", 0)
	check("i", err, "")
	f, err := o.Float("f", 0)
	check("f", err, "")
	fi, err := o.Float("fi", 0)
	check("fi", err, "")
	b, err := o.Bool("b", false)
	check("b", err, "")
	d, err := o.Duration("d", 0)
	check("d", err, "")
	ss, err := o.Strings("ss")
	check("ss", err, "")
	sm, err := o.StringMap("sm")
	check("sm", err, "")
	def, err := o.Int("missing", 7)
	check("missing", err, "")
	if s != "x" || i != 3 || f != 2.5 || fi != 2 || !b || d != 250*time.Millisecond ||
		!slices.Equal(ss, []string{"a", "b"}) || sm["k"] != "v" || def != 7 {
		t.Errorf("got %v %v %v %v %v %v %v %v %v", s, i, f, fi, b, d, ss, sm, def)
	}
	_, err = o.Int("s", 0)
	check("Int(s)", err, `s: expected an integer, got the string "x"`)
	_, err = o.Duration("bad_d", 0)
	check("bad_d", err, `bad_d: "soon" is not a duration (write e.g. "250ms", "2s", "1m30s")`)
	_, err = o.Duration("neg_d", 0)
	check("neg_d", err, `neg_d: "-1s" is negative`)
	_, err = o.Strings("bad_ss")
	check("bad_ss", err, "bad_ss[1]: expected a string, got the integer 1")
	_, err = o.StringMap("bad_sm")
	check("bad_sm", err, "bad_sm.k: expected a string, got the float 1.5")
	_, err = o.Bool("i", false)
	check("Bool(i)", err, "i: expected true or false, got the integer 3")
	if err := o.unasked("test"); err == nil || !strings.Contains(err.Error(), "inf: not an option of test") {
		t.Errorf("unasked: %v", err)
	}
	if !o.Has("inf") || o.unasked("test") != nil {
		t.Error("Has does not count as asking")
	}
	if got := o.Keys(); len(got) != 13 || got[0] != "b" {
		t.Errorf("Keys() = %v", got)
	}
}
