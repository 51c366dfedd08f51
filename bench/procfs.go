package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// pidStart names a process by PID and start time, which together do not
// get reused.
type pidStart struct {
	pid   int
	start uint64
}

func (k pidStart) alive() bool {
	st, err := readStat(k.pid)
	return err == nil && st.start == k.start && st.state != 'Z'
}

// procStat is what the harness reads from /proc/PID/stat.
type procStat struct {
	state byte
	ppid  int
	ticks uint64 // utime + stime + cutime + cstime, in clockTicks
	start uint64 // starttime, in clockTicks since boot
}

// readStat reads /proc/PID/stat. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state) of proc(5); field k is f[k-3].
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	num := func(k int) uint64 { v, _ := strconv.ParseUint(f[k-3], 10, 64); return v }
	st := procStat{state: f[0][0], ppid: int(num(4)), start: num(22)}
	st.ticks = num(14) + num(15) + num(16) + num(17)
	return st, nil
}

// descendants returns the live descendants of pid, found by scanning
// /proc for parent links.
func descendants(pid int) []pidStart {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]pidStart{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(n)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], pidStart{n, st.start})
	}
	var out []pidStart
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// tree returns pid and its live descendants.
func tree(pid int) []int {
	out := []int{pid}
	for _, d := range descendants(pid) {
		out = append(out, d.pid)
	}
	return out
}

// treeCPU returns the CPU time (user + system, reaped children included)
// used so far by the processes in pids.
func treeCPU(pids []int) time.Duration {
	var ticks uint64
	for _, p := range pids {
		if st, err := readStat(p); err == nil {
			ticks += st.ticks
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// memInfo is a process's resident set size now and at its peak, in bytes.
type memInfo struct {
	rss, hwm int64
}

// readMem reads VmRSS and VmHWM from /proc/PID/status.
func readMem(pid int) (memInfo, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memInfo{}, err
	}
	var m memInfo
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return memInfo{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		if name == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
	}
	return m, nil
}

// treeMem sums readMem over pids; processes that are gone count zero.
func treeMem(pids []int) memInfo {
	var sum memInfo
	for _, p := range pids {
		if m, err := readMem(p); err == nil {
			sum.rss += m.rss
			sum.hwm += m.hwm
		}
	}
	return sum
}

// resetPeak resets VmHWM of every process in pids to its current RSS
// (writing 5 to /proc/PID/clear_refs, Linux 4.0+), so the next read of
// VmHWM is the peak of the coming run alone.
func resetPeak(pids []int) error {
	var errs []error
	for _, p := range pids {
		if err := os.WriteFile("/proc/"+strconv.Itoa(p)+"/clear_refs", []byte("5"), 0); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cpuTimes returns the busy and total time, in clock ticks, of the given
// CPUs (all of them when cpus is nil) from /proc/stat. Busy is everything
// but idle and iowait.
func cpuTimes(cpus []int) (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil || (cpus != nil && !slices.Contains(cpus, n)) {
			continue
		}
		for i, v := range f[1:] {
			t, _ := strconv.ParseUint(v, 10, 64)
			if i >= 8 { // guest and guest_nice are already in user and nice
				break
			}
			total += t
			if i != 3 && i != 4 { // idle, iowait
				busy += t
			}
		}
	}
	return busy, total
}
