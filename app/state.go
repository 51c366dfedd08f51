package app

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/health"
)

// The state file (server.state_file) carries what a replacing process
// would otherwise lose — each backend's operator override and probe
// window, and every saintmode blacklist — as HAProxy's server-state-file
// does. The running process rewrites it every stateInterval and when it
// stops; a starting process reads it once and applies each entry to the
// backend of the same name and address the first time that backend
// appears (static backends at Start, discovered ones when DNS brings
// them), so a later reload or run-time change is never overridden by it.
const (
	stateVersion  = 1
	stateInterval = time.Second
	// stateProbeMaxAge: probe windows older than this say too little of
	// a backend now and are not restored (overrides and blacklists, which
	// carry their own expiry, are).
	stateProbeMaxAge = time.Minute
)

// stateFile is the JSON document of the state file.
type stateFile struct {
	Version   int                       `json:"version"`
	PID       int                       `json:"pid"`
	Written   time.Time                 `json:"written"`
	Backends  map[string]backendState   `json:"backends,omitempty"`
	Saintmode map[string]saintmodeState `json:"saintmode,omitempty"`
}

type backendState struct {
	Address string              `json:"address"`
	Admin   string              `json:"admin,omitempty"` // "healthy" or "sick"; absent: auto
	Probe   *health.WindowState `json:"probe,omitempty"`
}

type saintmodeState struct {
	Entries []saintEntryJSON `json:"entries"`
}

type saintEntryJSON struct {
	Digest  string `json:"digest"`  // hex SHA-256 of the object
	Expires int64  `json:"expires"` // Unix nanos
}

// restorer holds a state file's entries until the backends they belong
// to appear. Safe for concurrent use (the health manager asks from
// whichever goroutine sets a probe).
type restorer struct {
	mu     sync.Mutex
	st     stateFile
	probes bool // the file is young enough for its probe windows
}

// readState loads path. A missing file is no state and no error.
func readState(path string, now time.Time) (*restorer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%s: version %d, this shellac reads %d", path, st.Version, stateVersion)
	}
	return &restorer{st: st, probes: now.Sub(st.Written) <= stateProbeMaxAge}, nil
}

// take removes and returns the entry for b, when its address matches.
func (r *restorer) take(b *directors.Backend, probe bool) (backendState, bool) {
	if r == nil {
		return backendState{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.st.Backends[b.Name()]
	if !ok || e.Address != b.Config().Address {
		return backendState{}, false
	}
	if probe {
		p := e.Probe
		e.Probe = nil
		r.st.Backends[b.Name()] = e
		if p == nil || !r.probes {
			return backendState{}, false
		}
		return backendState{Probe: p}, true
	}
	a := e.Admin
	e.Admin = ""
	r.st.Backends[b.Name()] = e
	return backendState{Admin: a}, a != ""
}

// window is the health manager's Options.Restore.
func (r *restorer) window(b *directors.Backend) (health.WindowState, bool) {
	e, ok := r.take(b, true)
	if !ok {
		return health.WindowState{}, false
	}
	return *e.Probe, true
}

// adminState applies b's saved operator override, once.
func (r *restorer) adminState(b *directors.Backend) bool {
	e, ok := r.take(b, false)
	if !ok {
		return false
	}
	switch e.Admin {
	case "healthy":
		b.SetAdminState(directors.AdminHealthy)
	case "sick":
		b.SetAdminState(directors.AdminSick)
	default:
		return false
	}
	return true
}

// saintmode restores the blacklist of d, once.
func (r *restorer) saintmode(d *directors.Saintmode, now int64) int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	s, ok := r.st.Saintmode[d.Name()]
	delete(r.st.Saintmode, d.Name())
	r.mu.Unlock()
	if !ok {
		return 0
	}
	es := make([]directors.SaintEntry, 0, len(s.Entries))
	for _, e := range s.Entries {
		var dg [32]byte
		if b, err := hex.DecodeString(e.Digest); err == nil && len(b) == len(dg) {
			copy(dg[:], b)
			es = append(es, directors.SaintEntry{Digest: dg, Expires: e.Expires})
		}
	}
	d.Restore(es, now)
	return len(es)
}

// restoreTable applies the state to every backend and saintmode director
// of the running table. Called by Start, with a.mu held.
func (a *App) restoreTable() {
	r := a.restore
	if r == nil {
		return
	}
	now := time.Now().UnixNano()
	overrides, blacklisted := 0, 0
	for _, b := range a.table.Backends {
		if r.adminState(b) {
			overrides++
		}
	}
	for _, d := range a.table.Directors {
		if sm, ok := d.(*directors.Saintmode); ok {
			blacklisted += r.saintmode(sm, now)
		}
	}
	a.Log.Info("state restored", "file", a.cfg.Server.StateFile, "from_pid", r.st.PID,
		"age", time.Since(r.st.Written).Round(time.Millisecond), "overrides", overrides,
		"blacklisted", blacklisted, "probe_windows", r.probes)
}

// snapshot returns the state of the running table. Takes a.mu.
func (a *App) snapshot() stateFile {
	a.mu.Lock()
	t := a.table
	a.mu.Unlock()
	now := time.Now()
	st := stateFile{Version: stateVersion, PID: os.Getpid(), Written: now,
		Backends: map[string]backendState{}, Saintmode: map[string]saintmodeState{}}
	for name, b := range t.Backends {
		e := backendState{Address: b.Config().Address}
		if s := b.AdminState(); s != directors.AdminAuto {
			e.Admin = s.String()
		}
		if ws, ok := a.probes.Window(b); ok {
			e.Probe = &ws
		}
		if e.Admin != "" || e.Probe != nil {
			st.Backends[name] = e
		}
	}
	for name, d := range t.Directors {
		sm, ok := d.(*directors.Saintmode)
		if !ok {
			continue
		}
		es := sm.Entries(now.UnixNano())
		if len(es) == 0 {
			continue
		}
		s := saintmodeState{Entries: make([]saintEntryJSON, len(es))}
		for i, e := range es {
			s.Entries[i] = saintEntryJSON{Digest: hex.EncodeToString(e.Digest[:]), Expires: e.Expires}
		}
		st.Saintmode[name] = s
	}
	return st
}

// writeState writes the state file atomically (a temporary file in the
// same folder, renamed over it); two processes writing it at once (an
// upgrade) each rename a whole file. A no-op without server.state_file.
func (a *App) writeState() error {
	path := a.Config().Server.StateFile
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(a.snapshot(), "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// runStateWriter rewrites the state file every stateInterval until stop
// is closed, logging the first failure of a run of them.
func (a *App) runStateWriter(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(stateInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		err := a.writeState()
		switch {
		case err != nil && !failing:
			a.Log.Error("cannot write the state file", "err", err)
		case err == nil && failing:
			a.Log.Info("state file written again")
		}
		failing = err != nil
	}
}
