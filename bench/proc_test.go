package bench

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestProcReadersOnSelf reads the test process's own CPU time and memory.
func TestProcReadersOnSelf(t *testing.T) {
	self := []int{os.Getpid()}
	before := treeCPU(self)
	// Burn some CPU so the counter (10 ms ticks) moves.
	deadline := time.Now().Add(150 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after := treeCPU(self)
	if after <= before {
		t.Errorf("CPU time did not grow while spinning: %v then %v (x=%d)", before, after, x)
	}
	st, err := readStat(os.Getpid())
	if err != nil || st.ppid != os.Getppid() || st.start == 0 {
		t.Errorf("readStat(self) = %+v, %v; want ppid %d", st, err, os.Getppid())
	}

	m, err := readMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.rss <= 0 || m.hwm < m.rss {
		t.Errorf("readMem(self) = %+v; want 0 < rss <= hwm", m)
	}
	if sum := treeMem(self); sum.rss <= 0 {
		t.Errorf("treeMem(self) = %+v", sum)
	}
	// Raise the peak by 64 MiB, give the memory back, and reset the peak:
	// it must drop with the RSS.
	big := make([]byte, 64<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	high, _ := readMem(os.Getpid())
	big = nil
	debug.FreeOSMemory()
	if err := resetPeak(self); err != nil {
		t.Logf("resetPeak not available here: %v", err)
	} else if low, _ := readMem(os.Getpid()); low.hwm > high.hwm-32<<20 {
		t.Errorf("VmHWM after reset = %d; want below %d (peak %d, RSS now %d)", low.hwm, high.hwm-32<<20, high.hwm, low.rss)
	}
	if busy, total := cpuTimes(nil); total == 0 || busy > total {
		t.Errorf("cpuTimes = %d busy of %d", busy, total)
	}
}

// TestStartProcPinnedAndStop starts a child pinned to one CPU, finds it as
// a descendant, and stops it by PID.
func TestStartProcPinnedAndStop(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for c := 0; c < 1024 && cpu < 0; c++ {
		if set.IsSet(c) {
			cpu = c
		}
	}
	p, err := startProc(procSpec{name: "sleep", argv: []string{sleep, "30"}, cpus: []int{cpu}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(time.Second)
	found := false
	for _, d := range descendants(os.Getpid()) {
		found = found || d.pid == p.pid()
	}
	if !found {
		t.Errorf("child %d not among the descendants of %d", p.pid(), os.Getpid())
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid()) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	want := "Cpus_allowed_list:\t" + cpuList([]int{cpu})
	if !strings.Contains(string(b), want) {
		t.Errorf("child status lacks %q", want)
	}
	var self unix.CPUSet
	if err := unix.SchedGetaffinity(0, &self); err == nil && self != set {
		t.Error("starting a pinned child changed this thread's affinity")
	}
	p.stop(time.Second)
	if !p.exited() {
		t.Error("child still running after stop")
	}
	p.stop(time.Second) // a second stop is harmless
}

func TestCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{{[]int{0}, "0"}, {[]int{0, 2}, "0,2"}, {[]int{1, 2, 3}, "1-3"}, {[]int{0, 1, 4, 6, 7}, "0-1,4,6-7"}} {
		if got := cpuList(tc.in); got != tc.want {
			t.Errorf("cpuList(%v) = %q; want %q", tc.in, got, tc.want)
		}
	}
	proxy, load, note := cpuPlan(1, true)
	if len(proxy) > 0 && (len(load) == 0 || proxy[0] == load[len(load)-1]) {
		t.Errorf("cpuPlan: proxy %v load %v overlap (%s)", proxy, load, note)
	}
	if p, l, _ := cpuPlan(1, false); p != nil || l != nil {
		t.Errorf("cpuPlan(pin=false) pinned %v %v", p, l)
	}
}
