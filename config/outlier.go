package config

import (
	"math"
	"slices"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// This file holds the keys of passive health and retry budgets, each
// phase of them (provision, validate, encode) in one place: a backend's
// outlier_* keys, a director's max_ejection_percent and a route's
// retry_budget_* keys (docs/spec.md section 2).
//
// outlier_consecutive turns outlier detection on, as a director's type
// brings its options: the other outlier_* keys get defaults only then,
// and writing one of them while it is off is an error, so a Config never
// carries settings that do nothing. retry_budget_percent does the same
// for retry_budget_min.

// Defaults of passive health and retry budgets: those of the packages
// that apply them.
const (
	DefaultOutlierBaseEjection = directors.DefaultBaseEjection
	DefaultOutlierMaxEjection  = directors.DefaultMaxEjection
	DefaultMaxEjectionPercent  = directors.DefaultMaxEjectionPercent
	DefaultRetryBudgetMin      = route.DefaultRetryBudgetMin
)

// outlierKeys are the keys outlier_consecutive turns on.
var outlierKeys = []string{"outlier_on", "outlier_base_ejection", "outlier_max_ejection"}

// OutlierEnabled reports whether b ejects itself on consecutive failures.
func (b *Backend) OutlierEnabled() bool { return b.OutlierConsecutive > 0 }

// provisionOutlier fills the outlier_* defaults of a backend that turns
// outlier detection on: every failure kind counts, 30s base ejection, 5m
// at most.
func (p *parser) provisionOutlier(b *Backend, path []string) {
	if len(b.OutlierOn) == 0 {
		b.OutlierOn = nil
	}
	if !b.OutlierEnabled() {
		return
	}
	if !p.has(sub(path, "outlier_on")...) {
		b.OutlierOn = slices.Clone(retryKinds)
	}
	defDur(p, &b.OutlierBaseEjection, DefaultOutlierBaseEjection, sub(path, "outlier_base_ejection")...)
	defDur(p, &b.OutlierMaxEjection, DefaultOutlierMaxEjection, sub(path, "outlier_max_ejection")...)
}

// provisionEjectionCap gives every director that can have several
// members its max_ejection_percent default.
func (p *parser) provisionEjectionCap(d *Director, path []string) {
	if d.Type != Saintmode {
		defVal(p, &d.MaxEjectionPercent, DefaultMaxEjectionPercent, sub(path, "max_ejection_percent")...)
	}
}

// provisionRetryBudget gives a route with a retry budget its floor.
func (p *parser) provisionRetryBudget(r *Route, path []string) {
	if r.RetryBudgetPercent > 0 {
		defVal(p, &r.RetryBudgetMin, DefaultRetryBudgetMin, sub(path, "retry_budget_min")...)
	}
}

func (p *parser) validateOutlier(b *Backend, path []string) {
	at := func(key string) []string { return sub(path, key) }
	if b.OutlierConsecutive < 0 {
		p.errorf(at("outlier_consecutive"), "must be ≥ 0 (0 = no outlier detection), got %d", b.OutlierConsecutive)
	}
	if !b.OutlierEnabled() {
		for _, k := range outlierKeys {
			if p.has(at(k)...) {
				p.errorf(at(k), "does nothing without outlier_consecutive > 0 (the failures in a row that eject the backend)")
			}
		}
		return
	}
	if len(b.OutlierOn) == 0 {
		p.errorf(at("outlier_on"), "lists no failure kind (valid: %s)", quoteList(retryKinds))
	}
	for i, k := range b.OutlierOn {
		ep := sub(path, "outlier_on", index(i))
		if oneOf(p, ep, k, retryKinds...) && slices.Index(b.OutlierOn, k) < i {
			p.errorf(ep, "%q is listed twice", k)
		}
	}
	if b.OutlierBaseEjection.Duration == 0 {
		p.errorf(at("outlier_base_ejection"), "must be > 0: it is how long a first ejection lasts")
	} else if b.OutlierMaxEjection.Duration < b.OutlierBaseEjection.Duration {
		p.errorf(at("outlier_max_ejection"), "%v is below outlier_base_ejection %v", b.OutlierMaxEjection, b.OutlierBaseEjection)
	}
}

func (p *parser) validateEjectionCap(d *Director, path []string) {
	if d.Type != Saintmode && (d.MaxEjectionPercent < 0 || d.MaxEjectionPercent > 100) {
		p.errorf(sub(path, "max_ejection_percent"), "%d is not a percentage (0-100)", d.MaxEjectionPercent)
	}
}

func (p *parser) validateRetryBudget(r *Route, path []string) {
	at := func(key string) []string { return sub(path, key) }
	switch pct := r.RetryBudgetPercent; {
	case math.IsNaN(pct) || pct < 0 || pct > 100:
		p.errorf(at("retry_budget_percent"), "%s is not a percentage (0-100; 0 = no budget)", formatFloat(pct))
	case pct == 0:
		if p.has(at("retry_budget_min")...) {
			p.errorf(at("retry_budget_min"), "does nothing without retry_budget_percent > 0")
		}
	case r.RetryBudgetMin < 0:
		p.errorf(at("retry_budget_min"), "must be ≥ 0, got %d", r.RetryBudgetMin)
	}
}

// encodeOutlier writes a backend's outlier_* keys, when detection is on.
func (b *Backend) encodeOutlier(e *encoder) {
	if !b.OutlierEnabled() {
		return
	}
	e.int("outlier_consecutive", int64(b.OutlierConsecutive))
	e.strs("outlier_on", b.OutlierOn)
	e.dur("outlier_base_ejection", b.OutlierBaseEjection)
	e.dur("outlier_max_ejection", b.OutlierMaxEjection)
}

// encodeRetryBudget writes a route's retry budget, when it has one.
func (r *Route) encodeRetryBudget(e *encoder) {
	if r.RetryBudgetPercent > 0 {
		e.float("retry_budget_percent", r.RetryBudgetPercent)
		e.int("retry_budget_min", int64(r.RetryBudgetMin))
	}
}
