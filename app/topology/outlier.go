package topology

import (
	"maps"
	"slices"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// This file turns the configuration of passive health and retry budgets
// into the live objects: a backend's outlier policy, a route's retry
// budget, and the ejection groups that carry each director's
// max_ejection_percent down to its backends.

// outlierPolicy maps a backend's outlier_* keys onto its policy (the zero
// policy when outlier detection is off).
func outlierPolicy(bc *config.Backend) directors.OutlierPolicy {
	if !bc.OutlierEnabled() {
		return directors.OutlierPolicy{}
	}
	var on directors.FailKind
	for _, name := range bc.OutlierOn {
		if k, ok := route.ParseRetryOn(name); ok { // validated already
			on |= directors.FailKind(k)
		}
	}
	return directors.OutlierPolicy{
		Consecutive:  bc.OutlierConsecutive,
		On:           on,
		BaseEjection: bc.OutlierBaseEjection.Duration,
		MaxEjection:  bc.OutlierMaxEjection.Duration,
	}
}

// retryBudget returns the route's retry budget, nil when it has none.
func retryBudget(rc *config.Route) *route.RetryBudget {
	if rc.RetryBudgetPercent <= 0 {
		return nil
	}
	return route.NewRetryBudget(rc.RetryBudgetPercent, rc.RetryBudgetMin)
}

// Regroup gives every backend of t the ejection groups it belongs to: one
// per director of t other than saintmode (which wraps one member and caps
// nothing), over the distinct backends under it, with the director's
// max_ejection_percent in cfg. Directors with no backend that detects
// outliers get no group. The groups follow the live members, so app calls
// Regroup after every change of membership: a reload, a member added or
// removed at run time, discovered endpoints.
func Regroup(cfg *config.Config, t *route.Table) {
	var gs []*directors.EjectionGroup
	for _, name := range slices.Sorted(maps.Keys(t.Directors)) {
		dc := cfg.Directors[name]
		if dc == nil || dc.Type == config.Saintmode {
			continue
		}
		leaves := directors.Leaves(t.Directors[name])
		if slices.ContainsFunc(leaves, func(b *directors.Backend) bool { return b.Config().Outlier.Consecutive > 0 }) {
			gs = append(gs, directors.NewEjectionGroup(name, dc.MaxEjectionPercent, leaves))
		}
	}
	directors.SetEjectionGroups(slices.Collect(maps.Values(t.Backends)), gs)
}
