package admin

import (
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
)

// Status is the answer of GET /status.
type Status struct {
	Server    ServerStatus                `json:"server"`
	Backends  map[string]BackendStatus    `json:"backends"`
	Directors map[string]DirectorStatus   `json:"directors"`
	Saintmode []directors.SaintmodeStatus `json:"saintmode"`
	Routes    []RouteStatus               `json:"routes"`
	Discovery []DiscoveryStatus           `json:"discovery,omitempty"`
}

// ServerStatus is the proxy as a whole.
type ServerStatus struct {
	PID               int    `json:"pid"` // the process answering (two answer during an upgrade)
	ClientConnections int64  `json:"client_connections"`
	DefaultDirector   string `json:"default_director,omitempty"`
	Reloads           uint64 `json:"reloads"`
	ReloadFailures    uint64 `json:"reload_failures"`
	AccessLogDropped  uint64 `json:"access_log_dropped"`
	// Retries counts route retries sent; RetryBudgetRefused, those a
	// route's retry budget refused.
	Retries            uint64 `json:"retries"`
	RetryBudgetRefused uint64 `json:"retry_budget_refused"`
}

// BackendStatus is one backend, as varnishadm backend.list shows it, with
// its counters.
type BackendStatus struct {
	Type    string `json:"type,omitempty"` // "synthetic"; omitted for network backends
	Address string `json:"address,omitempty"`
	// Health is the effective verdict directors see: "healthy" or "sick"
	// (admin override, else probe).
	Health     string       `json:"health"`
	AdminState string       `json:"admin_state"` // "auto", "healthy" or "sick"
	Probe      *ProbeStatus `json:"probe,omitempty"`
	// Outlier is passive health, for a backend with outlier_consecutive
	// set (outlier.go).
	Outlier *OutlierStatus `json:"outlier,omitempty"`
	// HealthChanged is when Health last changed (or the backend was
	// created), RFC 3339.
	HealthChanged string `json:"health_changed"`

	OpenConnections int64             `json:"open_connections"`
	IdleConnections int64             `json:"idle_connections"`
	Inflight        int64             `json:"inflight"`
	Requests        uint64            `json:"requests"`
	Failures        uint64            `json:"failures"`
	Responses       map[string]uint64 `json:"responses"` // by status class: "2xx": n
	ConnectErrors   uint64            `json:"connect_errors"`
	Timeouts        uint64            `json:"timeouts"`
	Resets          uint64            `json:"resets"`
	Retries         uint64            `json:"retries"`
}

// ProbeStatus is a backend's probe.
type ProbeStatus struct {
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"` // the probe's own verdict
	// Window is the last results, oldest first, one mark each: H good,
	// R bad status, r no status line, x write failed, - connect failed,
	// . no result yet.
	Window       string  `json:"window"`
	Good         int     `json:"good"`
	WindowSize   int     `json:"window_size"`
	Threshold    int     `json:"threshold"`
	Probes       uint64  `json:"probes"`
	LastStatus   int     `json:"last_status,omitempty"`
	LastError    string  `json:"last_error,omitempty"`
	LastDuration float64 `json:"last_duration_ms"`
	Average      float64 `json:"average_ms"`
}

// DirectorStatus is one director.
type DirectorStatus struct {
	Type    string         `json:"type"`
	Healthy bool           `json:"healthy"`
	Members []MemberStatus `json:"members"`
}

// MemberStatus is a director's member and its weight.
type MemberStatus struct {
	Name    string  `json:"name"`
	Weight  float64 `json:"weight"`
	Healthy bool    `json:"healthy"`
}

// RouteStatus is one [[routes]] entry; Index counts from 0, as /explain's
// route parameter.
type RouteStatus struct {
	Index      int    `json:"index"`
	Host       string `json:"host,omitempty"`
	PathPrefix string `json:"path_prefix,omitempty"`
	Director   string `json:"director"`
	Retries    int    `json:"retries"`
	// RetryBudget is the route's retry budget and its use now.
	RetryBudget *RetryBudgetStatus `json:"retry_budget,omitempty"`
}

var statusClasses = [6]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (s *Server) getStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, buildStatus(s.ctl.View()))
}

func buildStatus(v View) Status {
	t := v.Table
	st := Status{
		Server: ServerStatus{
			PID:                os.Getpid(),
			ClientConnections:  v.ClientConns,
			DefaultDirector:    v.Config.Server.DefaultDirector,
			Reloads:            v.Reloads,
			ReloadFailures:     v.ReloadFailures,
			AccessLogDropped:   v.AccessLogDropped,
			Retries:            v.Proxy.Retries,
			RetryBudgetRefused: v.Proxy.RetryBudgetRefused,
		},
		Backends:  make(map[string]BackendStatus, len(t.Backends)),
		Directors: make(map[string]DirectorStatus, len(t.Directors)),
		Saintmode: []directors.SaintmodeStatus{},
		Routes:    []RouteStatus{},
		Discovery: v.Discovery,
	}
	for name, b := range t.Backends {
		st.Backends[name] = backendStatus(v, name, b)
	}
	now := time.Now().UnixNano()
	for _, name := range sortedKeys(t.Directors) {
		d := t.Directors[name]
		st.Directors[name] = directorStatus(v.Config, name, d)
		if sm, ok := d.(*directors.Saintmode); ok {
			st.Saintmode = append(st.Saintmode, sm.Status(now))
		}
	}
	for i, rc := range v.Config.Routes {
		st.Routes = append(st.Routes, RouteStatus{
			Index: i, Host: rc.Host, PathPrefix: rc.PathPrefix, Director: rc.Director, Retries: rc.Retries,
			RetryBudget: retryBudgetStatus(t, i),
		})
	}
	return st
}

func backendStatus(v View, name string, b *directors.Backend) BackendStatus {
	bs := BackendStatus{
		Health:          "healthy",
		AdminState:      b.AdminState().String(),
		HealthChanged:   time.Unix(0, b.Changed()).UTC().Format(time.RFC3339Nano),
		OpenConnections: b.OpenConns(),
		IdleConnections: b.IdleConns(),
		Inflight:        b.Inflight(),
		Requests:        b.Requests(),
		Failures:        b.Failures(),
		Responses:       make(map[string]uint64, 5),
		ConnectErrors:   b.Stats.ConnectErrors.Load(),
		Timeouts:        b.Stats.Timeouts.Load(),
		Resets:          b.Stats.Resets.Load(),
		Retries:         b.Stats.Retries.Load(),
		Outlier:         outlierStatus(b, 0),
	}
	if b.Sick() {
		bs.Health = "sick"
	}
	if bc := v.Config.Backends[name]; bc != nil {
		bs.Type, bs.Address = bc.Type, bc.Address
		if ps, ok := v.Probe(b); ok && bc.Probe != "" {
			bs.Probe = &ProbeStatus{
				Name: bc.Probe, Healthy: ps.Healthy, Window: ps.Marks, Good: ps.Good,
				WindowSize: ps.Window, Threshold: ps.Threshold, Probes: ps.Probes,
				LastStatus: ps.LastStatus, LastError: ps.LastError,
				LastDuration: ms(ps.LastDuration), Average: ms(ps.Average),
			}
		}
	}
	for c := 1; c <= 5; c++ {
		bs.Responses[statusClasses[c]] = b.Stats.Responses[c].Load()
	}
	return bs
}

// setLoader is every director built on directors.Set.
type setLoader interface {
	Load() *directors.Snapshot
}

func directorStatus(cfg *config.Config, name string, d directors.Director) DirectorStatus {
	ds := DirectorStatus{Healthy: d.Healthy(nil), Members: []MemberStatus{}}
	if dc := cfg.Directors[name]; dc != nil {
		ds.Type = dc.Type
	}
	switch x := d.(type) {
	case setLoader:
		sn := x.Load()
		for i, m := range sn.Members {
			ds.Members = append(ds.Members, MemberStatus{Name: m.Name(), Weight: sn.Weights[i], Healthy: m.Healthy(nil)})
		}
	case *directors.Saintmode:
		m := x.Member()
		ds.Members = append(ds.Members, MemberStatus{Name: m.Name(), Weight: 1, Healthy: m.Healthy(nil)})
	}
	return ds
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sortedKeys[T any](m map[string]T) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
