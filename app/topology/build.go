package topology

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// Build turns a validated configuration into a live Table. A DNS-discovery
// template is neither a backend nor a member of the table: the backends
// discovered from it are, once app has added them to the configuration. When prev is
// not nil, backends whose configuration did not change are carried over
// from it (with their health, counters and pooled connections), so a
// reload disturbs nothing that did not change.
//
// When prevCfg is not nil too, directors are carried over as well (with
// their saintmode blacklists, round-robin and sticky cursors, shard
// rampup): a director of prev is kept when its configuration in prevCfg
// equals its configuration in cfg (positions aside; a registered type's
// Options included) and every member it names is the very same object in
// the new table, a kept backend or a kept director. That is decided bottom
// up, so a director above a rebuilt one is rebuilt too. prevCfg must be
// the configuration prev's directors serve now, run-time changes made to
// them in place included (app passes its running configuration), never
// the file prev was first built from.
func Build(cfg *config.Config, prev *route.Table, prevCfg *config.Config) (*route.Table, error) {
	t := &route.Table{
		Backends:  make(map[string]*directors.Backend, len(cfg.Backends)),
		Directors: make(map[string]directors.Director, len(cfg.Directors)),
	}
	for name, bc := range cfg.Backends {
		if bc.IsTemplate() {
			continue // its endpoints are backends of their own (app adds them)
		}
		nb, err := NewBackend(name, bc)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			if old := prev.Backends[name]; old != nil && SameBackend(old, nb) {
				nb = old
			}
		}
		t.Backends[name] = nb
	}
	// Directors may name each other: build each once, depth first
	// (config validation refused cycles).
	building := map[string]bool{}
	var build func(name string) (directors.Member, error)
	build = func(name string) (directors.Member, error) {
		if b, ok := t.Backends[name]; ok {
			return b, nil
		}
		if d, ok := t.Directors[name]; ok {
			return d, nil
		}
		if bc := cfg.Backends[name]; bc != nil && bc.IsTemplate() {
			return nil, nil // a discovery template: no member itself
		}
		dc, ok := cfg.Directors[name]
		if !ok {
			return nil, fmt.Errorf("topology: unknown member %q", name)
		}
		if building[name] {
			return nil, fmt.Errorf("topology: director cycle through %q", name)
		}
		building[name] = true
		d, err := reusable(name, dc, prev, prevCfg, build)
		if err != nil {
			return nil, err
		}
		if d == nil {
			if d, err = buildDirector(dc, build); err != nil {
				return nil, err
			}
		}
		t.Directors[name] = d
		return d, nil
	}
	names := make([]string, 0, len(cfg.Directors))
	for n := range cfg.Directors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := build(n); err != nil {
			return nil, err
		}
	}
	for _, rc := range cfg.Routes {
		rt, err := buildRoute(rc, build)
		if err != nil {
			return nil, err
		}
		t.Routes = append(t.Routes, rt)
	}
	if dd := cfg.Server.DefaultDirector; dd != "" {
		m, err := build(dd)
		if err != nil {
			return nil, err
		}
		t.Default = &route.Route{Target: m}
	}
	if err := buildRules(cfg, t, prev, build); err != nil {
		return nil, err
	}
	return t, nil
}

// NewBackend builds the live backend bc describes. Build uses it, and so
// does the admin API to add a backend at run time.
func NewBackend(name string, bc *config.Backend) (*directors.Backend, error) {
	if bc.Type != config.BackendNetwork {
		// A custom backend of a registered type (synthetic, or one a Go
		// program added with directors.RegisterBackend) answers by itself.
		b, err := directors.NewRegisteredBackend(bc.Type, name, bc.Options)
		if err != nil {
			return nil, bc.Pos.Errorf("backend %s: %v", name, err)
		}
		return b, nil
	}
	tc, stamp, err := bc.TLSClientConfig()
	if err != nil {
		return nil, bc.Pos.Errorf("backend %s: %v", name, err)
	}
	return directors.NewBackend(name, directors.BackendConfig{
		Network:             bc.Network(),
		Address:             bc.Addr(),
		ConnectTimeout:      bc.ConnectTimeout.Duration,
		FirstByteTimeout:    bc.FirstByteTimeout.Duration,
		BetweenBytesTimeout: bc.BetweenBytesTimeout.Duration,
		MaxConnections:      bc.MaxConnections,
		MaxIdle:             bc.MaxIdle,
		IdleTimeout:         bc.IdleTimeout.Duration,
		HostHeader:          bc.HostHeader,
		ProxyHeader:         bc.ProxyHeader,
		Outlier:             outlierPolicy(bc),
		TLS:                 tc,
		TLSStamp:            stamp,
	}), nil
}

// SameBackend reports whether two backends have the same configuration,
// so the old one (and its state) can be kept across a reload.
func SameBackend(a, b *directors.Backend) bool {
	if (a.Responder() == nil) != (b.Responder() == nil) {
		return false
	}
	if a.Responder() != nil {
		return false // synthetic backends are cheap: always rebuilt
	}
	return directors.SameConfig(a.Config(), b.Config())
}

// reusable returns prev's director name when the new table can keep it as
// it is (see Build), or nil when it must be built afresh. member builds
// (or returns) a member of the new table, so the members are settled
// first: bottom up.
func reusable(name string, dc *config.Director, prev *route.Table, prevCfg *config.Config, member func(string) (directors.Member, error)) (directors.Director, error) {
	if prev == nil || prevCfg == nil {
		return nil, nil
	}
	old, odc := prev.Directors[name], prevCfg.Directors[name]
	if old == nil || odc == nil || !SameDirector(odc, dc) {
		return nil, nil
	}
	names := dc.Members
	if dc.Type == config.Saintmode {
		names = []string{dc.Member}
	}
	members := make([]directors.Member, 0, len(names))
	for _, n := range names {
		m, err := member(n)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue // a discovery template
		}
		if m != prevMember(prev, n) {
			return nil, nil
		}
		members = append(members, m)
	}
	if !liveMembers(old, members, dc) {
		return nil, nil
	}
	return old, nil
}

// SameDirector reports whether two director configurations are the same
// but for their positions in the file: the same type, members, weights and
// options (a registered type's Options included).
func SameDirector(a, b *config.Director) bool {
	x, y := *a, *b
	x.Pos, y.Pos = config.Pos{}, config.Pos{}
	return reflect.DeepEqual(x, y)
}

// prevMember returns prev's backend or director name, or nil.
func prevMember(prev *route.Table, name string) directors.Member {
	if b, ok := prev.Backends[name]; ok {
		return b
	}
	if d, ok := prev.Directors[name]; ok {
		return d
	}
	return nil
}

// liveMembers reports whether the live director d has exactly members, in
// order, with dc's weights where it tells them: a check that nothing
// changed d in place without its configuration saying so.
func liveMembers(d directors.Director, members []directors.Member, dc *config.Director) bool {
	if s, ok := d.(interface{ Load() *directors.Snapshot }); ok {
		sn := s.Load()
		if len(sn.Members) != len(members) {
			return false
		}
		for i, m := range members {
			w := 1.0
			if x, ok := dc.Weights[m.Name()]; ok && x > 0 {
				w = x
			}
			if sn.Members[i] != m || sn.Weights[i] != w {
				return false
			}
		}
		return true
	}
	if s, ok := d.(interface{ Members() []directors.Member }); ok {
		return slices.Equal(s.Members(), members)
	}
	return true
}

// membership is what every director but saintmode is filled with.
type membership interface {
	directors.Director
	Replace(members []directors.Member, weights []float64) error
}

// buildDirector builds the director dc describes, from plain values: the
// directors package knows nothing of config.
func buildDirector(dc *config.Director, member func(string) (directors.Member, error)) (directors.Director, error) {
	fail := func(err error) (directors.Director, error) {
		return nil, fmt.Errorf("topology: director %s: %w", dc.Name, err)
	}
	if dc.Type == "saintmode" {
		m, err := member(dc.Member)
		if err != nil {
			return nil, err
		}
		return directors.NewSaintmode(dc.Name, m, dc.Threshold), nil
	}
	members := make([]directors.Member, 0, len(dc.Members))
	weights := make([]float64, 0, len(dc.Members))
	for _, n := range dc.Members {
		m, err := member(n)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue // a discovery template: its endpoints are members of their own
		}
		members = append(members, m)
		w := 1.0
		if x, ok := dc.Weights[n]; ok {
			w = x
		}
		weights = append(weights, w)
	}
	var d membership
	switch dc.Type {
	case "round_robin":
		d = directors.NewRoundRobin(dc.Name)
	case "fallback":
		d = directors.NewFallback(dc.Name, dc.Sticky)
	case "random":
		d = directors.NewRandom(dc.Name)
	case "hash":
		key, err := directors.ParseKey(dc.Key)
		if err != nil {
			return fail(err)
		}
		d = directors.NewHash(dc.Name, key, directors.DigestSHA256)
	case "shard":
		opts, err := shardOptions(dc)
		if err != nil {
			return fail(err)
		}
		sd, err := directors.NewShard(dc.Name, opts)
		if err != nil {
			return nil, err
		}
		d = sd
	default:
		// A registered type (least_conn, p2c, or one a Go program added
		// with directors.Register); config checked its options already.
		c, err := directors.NewRegistered(dc.Type, dc.Name, dc.Options)
		if err != nil {
			return nil, dc.Pos.Errorf("director %s: %v", dc.Name, err)
		}
		d = c
	}
	if err := d.Replace(members, weights); err != nil {
		return fail(err)
	}
	return d, nil
}

// shardOptions turns a shard's configuration into directors.ShardOptions.
func shardOptions(dc *config.Director) (directors.ShardOptions, error) {
	key, err := directors.ParseKey(dc.Key)
	if err != nil {
		return directors.ShardOptions{}, err
	}
	by, err := directors.ParseBy(dc.By, len(dc.Key) > 0)
	if err != nil {
		return directors.ShardOptions{}, err
	}
	healthy, err := directors.ParseHealthy(dc.Healthy)
	if err != nil {
		return directors.ShardOptions{}, err
	}
	digest, err := directors.ParseDigest(dc.Digest)
	if err != nil {
		return directors.ShardOptions{}, err
	}
	return directors.ShardOptions{
		Replicas: dc.Replicas,
		By:       by,
		Key:      key,
		Alt:      dc.Alt,
		Healthy:  healthy,
		Rampup:   dc.Rampup.Duration,
		Warmup:   dc.Warmup,
		Digest:   digest,
		Bound:    dc.Bound,
		Idents:   dc.Idents,
	}, nil
}

func buildRoute(rc *config.Route, member func(string) (directors.Member, error)) (*route.Route, error) {
	m, err := member(rc.Director)
	if err != nil {
		return nil, err
	}
	rt := &route.Route{
		Host:       strings.ToLower(rc.Host),
		PathPrefix: rc.PathPrefix,
		Target:     m,
		Retry:      route.RetryPolicy{Max: rc.Retries, Blacklist: rc.Blacklist.Duration, Budget: retryBudget(rc)},
		Pipe:       rc.Pipe,
	}
	for _, name := range rc.RetryOn {
		k, ok := route.ParseRetryOn(name)
		if !ok {
			return nil, fmt.Errorf("topology: route: unknown retry_on %q", name)
		}
		rt.Retry.On |= k
	}
	return rt, nil
}
