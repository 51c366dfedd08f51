package topology

import (
	"fmt"
	"reflect"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
	"github.com/shellac-lb/shellac/rules"
)

// buildRules compiles the global rules and each route's matcher and rules
// into t (whose routes are built, in cfg's order). A rate limiter whose
// rule is unchanged at the same place in prev keeps its state.
func buildRules(cfg *config.Config, t, prev *route.Table, member func(string) (directors.Member, error)) error {
	var old map[string]*rules.Limiter
	if prev != nil {
		old = prev.Limiters()
	}
	compile := func(specs []*rules.Rule, ph rules.Phase, prefix string) (*rules.List, error) {
		if len(specs) == 0 {
			return nil, nil
		}
		env := &rules.Env{
			Member: func(name string) (directors.Member, bool) {
				m, err := member(name)
				return m, err == nil && m != nil
			},
			Limiter: func(path string, spec rules.RateLimit) *rules.Limiter {
				if lim := old[prefix+path]; lim != nil && reflect.DeepEqual(lim.Spec(), spec) {
					return lim
				}
				return nil
			},
		}
		l, errs := rules.Compile(specs, ph, env)
		if errs != nil {
			return nil, fmt.Errorf("topology: %s%s", prefix, errs[0])
		}
		return l, nil
	}
	var err error
	if t.Request, err = compile(cfg.RequestRules, rules.PhaseRequest, "request_rules"); err != nil {
		return err
	}
	if t.Response, err = compile(cfg.ResponseRules, rules.PhaseResponse, "response_rules"); err != nil {
		return err
	}
	for i, rc := range cfg.Routes {
		rt := t.Routes[i]
		prefix := fmt.Sprintf("routes[%d].", i)
		if rc.Match != nil {
			c, errs := rules.CompileMatch(rc.Match, rules.PhaseRequest)
			if errs != nil {
				return fmt.Errorf("topology: %smatch.%s", prefix, errs[0])
			}
			rt.When = c
		}
		if rt.Request, err = compile(rc.RequestRules, rules.PhaseRequest, prefix+"request_rules"); err != nil {
			return err
		}
		if rt.Response, err = compile(rc.ResponseRules, rules.PhaseResponse, prefix+"response_rules"); err != nil {
			return err
		}
	}
	return nil
}
