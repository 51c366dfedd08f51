package bench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuSet turns a CPU list into an affinity mask.
func cpuSet(cpus []int) *unix.CPUSet {
	var s unix.CPUSet
	for _, c := range cpus {
		s.Set(c)
	}
	return &s
}

// cpuPlan splits the CPUs this process may run on between the proxy under
// test (the last min(workers, n-1) of them) and everything else (load
// generator, backends, the harness). With fewer than two CPUs, or pin
// false, both are nil and nothing is pinned; note says why.
func cpuPlan(workers int, pin bool) (proxy, load []int, note string) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, nil, "not pinning: " + err.Error()
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if !pin {
		return nil, nil, fmt.Sprintf("not pinning (-pin=false); %d CPUs shared", len(cpus))
	}
	if len(cpus) < 2 {
		return nil, nil, "not pinning: only one CPU"
	}
	k := min(max(workers, 1), len(cpus)-1)
	proxy, load = cpus[len(cpus)-k:], cpus[:len(cpus)-k]
	return proxy, load, fmt.Sprintf("proxy on CPU %s, load generator and backends on CPU %s", cpuList(proxy), cpuList(load))
}

// cpuList formats CPUs as taskset(1) does: "0", "0,2", "1-3".
func cpuList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			parts = append(parts, strconv.Itoa(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// pinSelf pins every thread of the harness to cpus; threads started later
// inherit it from the thread that creates them.
func pinSelf(cpus []int) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	set := cpuSet(cpus)
	var errs []error
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// raiseNoFile raises this process's open-file limit (inherited by every
// child) to at least need where it can, and returns the soft limit it got.
func raiseNoFile(need uint64) (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Max < need {
		want := unix.Rlimit{Cur: need, Max: need}
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) == nil { // needs CAP_SYS_RESOURCE
			return need, nil
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}
