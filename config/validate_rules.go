package config

import (
	"strings"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/rules"
)

// validateRules checks the global rule lists and each route's matcher and
// rules by compiling them as the table builder will, reporting each error
// at its field's line.
func (p *parser) validateRules(c *Config) {
	env := &rules.Env{Member: func(name string) (directors.Member, bool) {
		if b := c.Backends[name]; b != nil && b.DiscoveredFrom == "" && b.Discover != "" {
			return nil, false // a template is a set of endpoints, not one member
		}
		return nil, c.isMember(name)
	}}
	p.ruleList(c.RequestRules, rules.PhaseRequest, env, []string{"request_rules"})
	p.ruleList(c.ResponseRules, rules.PhaseResponse, env, []string{"response_rules"})
	for i, r := range c.Routes {
		path := []string{"routes", index(i)}
		if r.Match != nil {
			if _, errs := rules.CompileMatch(r.Match, rules.PhaseRequest); errs != nil {
				p.ruleErrs(sub(path, "match"), errs)
			}
		}
		p.ruleList(r.RequestRules, rules.PhaseRequest, env, sub(path, "request_rules"))
		p.ruleList(r.ResponseRules, rules.PhaseResponse, env, sub(path, "response_rules"))
	}
}

func (p *parser) ruleList(specs []*rules.Rule, ph rules.Phase, env *rules.Env, path []string) {
	if _, errs := rules.Compile(specs, ph, env); errs != nil {
		p.ruleErrs(path, errs)
	}
}

// ruleErrs reports the rules package's errors below path. What the
// compiler says about a whole rule that had a decode error (an action
// missing because its value was of the wrong type) would only repeat that
// error, and is left out; errors about fields below a decode error are
// left out by errorf.
func (p *parser) ruleErrs(path []string, errs []*rules.Error) {
	for _, e := range errs {
		if len(e.Path) == 1 && p.badUnder(sub(path, e.Path[0])) {
			continue
		}
		p.errorf(sub(path, e.Path...), "%s", e.Msg)
	}
}

// badUnder reports whether path or a path below it had a decode error.
func (p *parser) badUnder(path []string) bool {
	prefix := pathKey(path)
	for k := range p.bad {
		if k == prefix || strings.HasPrefix(k, prefix+"\x00") {
			return true
		}
	}
	return false
}
