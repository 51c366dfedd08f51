package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/shellac-lb/shellac/http1"
)

// Cond is a compiled matcher.
type Cond interface {
	// Eval reports whether the request (and, for response rules, the
	// response status) in c matches.
	Eval(c *Ctx) bool
}

// Error is a problem with one field of a Spec: Path is the field's TOML
// path below the rule or matcher (e.g. ["when", "src", "[1]"]).
type Error struct {
	Path []string
	Msg  string
}

func (e *Error) Error() string { return strings.Join(e.Path, ".") + ": " + e.Msg }

// errs collects Errors under a path prefix.
type errs struct {
	list []*Error
}

func (es *errs) add(path []string, format string, args ...any) {
	es.list = append(es.list, &Error{Path: append([]string(nil), path...), Msg: fmt.Sprintf(format, args...)})
}

func sub(path []string, k ...string) []string {
	return append(append(make([]string, 0, len(path)+len(k)), path...), k...)
}

func idx(i int) string { return fmt.Sprintf("[%d]", i) }

// Phase says which part of an exchange a list of rules runs on.
type Phase uint8

// Phases.
const (
	PhaseRequest  Phase = iota // before the director is resolved
	PhaseResponse              // on the response head, before it is sent
)

// compileMatch compiles m; errors are added under path.
func compileMatch(m *Match, ph Phase, path []string, es *errs) Cond {
	var cs allCond
	if len(m.Host) > 0 {
		hc := &hostCond{}
		for i, h := range m.Host {
			h = strings.ToLower(h)
			if err := checkHostPattern(h); err != nil {
				es.add(sub(path, "host", idx(i)), "%v", err)
				continue
			}
			hc.pats = append(hc.pats, h)
		}
		cs = append(cs, hc)
	}
	if m.TLS != nil {
		cs = append(cs, tlsCond(*m.TLS))
	}
	if len(m.SNI) > 0 {
		sc := &sniCond{}
		for i, h := range m.SNI {
			h = strings.ToLower(h)
			if err := checkHostPattern(h); err != nil || hasPort(h) {
				if err == nil {
					err = fmt.Errorf("%q: a server name has no port", h)
				}
				es.add(sub(path, "sni", idx(i)), "%v", err)
				continue
			}
			sc.pats = append(sc.pats, h)
		}
		cs = append(cs, sc)
	}
	if len(m.Path) > 0 {
		for i, p := range m.Path {
			if !strings.HasPrefix(p, "/") && p != "*" {
				es.add(sub(path, "path", idx(i)), "%q must start with \"/\"", p)
			}
		}
		cs = append(cs, pathCond{exact: m.Path})
	}
	if len(m.PathPrefix) > 0 {
		for i, p := range m.PathPrefix {
			if !strings.HasPrefix(p, "/") {
				es.add(sub(path, "path_prefix", idx(i)), "%q must start with \"/\"", p)
			}
		}
		cs = append(cs, pathCond{prefix: m.PathPrefix})
	}
	if m.PathRegex != "" {
		if re, err := regexp.Compile(m.PathRegex); err != nil {
			es.add(sub(path, "path_regex"), "%s", reError(err))
		} else {
			cs = append(cs, pathRegexCond{re})
		}
	}
	if len(m.Method) > 0 {
		for i, x := range m.Method {
			if !isToken(x) {
				es.add(sub(path, "method", idx(i)), "%q is not a method token", x)
			}
		}
		cs = append(cs, methodCond(m.Method))
	}
	for _, n := range sortedKeys(m.Header) {
		if !isToken(n) {
			es.add(sub(path, "header", n), "%q is not a header name", n)
		}
		cs = append(cs, headerEqCond{name: n, value: m.Header[n]})
	}
	for i, n := range m.HeaderPresent {
		if !isToken(n) {
			es.add(sub(path, "header_present", idx(i)), "%q is not a header name", n)
		}
		cs = append(cs, headerPresentCond(n))
	}
	for _, n := range sortedKeys(m.HeaderRegex) {
		if !isToken(n) {
			es.add(sub(path, "header_regex", n), "%q is not a header name", n)
		}
		re, err := regexp.Compile(m.HeaderRegex[n])
		if err != nil {
			es.add(sub(path, "header_regex", n), "%s", reError(err))
			continue
		}
		cs = append(cs, headerRegexCond{name: n, re: re})
	}
	for _, n := range sortedKeys(m.Query) {
		cs = append(cs, queryCond{name: n, value: m.Query[n], eq: true})
	}
	for _, n := range m.QueryPresent {
		cs = append(cs, queryCond{name: n})
	}
	if len(m.Src) > 0 {
		sc := &srcCond{}
		for i, s := range m.Src {
			p, err := ParsePrefix(s)
			if err != nil {
				es.add(sub(path, "src", idx(i)), "%v", err)
				continue
			}
			sc.prefixes = append(sc.prefixes, p)
		}
		cs = append(cs, sc)
	}
	if len(m.Status) > 0 {
		if ph != PhaseResponse {
			es.add(sub(path, "status"), "only response rules can match a status")
		}
		for i, s := range m.Status {
			if s < 1 || s > 5 && s < 100 || s > 999 {
				es.add(sub(path, "status", idx(i)), "%d is neither a status (100-999) nor a class (1-5)", s)
			}
		}
		cs = append(cs, statusCond(m.Status))
	}
	for i, a := range m.All {
		if a == nil {
			continue
		}
		cs = append(cs, compileMatch(a, ph, sub(path, "all", idx(i)), es))
	}
	if len(m.Any) > 0 {
		var any anyCond
		for i, a := range m.Any {
			if a != nil {
				any = append(any, compileMatch(a, ph, sub(path, "any", idx(i)), es))
			}
		}
		cs = append(cs, any)
	}
	if m.Not != nil {
		cs = append(cs, notCond{compileMatch(m.Not, ph, sub(path, "not"), es)})
	}
	if len(cs) == 1 {
		return cs[0]
	}
	return cs
}

// CompileMatch compiles a matcher for the given phase.
func CompileMatch(m *Match, ph Phase) (Cond, []*Error) {
	var es errs
	c := compileMatch(m, ph, nil, &es)
	if len(es.list) > 0 {
		return nil, es.list
	}
	return c, nil
}

func reError(err error) string {
	if e, ok := err.(*syntax.Error); ok {
		return fmt.Sprintf("not a regular expression: %s in %q", e.Code, e.Expr)
	}
	return "not a regular expression: " + err.Error()
}

// ParsePrefix parses an address ("10.1.2.3", "::1") or a CIDR prefix
// ("10.0.0.0/8", "2001:db8::/32"). IPv4-mapped IPv6 forms are unmapped.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q has bits set past its length (write %s)", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func checkHostPattern(h string) error {
	name := strings.TrimPrefix(h, "*.")
	if name == "" || strings.ContainsAny(name, "*/ \t") {
		return fmt.Errorf("%q is not a host name or *.domain pattern", h)
	}
	return nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !http1.IsTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// allCond holds when every condition holds.
type allCond []Cond

func (a allCond) Eval(c *Ctx) bool {
	for _, x := range a {
		if !x.Eval(c) {
			return false
		}
	}
	return true
}

// anyCond holds when some condition holds.
type anyCond []Cond

func (a anyCond) Eval(c *Ctx) bool {
	for _, x := range a {
		if x.Eval(c) {
			return true
		}
	}
	return false
}

type notCond struct{ c Cond }

func (n notCond) Eval(c *Ctx) bool { return !n.c.Eval(c) }

type tlsCond bool

func (t tlsCond) Eval(c *Ctx) bool { return c.TLS == bool(t) }

type sniCond struct{ pats []string }

func (s *sniCond) Eval(c *Ctx) bool {
	if len(c.SNI) == 0 {
		return false
	}
	for _, p := range s.pats {
		if MatchHost(p, c.SNI) {
			return true
		}
	}
	return false
}

type hostCond struct{ pats []string }

func (h *hostCond) Eval(c *Ctx) bool {
	host := c.Req.Host
	for _, p := range h.pats {
		if MatchHost(p, host) {
			return true
		}
	}
	return false
}

// MatchHost reports whether the request host h (any case, maybe with a
// port) matches the pattern p (lower case: a name, or "*.domain"); the
// port of h is ignored unless p has one. It does not allocate.
func MatchHost(p string, h []byte) bool {
	if p == "" {
		return true
	}
	if !hasPort(p) {
		h = stripPort(h)
	}
	if len(p) > 1 && p[0] == '*' && p[1] == '.' {
		suffix := p[1:] // ".example.com"
		return len(h) > len(suffix) && equalFold(h[len(h)-len(suffix):], suffix)
	}
	return equalFold(h, p)
}

func hasPort(p string) bool {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case ':':
			return true
		case ']':
			return false
		}
	}
	return false
}

// stripPort removes ":port" from a host, IPv6 literals included.
func stripPort(h []byte) []byte {
	for i := len(h) - 1; i >= 0; i-- {
		switch h[i] {
		case ':':
			return h[:i]
		case ']':
			return h
		}
		if h[i] < '0' || h[i] > '9' {
			return h
		}
	}
	return h
}

// equalFold compares ASCII case-insensitively; p is lower case.
func equalFold(b []byte, p string) bool {
	if len(b) != len(p) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

type pathCond struct{ exact, prefix []string }

func (p pathCond) Eval(c *Ctx) bool {
	path := c.Req.Path
	for _, e := range p.exact {
		if string(path) == e {
			return true
		}
	}
	for _, e := range p.prefix {
		if len(path) >= len(e) && string(path[:len(e)]) == e {
			return true
		}
	}
	return false
}

type pathRegexCond struct{ re *regexp.Regexp }

func (p pathRegexCond) Eval(c *Ctx) bool { return p.re.Match(c.Req.Path) }

type methodCond []string

func (m methodCond) Eval(c *Ctx) bool {
	for _, x := range m {
		if string(c.Req.Method) == x {
			return true
		}
	}
	return false
}

type headerEqCond struct{ name, value string }

func (h headerEqCond) Eval(c *Ctx) bool {
	v, ok := c.header(h.name)
	return ok && string(v) == h.value
}

type headerPresentCond string

func (h headerPresentCond) Eval(c *Ctx) bool {
	_, ok := c.header(string(h))
	return ok
}

type headerRegexCond struct {
	name string
	re   *regexp.Regexp
}

func (h headerRegexCond) Eval(c *Ctx) bool {
	v, ok := c.header(h.name)
	return ok && h.re.Match(v)
}

type queryCond struct {
	name, value string
	eq          bool
}

func (q queryCond) Eval(c *Ctx) bool {
	v := c.Req.QueryValue(q.name)
	if v == nil {
		return false
	}
	return !q.eq || string(v) == q.value
}

type srcCond struct{ prefixes []netip.Prefix }

func (s *srcCond) Eval(c *Ctx) bool {
	a := c.ClientIP.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type statusCond []int

func (s statusCond) Eval(c *Ctx) bool {
	for _, x := range s {
		if x == c.Status || x < 10 && c.Status/100 == x {
			return true
		}
	}
	return false
}

// header returns the first value of the request header name and whether
// it is present (case-insensitive name).
func (c *Ctx) header(name string) ([]byte, bool) {
	for i := range c.Req.Headers {
		h := &c.Req.Headers[i]
		if len(h.Name) == len(name) && equalFoldBoth(h.Name, name) {
			return h.Value, true
		}
	}
	return nil, false
}

// equalFoldBoth compares ASCII case-insensitively in both arguments.
func equalFoldBoth(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
