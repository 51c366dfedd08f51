package bench

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestParseScale(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"", nil, false},
		{"1,2,4", []int{1, 2, 4}, false},
		{"2, 1, 2", []int{2, 1}, false},
		{"0", nil, true},
		{"x", nil, true},
	} {
		got, err := parseScale(tc.in)
		if (err != nil) != tc.err || !equalInts(got, tc.want) {
			t.Errorf("parseScale(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
	auto, err := parseScale("auto")
	if err != nil || auto[0] != 1 || auto[len(auto)-1] != runtime.NumCPU() {
		t.Errorf("auto = %v, %v", auto, err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScaleTable(t *testing.T) {
	rep := func(rps, cpu float64) []ScenarioReport {
		return []ScenarioReport{{Name: "get1k", Title: "keep-alive GET, 1 KiB response", Rows: []Row{
			{Target: "direct", Runs: 1, ReqPerSec: Stat{Median: 90000}},
			{Target: "shellac", Runs: 1, ReqPerSec: Stat{Median: rps}, CPUPerReqUS: cpu, ProxyCPUPct: 95},
		}}}
	}
	var b bytes.Buffer
	writeScaleTable(&b, []scaleRun{{workers: 1, pinned: true, reports: rep(30000, 30)}, {workers: 2, reports: rep(45000, 40)}})
	out := b.String()
	for _, want := range []string{"shellac        1    true  30.0k", "shellac        2   false  45.0k", "33.3k", "25.0k", "0.75"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "direct ") {
		t.Errorf("the direct target is in the scaling table:\n%s", out)
	}
}
