package config

import (
	"reflect"
	"testing"
	"time"
)

// The broken configurations of passive health and retry budgets join
// TestBrokenConfigs' table (and FuzzParse's seeds).
func init() {
	brokenConfigs = append(brokenConfigs, outlierBroken...)
}

var outlierBroken = []struct {
	name string
	src  string
	want []string
}{
	{"outlier keys without outlier_consecutive", `
[backends.a]
address = "127.0.0.1:80"
outlier_on = ["5xx"]
outlier_base_ejection = "1s"
`, []string{
		"3:1: backends.a.outlier_on: does nothing without outlier_consecutive > 0",
		"4:1: backends.a.outlier_base_ejection: does nothing without outlier_consecutive > 0",
	}},
	{"bad outlier kinds and times", `
[backends.a]
address = "127.0.0.1:80"
outlier_consecutive = 3
outlier_on = ["5xx", "500", "5xx"]
outlier_base_ejection = "10s"
outlier_max_ejection = "5s"
`, []string{
		`4: backends.a.outlier_on[1]: "500" is not one of "connect", "reset", "5xx", "timeout"`,
		`4: backends.a.outlier_on[2]: "5xx" is listed twice`,
		"6:1: backends.a.outlier_max_ejection: 5s is below outlier_base_ejection 10s",
	}},
	{"outlier detection that cannot eject", `
[backends.a]
address = "127.0.0.1:80"
outlier_consecutive = -1
[backends.b]
address = "127.0.0.1:81"
outlier_consecutive = 2
outlier_on = []
outlier_base_ejection = "0s"
`, []string{
		"3:1: backends.a.outlier_consecutive: must be ≥ 0",
		"7:1: backends.b.outlier_on: lists no failure kind",
		"8:1: backends.b.outlier_base_ejection: must be > 0",
	}},
	{"max_ejection_percent out of range or misplaced", `
[backends.a]
address = "127.0.0.1:80"
[directors.d]
type = "round_robin"
members = ["a"]
max_ejection_percent = 150
[directors.s]
type = "saintmode"
member = "a"
max_ejection_percent = 50
[directors.l]
type = "least_conn"
members = ["a"]
max_ejection_percent = -1
`, []string{
		"6:1: directors.d.max_ejection_percent: 150 is not a percentage (0-100)",
		"10:1: directors.s: max_ejection_percent is not an option of saintmode directors",
		"14:1: directors.l.max_ejection_percent: -1 is not a percentage (0-100)",
	}},
	{"bad retry budgets", `
[backends.a]
address = "127.0.0.1:80"
[[routes]]
director = "a"
retry_budget_min = 2
[[routes]]
director = "a"
retry_budget_percent = 120.0
[[routes]]
director = "a"
retry_budget_percent = 20
retry_budget_min = -1
`, []string{
		"5:1: routes[0].retry_budget_min: does nothing without retry_budget_percent > 0",
		"8:1: routes[1].retry_budget_percent: 120.0 is not a percentage",
		"12:1: routes[2].retry_budget_min: must be ≥ 0, got -1",
	}},
}

func TestOutlierDefaults(t *testing.T) {
	c := mustParse(t, "o.toml", `
[backends.a]
address = "127.0.0.1:80"
outlier_consecutive = 5
[backends.b]
address = "127.0.0.1:81"
outlier_consecutive = 2
outlier_on = ["connect", "5xx"]
outlier_base_ejection = "1s"
outlier_max_ejection = "10s"
[backends.c]
address = "127.0.0.1:82"
[directors.d]
type = "round_robin"
members = ["a", "b", "c"]
[directors.p]
type = "p2c"
members = ["a", "b"]
max_ejection_percent = 100
[directors.s]
type = "saintmode"
member = "a"
[[routes]]
director = "d"
retries = 2
retry_on = ["5xx"]
retry_budget_percent = 20.0
[[routes]]
director = "p"
retry_budget_percent = 50
retry_budget_min = 0
`)
	type outlier struct {
		n        int
		on       []string
		base, mx time.Duration
	}
	for name, want := range map[string]outlier{
		"a": {5, []string{"connect", "reset", "5xx", "timeout"}, 30 * time.Second, 5 * time.Minute},
		"b": {2, []string{"connect", "5xx"}, time.Second, 10 * time.Second},
		"c": {},
	} {
		b := c.Backends[name]
		got := outlier{b.OutlierConsecutive, b.OutlierOn, b.OutlierBaseEjection.Duration, b.OutlierMaxEjection.Duration}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("backend %s: outlier %+v; want %+v", name, got, want)
		}
	}
	for name, want := range map[string]int{"d": 50, "p": 100, "s": 0} {
		if got := c.Directors[name].MaxEjectionPercent; got != want {
			t.Errorf("director %s: max_ejection_percent %d; want %d", name, got, want)
		}
	}
	if r := c.Routes[0]; r.RetryBudgetPercent != 20 || r.RetryBudgetMin != 3 {
		t.Errorf("routes[0] budget %v%% min %d; want 20%% min 3", r.RetryBudgetPercent, r.RetryBudgetMin)
	}
	if r := c.Routes[1]; r.RetryBudgetPercent != 50 || r.RetryBudgetMin != 0 {
		t.Errorf("routes[1] budget %v%% min %d; want 50%% min 0", r.RetryBudgetPercent, r.RetryBudgetMin)
	}
	roundTrip(t, "outlier", c)
	cl := c.Clone()
	cl.Backends["b"].OutlierOn[0] = "reset"
	if c.Backends["b"].OutlierOn[0] != "connect" {
		t.Error("Clone shares outlier_on")
	}
}
