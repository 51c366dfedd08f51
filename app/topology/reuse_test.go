package topology

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// reuseTest is a registered director type with one option, bias, so that
// a reload can change a registered director's Options.
type reuseTest struct {
	directors.Set
	name string
}

func (d *reuseTest) Name() string                      { return d.name }
func (d *reuseTest) Healthy(r *directors.Request) bool { return d.Load().AnyHealthy(r) }
func (d *reuseTest) Resolve(r *directors.Request) directors.Member {
	return d.Load().PickByWeight(0, r)
}

func init() {
	directors.Register("reuse_test", func(name string, o *directors.Options) (directors.Cluster, error) {
		if _, err := o.Int("bias", 0); err != nil {
			return nil, err
		}
		d := &reuseTest{name: name}
		d.SetOwner(d)
		return d, nil
	})
}

// reuseConfig: a tree with every kind of nesting:
//
//	top (random) ─ sm (saintmode) ─ fb (fallback, sticky) ─ rr (round_robin) ─ a, b
//	             │                                       └ c
//	             └ d
//	h (hash) ─ c                     (server.default_director)
//	regtop (round_robin) ─ reg (reuse_test, bias) ─ d
//	                     └ a
//	shtop (fallback) ─ sh (shard) ─ b, c
const reuseConfig = `
[backends.a]
address = "127.0.0.1:8001"
[backends.b]
address = "127.0.0.1:8002"
[backends.c]
address = "127.0.0.1:8003"
[backends.d]
address = "127.0.0.1:8004"

[directors.rr]
type = "round_robin"
members = ["a", "b"]

[directors.fb]
type = "fallback"
members = ["rr", "c"]
sticky = true

[directors.sm]
type = "saintmode"
member = "fb"

[directors.top]
type = "random"
members = ["sm", "d"]

[directors.h]
type = "hash"
members = ["c"]
key = ["url"]

[directors.reg]
type = "reuse_test"
members = ["d"]
bias = 1

[directors.regtop]
type = "round_robin"
members = ["reg", "a"]

[directors.sh]
type = "shard"
members = ["b", "c"]

[directors.shtop]
type = "fallback"
members = ["sh"]

[server]
default_director = "h"

[[routes]]
path_prefix = "/x"
director = "top"
`

func parseReuse(t *testing.T, from, to string) *config.Config {
	t.Helper()
	text := reuseConfig
	if from != "" {
		if !strings.Contains(text, from) {
			t.Fatalf("%q is not in the configuration", from)
		}
		text = strings.Replace(text, from, to, 1)
	}
	cfg, err := config.Parse("reuse.toml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return cfg
}

// rebuilt returns the names of the directors of n that are not prev's.
func rebuilt(prev, n *route.Table) []string {
	var out []string
	for name, d := range n.Directors {
		if prev.Directors[name] != d {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestBuildReusesDirectors: a reload keeps every director whose
// configuration and members did not change, and rebuilds exactly those
// that changed or that (transitively) contain something rebuilt.
func TestBuildReusesDirectors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string
		want     []string
	}{
		{"unchanged", "", "", nil},
		{"backend a address", `"127.0.0.1:8001"`, `"127.0.0.1:9001"`, []string{"fb", "regtop", "rr", "sm", "top"}},
		{"backend c address", `"127.0.0.1:8003"`, `"127.0.0.1:9003"`, []string{"fb", "h", "sh", "shtop", "sm", "top"}},
		{"backend d address", `"127.0.0.1:8004"`, `"127.0.0.1:9004"`, []string{"reg", "regtop", "top"}},
		{"fallback sticky", "sticky = true", "sticky = false", []string{"fb", "sm", "top"}},
		{"saintmode threshold", `member = "fb"`, "member = \"fb\"\nthreshold = 3", []string{"sm", "top"}},
		{"round_robin members", `members = ["a", "b"]`, `members = ["a", "b", "d"]`, []string{"fb", "rr", "sm", "top"}},
		{"member order", `members = ["rr", "c"]`, `members = ["c", "rr"]`, []string{"fb", "sm", "top"}},
		{"hash weight", `members = ["c"]`, "members = [\"c\"]\nweights = { c = 2.0 }", []string{"h"}},
		{"hash key", `key = ["url"]`, `key = ["host"]`, []string{"h"}},
		{"shard replicas", `members = ["b", "c"]`, "members = [\"b\", \"c\"]\nreplicas = 50", []string{"sh", "shtop"}},
		{"registered option", "bias = 1", "bias = 2", []string{"reg", "regtop"}},
		{"route only", `path_prefix = "/x"`, `path_prefix = "/y"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg0 := parseReuse(t, "", "")
			t0, err := Build(cfg0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg1 := parseReuse(t, tc.from, tc.to)
			t1, err := Build(cfg1, t0, cfg0)
			if err != nil {
				t.Fatal(err)
			}
			if got := rebuilt(t0, t1); !slices.Equal(got, tc.want) {
				t.Errorf("rebuilt %v; want %v", got, tc.want)
			}
			checkTree(t, cfg1, t1)
		})
	}
}

// checkTree checks every director of tab has, as members, the objects of
// tab that cfg names, and the routes target tab's objects.
func checkTree(t *testing.T, cfg *config.Config, tab *route.Table) {
	t.Helper()
	obj := func(n string) directors.Member {
		if b, ok := tab.Backends[n]; ok {
			return b
		}
		return tab.Directors[n]
	}
	for name, dc := range cfg.Directors {
		names := dc.Members
		if dc.Type == config.Saintmode {
			names = []string{dc.Member}
		}
		var want []directors.Member
		for _, n := range names {
			want = append(want, obj(n))
		}
		got := tab.Directors[name].(interface{ Members() []directors.Member }).Members()
		if !slices.Equal(got, want) {
			t.Errorf("%s: members %v; want %v", name, got, want)
		}
	}
	if tab.Routes[0].Target != obj("top") || tab.Default.Target != obj("h") {
		t.Errorf("routes target %v and %v", tab.Routes[0].Target, tab.Default.Target)
	}
}

// TestBuildReuseRunningConfig: the comparison is with the configuration
// the live directors serve now (prevCfg), not with the one they were built
// from; a director changed in place is rebuilt when the new configuration
// differs from that state, and kept when it matches it; without prevCfg
// no director is kept (backends are).
func TestBuildReuseRunningConfig(t *testing.T) {
	file := parseReuse(t, "", "")
	t0, err := Build(file, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A run-time change, as the admin API makes it: b leaves rr in place,
	// and the running configuration says so.
	t0.Directors["rr"].(*directors.RoundRobin).Remove("b")
	running := parseReuse(t, `members = ["a", "b"]`, `members = ["a"]`)

	// Reloading the file (rr = [a, b]) differs from the running state.
	t1, err := Build(file, t0, running)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rebuilt(t0, t1), []string{"fb", "rr", "sm", "top"}; !slices.Equal(got, want) {
		t.Errorf("file reloaded over a run-time change: rebuilt %v; want %v", got, want)
	}
	checkTree(t, file, t1)

	// A file that says what the run-time change did keeps everything.
	t2, err := Build(running, t0, running)
	if err != nil {
		t.Fatal(err)
	}
	if got := rebuilt(t0, t2); got != nil {
		t.Errorf("file equal to the running state: rebuilt %v; want none", got)
	}

	// A stale prevCfg (the file) does not hide the change: rr's live
	// members no longer match, so it is rebuilt all the same.
	t3, err := Build(file, t0, file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rebuilt(t0, t3), []string{"fb", "rr", "sm", "top"}; !slices.Equal(got, want) {
		t.Errorf("stale prevCfg: rebuilt %v; want %v", got, want)
	}
	checkTree(t, file, t3)

	// No prevCfg: backends kept, directors all new.
	t4, err := Build(file, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := rebuilt(t0, t4); len(got) != len(t0.Directors) {
		t.Errorf("without prevCfg: rebuilt %v; want all", got)
	}
	if t4.Backends["a"] != t0.Backends["a"] {
		t.Error("without prevCfg: backend a not kept")
	}
}

// TestBuildReuseKeepsState: a kept director keeps its state: the
// round-robin cursor continues and the saintmode blacklist stays.
func TestBuildReuseKeepsState(t *testing.T) {
	cfg := parseReuse(t, "", "")
	t0, err := Build(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &directors.Request{}
	first := directors.Resolve(t0.Directors["rr"], r).Name()
	sm := t0.Directors["sm"].(*directors.Saintmode)
	sm.Blacklist(r, t0.Backends["a"], time.Minute, time.Now().UnixNano())
	t1, err := Build(parseReuse(t, "", ""), t0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if next := directors.Resolve(t1.Directors["rr"], &directors.Request{}).Name(); next == first {
		t.Errorf("round robin restarted: %s twice", first)
	}
	if n := t1.Directors["sm"].(*directors.Saintmode).Count(time.Now().UnixNano()); n != 1 {
		t.Errorf("saintmode count after reload %d; want 1", n)
	}
}
