package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const editBase = `
[probes.ok]
url = "/healthz"

[backends.a]
address = "127.0.0.1:9001"

[backends.b]
address = "127.0.0.1:9002"
probe = "ok"

[directors.web]
type = "random"
members = ["a", "b"]
weights = { a = 2.0 }

[directors.solo]
type = "round_robin"
members = ["a"]

[[routes]]
path_prefix = "/x"
director = "web"
retry_on = ["connect"]
`

// jsonFields decodes a JSON object as the admin API does (UseNumber).
func jsonFields(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWithPutBackendAsAFile: a backend put from JSON fields is the backend
// the same table in a file gives, defaults included.
func TestWithPutBackendAsAFile(t *testing.T) {
	base := mustParse(t, "test.toml", editBase)
	tests := []struct {
		json, toml string
	}{
		{`{"address": "127.0.0.1:9003"}`, `address = "127.0.0.1:9003"`},
		{`{"address": "unix:/run/c.sock", "max_idle": 8, "connect_timeout": "250ms", "probe": "ok"}`,
			"address = \"unix:/run/c.sock\"\nmax_idle = 8\nconnect_timeout = \"250ms\"\nprobe = \"ok\""},
		{`{"address": "127.0.0.1:9003", "max_idle": 0, "first_byte_timeout": "0s"}`,
			"address = \"127.0.0.1:9003\"\nmax_idle = 0\nfirst_byte_timeout = \"0s\""},
		{`{"type": "synthetic", "status": 503, "body": "down"}`,
			"type = \"synthetic\"\nstatus = 503\nbody = \"down\""},
	}
	for _, tc := range tests {
		got, err := base.With(PutBackend{Name: "c", Fields: jsonFields(t, tc.json)})
		if err != nil {
			t.Errorf("With(%s): %v", tc.json, err)
			continue
		}
		want := mustParse(t, "test.toml", editBase+"\n[backends.c]\n"+tc.toml+"\n")
		g, w := *got.Backends["c"], *want.Backends["c"]
		g.Pos, w.Pos = Pos{}, Pos{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("With(%s):\n got %+v\nwant %+v", tc.json, g, w)
		}
	}
}

// TestWithRefuses: an edit that a file could not say is refused with a
// message naming the key, and the running configuration is untouched.
func TestWithRefuses(t *testing.T) {
	base := mustParse(t, "test.toml", editBase)
	before := base.Clone()
	tests := []struct {
		edit Edit
		want string
	}{
		{PutBackend{"c", jsonFields(t, `{"adress": "127.0.0.1:1"}`)}, "backends.c.adress: unknown key (did you mean address?)"},
		{PutBackend{"c", jsonFields(t, `{"address": "127.0.0.1:1", "max_idle": "eight"}`)}, "backends.c.max_idle: expected an integer"},
		{PutBackend{"c", jsonFields(t, `{"address": "127.0.0.1:1", "max_idle": 1.5}`)}, "backends.c.max_idle: expected an integer, got the float 1.5"},
		{PutBackend{"c", jsonFields(t, `{"address": "127.0.0.1:1", "probe": null}`)}, "backends.c.probe: null is not a value"},
		{PutBackend{"c", jsonFields(t, `{"address": "127.0.0.1:1", "probe": "nope"}`)}, `"nope"`},
		{PutBackend{"web", jsonFields(t, `{"address": "127.0.0.1:1"}`)}, "same name"},
		{PutBackend{"c", jsonFields(t, `{"address": "nowhere"}`)}, "backends.c.address"},
		{DeleteMember{"solo", "a"}, "directors.solo.members"},
		{PutMember{"web", "nope", 0}, "nope"},
		{PutMember{"ghost", "a", 0}, "directors.ghost: no such director"},
	}
	for _, tc := range tests {
		_, err := base.With(tc.edit)
		var errs Errors
		if !errors.As(err, &errs) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("With(%+v) = %v; want an Errors with %q", tc.edit, err, tc.want)
		}
	}
	if !reflect.DeepEqual(base, before) {
		t.Error("a refused edit changed the configuration it was applied to")
	}
}

// TestWithMembers: member edits change the copy only, weights and idents
// included.
func TestWithMembers(t *testing.T) {
	base := mustParse(t, "test.toml", editBase)
	c, err := base.With(PutMember{Director: "web", Member: "solo", Weight: 3}, PutMember{Director: "web", Member: "a"})
	if err != nil {
		t.Fatal(err)
	}
	web := c.Directors["web"]
	if !reflect.DeepEqual(web.Members, []string{"a", "b", "solo"}) || web.Weights["solo"] != 3 || web.Weights["a"] != 2 {
		t.Errorf("after PutMember: members %v weights %v", web.Members, web.Weights)
	}
	if len(base.Directors["web"].Members) != 2 || base.Directors["web"].Weights["solo"] != 0 {
		t.Error("PutMember changed the original")
	}
	c, err = c.With(DeleteBackend{Name: "b"}, DeleteMember{Director: "web", Member: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if web := c.Directors["web"]; !reflect.DeepEqual(web.Members, []string{"solo"}) || web.Weights["a"] != 0 || c.Backends["b"] != nil {
		t.Errorf("after deletes: backends %v, web %+v", c.Backends, web)
	}
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCloneIsDeep: changing every slice and map of a clone leaves the
// original as it was.
func TestCloneIsDeep(t *testing.T) {
	base := mustLoad(t, "testdata/spec.toml")
	orig := base.Clone()
	c := base.Clone()
	if !reflect.DeepEqual(c, base) {
		t.Fatal("clone differs from the original")
	}
	c.Server.Listen[0] = "changed"
	for _, p := range c.Probes {
		p.URL = "/changed"
		if len(p.Request) > 0 {
			p.Request[0] = "changed"
		}
	}
	for _, b := range c.Backends {
		b.Address = "changed"
		for k := range b.Options {
			b.Options[k] = "changed"
		}
	}
	for _, d := range c.Directors {
		if len(d.Members) > 0 {
			d.Members[0] = "changed"
		}
		for k := range d.Weights {
			d.Weights[k] = 99
		}
		for k := range d.Idents {
			d.Idents[k] = "changed"
		}
		if len(d.Key) > 0 {
			d.Key[0] = "changed"
		}
	}
	for _, r := range c.Routes {
		if len(r.RetryOn) > 0 {
			r.RetryOn[0] = "changed"
		}
	}
	c.Routes = append(c.Routes, &Route{})
	if !reflect.DeepEqual(base, orig) {
		t.Error("changing the clone changed the original")
	}
}
