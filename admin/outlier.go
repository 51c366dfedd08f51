package admin

import (
	"net/http"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// This file holds what the admin API shows and does of passive health
// (outlier ejection) and retry budgets: the outlier part of a backend's
// status, a route's budget, and POST /backends/{name}/uneject. Metrics
// are in metrics.go with the others.

// OutlierStatus is a backend's passive health, in /status for the
// backends with outlier_consecutive set.
type OutlierStatus struct {
	Ejected bool `json:"ejected"`
	// Until is when the current ejection's time ends (RFC 3339);
	// AwaitingProbe, that it has ended and the backend waits for a
	// healthy probe.
	Until         string `json:"until,omitempty"`
	AwaitingProbe bool   `json:"awaiting_probe,omitempty"`
	Ejections     uint64 `json:"ejections"`
	// EjectionsRefused counts the failures past outlier_consecutive
	// that a director's max_ejection_percent kept from ejecting.
	EjectionsRefused    uint64 `json:"ejections_refused"`
	ConsecutiveFailures int64  `json:"consecutive_failures"`
}

// RetryBudgetStatus is a route's retry budget and its use now.
type RetryBudgetStatus struct {
	Percent          float64 `json:"percent"`
	Min              int     `json:"min"`
	RequestsInFlight int64   `json:"requests_in_flight"`
	RetriesInFlight  int64   `json:"retries_in_flight"`
}

// outlierStatus returns b's passive health, nil when b detects no
// outliers.
func outlierStatus(b *directors.Backend, now int64) *OutlierStatus {
	st := b.OutlierStatus(now)
	if !st.Enabled {
		return nil
	}
	os := &OutlierStatus{
		Ejected: st.Ejected, AwaitingProbe: st.AwaitingProbe, Ejections: st.Ejections,
		EjectionsRefused: st.Refused, ConsecutiveFailures: st.Consecutive,
	}
	if st.Ejected && st.Until != 0 {
		os.Until = time.Unix(0, st.Until).UTC().Format(time.RFC3339Nano)
	}
	return os
}

// retryBudgetStatus returns the budget of the route at index i of t, nil
// when it has none.
func retryBudgetStatus(t *route.Table, i int) *RetryBudgetStatus {
	if i >= len(t.Routes) || t.Routes[i].Retry.Budget == nil {
		return nil
	}
	b := t.Routes[i].Retry.Budget
	req, ret := b.InFlight()
	return &RetryBudgetStatus{Percent: b.Percent(), Min: b.Min(), RequestsInFlight: req, RetriesInFlight: ret}
}

// postUneject: POST /backends/{name}/uneject returns an ejected backend
// to service at once (no body needed). It answers the backend's status;
// "was_ejected" tells whether there was anything to do.
func (s *Server) postUneject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	was, err := s.ctl.Uneject(name)
	if err != nil {
		s.writeErr(w, err, http.StatusBadRequest)
		return
	}
	s.log.Info("admin: backend unejected", "backend", name, "was_ejected", was)
	v := s.ctl.View()
	b := v.Table.Backends[name]
	if b == nil {
		writeError(w, http.StatusNotFound, "no backend %q", name)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		WasEjected bool `json:"was_ejected"`
		BackendStatus
	}{was, backendStatus(v, name, b)})
}
