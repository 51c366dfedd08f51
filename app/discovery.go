package app

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/app/topology"
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/discovery"
)

// firstAnswerWait bounds how long Start waits for each discovery
// template's first answer, so that a started shellac serves its
// discovered backends at once when DNS works.
const firstAnswerWait = 3 * time.Second

// discoverer is the watcher of one template.
type discoverer struct {
	template string
	key      string // the template's discovery settings; a change restarts the watcher
	w        *discovery.Watcher
	first    chan struct{} // closed at the first report
	reported bool
	stopped  bool
}

// discoveryKey is what, in a template, makes a new watcher necessary.
func discoveryKey(b *config.Backend) string {
	return fmt.Sprint(b.Discover, b.Resolvers, b.MinTTL.Duration, b.MaxTTL.Duration, b.Grace.Duration)
}

// endpointName is the backend name of an endpoint of template.
func endpointName(template, address string) string { return template + ":" + address }

// syncDiscovery starts a watcher for every template of a.cfg that has
// none (or whose settings changed) and stops the others. Watchers stop
// asynchronously: their callback takes a.mu, held here. Called with a.mu
// held, once started.
func (a *App) syncDiscovery() []*discoverer {
	if a.disc == nil {
		a.disc = map[string]*discoverer{}
	}
	var started []*discoverer
	for name, d := range a.disc {
		b := a.cfg.Backends[name]
		if b == nil || !b.IsTemplate() || discoveryKey(b) != d.key {
			d.stopped = true
			go d.w.Stop()
			delete(a.disc, name)
		}
	}
	for name, b := range a.cfg.Backends {
		if !b.IsTemplate() || a.disc[name] != nil {
			continue
		}
		tg, err := discovery.ParseTarget(b.Discover) // validated
		if err != nil {
			a.Log.Error("discovery: bad target", "backend", name, "err", err)
			continue
		}
		servers := b.Resolvers
		if len(servers) == 0 {
			servers = discovery.SystemServers()
		}
		d := &discoverer{template: name, key: discoveryKey(b), first: make(chan struct{})}
		d.w = discovery.Watch(discovery.Options{
			Target: tg, Resolver: &discovery.Resolver{Servers: servers},
			MinTTL: b.MinTTL.Duration, MaxTTL: b.MaxTTL.Duration, Grace: b.Grace.Duration,
			Log: a.Log, Name: name,
			OnChange: func(eps []discovery.Endpoint) { a.discovered(d, eps) },
		})
		a.disc[name] = d
		started = append(started, d)
	}
	return started
}

// waitFirst waits (without a.mu) for the first answer of each watcher,
// bounded by firstAnswerWait in all.
func waitFirst(ds []*discoverer) {
	end := time.After(firstAnswerWait)
	for _, d := range ds {
		select {
		case <-d.first:
		case <-end:
			return
		}
	}
}

// stopDiscovery stops every watcher and waits for them. Called without
// a.mu (their callbacks take it).
func (a *App) stopDiscovery() {
	a.mu.Lock()
	ds := a.disc
	a.disc = nil
	for _, d := range ds {
		d.stopped = true
	}
	a.mu.Unlock()
	for _, d := range ds {
		d.w.Stop()
	}
}

// discovered applies a new set of endpoints of d's template: new ones
// become backends (with the template's probe) and members of every
// director that lists the template, in place, so the directors keep their
// state; gone ones leave the directors and drain. Endpoints that stay are
// untouched: their health, counters and connections go on.
func (a *App) discovered(d *discoverer, eps []discovery.Endpoint) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d.stopped || a.disc[d.template] != d {
		return
	}
	defer func() {
		if !d.reported {
			d.reported = true
			close(d.first)
		}
	}()
	want := map[string]discovery.Endpoint{}
	for _, ep := range eps {
		want[endpointName(d.template, ep.Address)] = ep
	}
	var have []string
	for name, b := range a.cfg.Backends {
		if b.DiscoveredFrom == d.template {
			have = append(have, name)
		}
	}
	var edits []config.Edit
	var added, removed []string
	for _, ep := range eps {
		name := endpointName(d.template, ep.Address)
		if !slices.Contains(have, name) {
			edits = append(edits, config.PutDiscovered{Template: d.template, Name: name, Address: ep.Address, Weight: float64(ep.Weight)})
			added = append(added, name)
		}
	}
	for _, name := range have {
		if _, ok := want[name]; !ok {
			edits = append(edits, config.DeleteBackend{Name: name})
			removed = append(removed, name)
		}
	}
	if len(edits) == 0 {
		return
	}
	if len(eps) == 0 {
		a.Log.Warn("discovery: no endpoints left: the directors listing the template lose its members", "backend", d.template, "removed", len(removed))
	}
	if err := a.applyDiscovered(edits, d.template, added, removed); err != nil {
		a.discoveryErrors.Add(1)
		a.Log.Error("discovery: endpoints refused", "backend", d.template, "err", err)
		return
	}
	a.Log.Info("discovery: endpoints changed", "backend", d.template, "added", added, "removed", removed, "endpoints", len(eps))
}

// applyDiscovered applies edits (PutDiscovered for added, DeleteBackend
// for removed) to the configuration and the live table. Called with a.mu
// held.
func (a *App) applyDiscovered(edits []config.Edit, template string, added, removed []string) error {
	cfg, err := a.cfg.With(edits...)
	if err != nil {
		return err
	}
	t := cloneTable(a.table)
	for _, name := range added {
		nb, err := topology.NewBackend(name, cfg.Backends[name])
		if err != nil {
			return err
		}
		t.Backends[name] = nb
		a.restore.adminState(nb)   // a replaced process's override, the first time the endpoint appears
		a.syncProbe(cfg, name, nb) // its initial verdict, before any director can pick it
	}
	for _, name := range removed {
		for _, d := range t.Directors {
			if s, ok := d.(memberSet); ok {
				s.Remove(name)
			}
		}
	}
	a.srv.SetTable(t)
	for dname, dc := range cfg.Directors {
		if dc.Type == config.Saintmode || !slices.Contains(dc.Members, template) {
			continue
		}
		s, ok := t.Directors[dname].(memberSet)
		if !ok {
			continue
		}
		for _, name := range added {
			w := 1.0
			if x, ok := dc.Weights[name]; ok && x > 0 {
				w = x
			}
			if err := s.Add(t.Backends[name], w); err != nil {
				a.Log.Error("discovery: cannot add a member", "director", dname, "member", name, "err", err)
			}
		}
	}
	for _, name := range removed {
		if b := a.table.Backends[name]; b != nil {
			delete(t.Backends, name)
			b.SetGone()
			a.probes.Remove(b)
		}
	}
	a.cfg, a.table = cfg, t
	a.regroup()
	return nil
}

// withDiscovered returns cfg (a file just read) with the endpoints that
// a.cfg holds for the templates cfg still has, in the order a.cfg's
// directors list them, so a reload keeps them (and their state) instead
// of dropping them until the next answer. Called with a.mu held.
func (a *App) withDiscovered(cfg *config.Config) (*config.Config, error) {
	var edits []config.Edit
	seen := map[string]bool{}
	add := func(name string) {
		b := a.cfg.Backends[name]
		if b == nil || b.DiscoveredFrom == "" || seen[name] {
			return
		}
		if t := cfg.Backends[b.DiscoveredFrom]; t == nil || !t.IsTemplate() {
			return
		}
		seen[name] = true
		w := 0.0
		for _, dc := range a.cfg.Directors {
			if x, ok := dc.Weights[name]; ok {
				w = x
			}
		}
		edits = append(edits, config.PutDiscovered{Template: b.DiscoveredFrom, Name: name, Address: b.Address, Weight: w})
	}
	for _, dname := range slices.Sorted(maps.Keys(a.cfg.Directors)) {
		for _, m := range a.cfg.Directors[dname].Members {
			add(m)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.cfg.Backends)) {
		add(name)
	}
	if len(edits) == 0 {
		return cfg, nil
	}
	return cfg.With(edits...)
}

// discoveryStatus reports every template. Called with a.mu held.
func (a *App) discoveryStatus() []admin.DiscoveryStatus {
	var out []admin.DiscoveryStatus
	for _, name := range slices.Sorted(maps.Keys(a.disc)) {
		d := a.disc[name]
		st := d.w.Stats()
		s := admin.DiscoveryStatus{Backend: name, Target: a.cfg.Backends[name].Discover, Lookups: st.Lookups,
			Failures: st.Failures, Empty: st.Empty, LastOK: st.LastOK, LastError: st.LastError}
		for _, bn := range slices.Sorted(maps.Keys(a.cfg.Backends)) {
			if a.cfg.Backends[bn].DiscoveredFrom == name {
				s.Endpoints = append(s.Endpoints, strings.TrimPrefix(bn, name+":"))
			}
		}
		out = append(out, s)
	}
	return out
}
