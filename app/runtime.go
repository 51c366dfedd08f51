package app

import (
	"maps"
	"net/http"
	"slices"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/app/topology"
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// This file holds the run-time changes of the admin API. Each one goes
// through the same steps, under a.mu:
//
//  1. refuse what the configuration model cannot express, with a message
//     that says why (a saintmode director has one member, a director needs
//     at least one, a route cannot lose its target);
//  2. apply the change as a typed edit (config.PutBackend, …) to a copy of
//     the running configuration, validated by the same checks as a file
//     (config.Config.With), so GET /config always shows a configuration
//     that loads;
//  3. change the live objects in place where the directors allow it
//     (Set.Add and Set.Remove publish a new member snapshot atomically), or
//     rebuild the topology as a reload does when a backend's connection
//     settings change;
//  4. make the validated copy the running configuration.
//
// Requests in flight keep the backend they resolved to; a removed backend
// takes no new request and its connections close once idle.

// cloneTable returns a copy of t whose maps can be changed.
func cloneTable(t *route.Table) *route.Table {
	n := *t
	n.Backends = maps.Clone(t.Backends)
	n.Directors = maps.Clone(t.Directors)
	return &n
}

// memberSet is every director but saintmode (directors.Set's methods).
type memberSet interface {
	Add(m directors.Member, w float64) error
	Remove(name string) bool
}

// commit records the outcome of a run-time change for /metrics.
func (a *App) commit(err error) error {
	if err != nil {
		a.reloadFailures.Add(1)
	} else {
		a.reloads.Add(1)
	}
	return err
}

// PutBackend adds the backend name, or changes it, from fields (its
// [backends.NAME] table decoded from JSON, TOML key names). A new backend
// joins no director: add it with PutMember. A change of probe only keeps
// the backend object (its connections and counters); a change of its
// connection settings replaces it everywhere, as a reload would, and the
// old one drains. Takes a.mu.
func (a *App) PutBackend(name string, fields map[string]any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	cfg, err := a.cfg.With(config.PutBackend{Name: name, Fields: fields})
	if err != nil {
		return a.commit(err)
	}
	bc := cfg.Backends[name]
	if bc.IsTemplate() {
		return a.commit(admin.Errorf(http.StatusBadRequest, "backend %q: discover is set in the file (a template stands for the backends DNS answers with)", name))
	}
	nb, err := topology.NewBackend(name, bc)
	if err != nil {
		return a.commit(admin.Errorf(http.StatusBadRequest, "%v", err))
	}
	cur := a.table.Backends[name]
	switch {
	case cur == nil:
		t := cloneTable(a.table)
		t.Backends[name] = nb
		if a.started {
			a.syncProbe(cfg, name, nb) // its initial verdict, before any director can pick it
		}
		a.srv.SetTable(t)
		a.cfg, a.table = cfg, t
		a.regroup()
	case topology.SameBackend(cur, nb):
		if a.started {
			a.syncProbe(cfg, name, cur)
		}
		a.cfg = cfg
	default:
		if err := a.apply(cfg, ""); err != nil {
			return a.commit(err)
		}
	}
	return a.commit(nil)
}

// DeleteBackend removes the backend name from every director and from
// the table, and drains it. It refuses (409) to remove a backend that a
// route, server.default_director or a saintmode director names, or that
// is the last member of a director. Takes a.mu.
func (a *App) DeleteBackend(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.table.Backends[name]
	if b == nil {
		return admin.NotFound("backend", name)
	}
	if err := a.checkRemovable(name); err != nil {
		return err
	}
	cfg, err := a.cfg.With(config.DeleteBackend{Name: name})
	if err != nil {
		return a.commit(err)
	}
	// Out of every director first, so no new request picks it; then out
	// of the table; then drained.
	for _, d := range a.table.Directors {
		if s, ok := d.(memberSet); ok {
			s.Remove(name)
		}
	}
	t := cloneTable(a.table)
	delete(t.Backends, name)
	a.srv.SetTable(t)
	b.SetGone()
	a.probes.Remove(b)
	a.cfg, a.table = cfg, t
	a.regroup()
	return a.commit(nil)
}

// checkRemovable returns a 409 *admin.Error when the backend name cannot
// just disappear from the configuration.
func (a *App) checkRemovable(name string) error {
	cfg := a.cfg
	conflict := func(format string, args ...any) error {
		return admin.Errorf(http.StatusConflict, "backend %q "+format, append([]any{name}, args...)...)
	}
	if cfg.Server.DefaultDirector == name {
		return conflict("is server.default_director: change that in the file and reload")
	}
	for i, r := range cfg.Routes {
		if r.Director == name {
			return conflict("is the target of routes[%d]: change that in the file and reload", i)
		}
	}
	for _, dn := range slices.Sorted(maps.Keys(cfg.Directors)) {
		dc := cfg.Directors[dn]
		if dc.Type == config.Saintmode && dc.Member == name {
			return conflict("is the member of saintmode director %q: change that in the file and reload", dn)
		}
		if len(dc.Members) == 1 && dc.Members[0] == name {
			return conflict("is the only member of director %q, and a director needs one: add another member first", dn)
		}
	}
	return nil
}

// SetHealth sets the operator override of the backend name, as varnishadm
// backend.set_health: directors see it at once. It is not part of the
// configuration; it survives reloads that keep the backend. Takes a.mu.
func (a *App) SetHealth(name string, s directors.AdminState) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.table.Backends[name]
	if b == nil {
		return admin.NotFound("backend", name)
	}
	b.SetAdminState(s)
	return nil
}

// PutMember adds member (a backend or director) at the end of the
// director's members, or sets its weight when it is there already. weight
// 0 means "not given": 1 for a new member, unchanged for an existing one.
// Weights are refused where the file has none (round_robin, fallback,
// shard). The
// director object is changed in place, so it keeps its state (cursor,
// blacklists). Takes a.mu.
func (a *App) PutMember(director, member string, weight float64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, dc, err := a.memberDirector(director)
	if err != nil {
		return err
	}
	var m directors.Member
	if b := a.table.Backends[member]; b != nil {
		m = b
	} else if x := a.table.Directors[member]; x != nil {
		m = x
	} else {
		return admin.NotFound("backend or director", member)
	}
	switch dc.Type {
	case config.RoundRobin, config.Fallback:
		// The file has no weights for these: refuse rather than drop it
		// silently.
		if weight > 0 {
			return admin.Errorf(http.StatusBadRequest, "director %q is %s: it takes no weights (random, hash and shard do)", director, dc.Type)
		}
	}
	cfg, err := a.cfg.With(config.PutMember{Director: director, Member: member, Weight: weight})
	if err != nil {
		return a.commit(err)
	}
	w := 1.0
	if x, ok := cfg.Directors[director].Weights[member]; ok {
		w = x
	}
	if err := d.Add(m, w); err != nil {
		return a.commit(admin.Errorf(http.StatusConflict, "%v", err))
	}
	a.cfg = cfg
	a.regroup()
	return a.commit(nil)
}

// DeleteMember removes member from the director, in place. It refuses
// (409) to remove the last member. Takes a.mu.
func (a *App) DeleteMember(director, member string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, dc, err := a.memberDirector(director)
	if err != nil {
		return err
	}
	if !slices.Contains(dc.Members, member) {
		return admin.Errorf(http.StatusNotFound, "director %q has no member %q", director, member)
	}
	if len(dc.Members) == 1 {
		return admin.Errorf(http.StatusConflict, "%q is the only member of director %q, and a director needs one", member, director)
	}
	cfg, err := a.cfg.With(config.DeleteMember{Director: director, Member: member})
	if err != nil {
		return a.commit(err)
	}
	d.Remove(member)
	a.cfg = cfg
	a.regroup()
	return a.commit(nil)
}

// memberDirector returns the live director name and its configuration,
// or the error to answer when it does not exist or is a saintmode
// director.
func (a *App) memberDirector(name string) (memberSet, *config.Director, error) {
	dc := a.cfg.Directors[name]
	d := a.table.Directors[name]
	if dc == nil || d == nil {
		return nil, nil, admin.NotFound("director", name)
	}
	s, ok := d.(memberSet)
	if dc.Type == config.Saintmode || !ok {
		return nil, nil, admin.Errorf(http.StatusConflict, "director %q is %s: it wraps one member (member = %q); change it in the file and reload", name, dc.Type, dc.Member)
	}
	return s, dc, nil
}
