package rules

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
)

// Ctx is what rules read and write for one request. One lives in each
// client connection's exchange and is reused: Reset keeps its memory, so
// evaluating rules allocates nothing once the buffers have grown.
type Ctx struct {
	// Req is the request head; a path rewrite repoints its Path and
	// Target at the Ctx's own memory.
	Req *http1.Request
	// ClientIP and its text form (the PROXY protocol source, if any).
	ClientIP     netip.Addr
	ClientIPText []byte
	// TLS: the client connection speaks TLS; SNI is the server name it
	// sent in its handshake (nil if none).
	TLS bool
	SNI []byte
	// ClientCert is the subject (RFC 2253) of the client certificate
	// verified in the handshake (client_auth); nil if none.
	ClientCert []byte
	// DReq is the directors' view of the request, for rate-limit keys.
	DReq *directors.Request
	// Now is the time in Unix nanoseconds (a coarse clock is fine).
	Now int64
	// Shard is the event loop's index: rate-limit state is per loop.
	Shard int

	// Status and Backend describe the response (response rules only).
	Status  int
	Backend string

	// Target is the director or backend a rule chose; nil keeps the
	// route's.
	Target directors.Member
	// RequestID is the request id a request_id rule found or made.
	RequestID []byte
	// Reply, when its Status is set, is the answer a rule gave: the
	// request goes to no backend.
	Reply Reply
	// Edit holds the header changes for the forwarded request (request
	// rules) or the response (response rules).
	Edit http1.FieldEdit

	// Trace, when not nil, receives one line per rule that matched
	// (/explain); nil on the request path.
	Trace *[]string

	paths [2][]byte // path rewrite results, used in turn
	npath int
	loc   []byte // Location of a redirect
	id    [32]byte
	rid   []byte // a received request id, copied (it outlives the head)
	line  []byte // scratch for one header value
}

// Reply is a rule's own answer.
type Reply struct {
	Status      int
	Location    []byte // redirects
	RetryAfter  int    // 429: seconds
	Body        string
	ContentType string
}

// Reset clears c for a new request, keeping its memory.
func (c *Ctx) Reset() {
	c.Req, c.DReq, c.Trace = nil, nil, nil
	c.TLS, c.SNI, c.ClientCert = false, nil, nil
	c.Status, c.Backend = 0, ""
	c.Target, c.RequestID = nil, nil
	if c.Reply.Status != 0 {
		c.Reply = Reply{}
	}
	if len(c.Edit.Drop) > 0 || len(c.Edit.Add) > 0 {
		c.Edit.Reset()
	}
	c.npath = 0
}

// ResetResponse clears the request rules' header edits before the
// response rules run, keeping the rest.
func (c *Ctx) ResetResponse(status int, backend string) {
	c.Edit.Reset()
	c.Status, c.Backend = status, backend
}

// Env resolves the names rules refer to when they are compiled.
type Env struct {
	// Member returns the director or backend of a director rule.
	Member func(name string) (directors.Member, bool)
	// Limiter returns the rate limiter to use for a rate_limit rule at
	// path; nil makes a new one. It lets a reload keep the state of an
	// unchanged rule.
	Limiter func(path string, spec RateLimit) *Limiter
}

// List is a compiled, ordered list of rules of one phase.
type List struct {
	phase Phase
	rules []*rule
	// limiters of the list's rate_limit rules, by path ("[2]").
	limiters map[string]*Limiter
}

// Len returns the number of rules in l (0 for nil).
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.rules)
}

// Limiters returns the list's rate limiters by rule path ("[2]"), so a
// reload can hand them to the next compilation (Env.Limiter).
func (l *List) Limiters() map[string]*Limiter {
	if l == nil {
		return nil
	}
	return l.limiters
}

type actionKind uint8

const (
	actHeaders actionKind = iota
	actRedirect
	actRewrite
	actRespond
	actRequestID
	actDirector
	actRateLimit
)

var actionNames = [...]string{"headers", "redirect", "rewrite", "respond", "request_id", "director", "rate_limit"}

// rule is one compiled rule.
type rule struct {
	name string
	when Cond // nil: always
	kind actionKind

	// headers
	del []string // lower case: every field dropped (set and del)
	set []headerOp
	add []headerOp

	// redirect
	loc  template
	code int

	// rewrite
	prefix, to string
	toBytes    []byte // to, for the regexp replacement
	re         *regexp.Regexp
	strip      bool

	// respond
	status      int
	body, ctype string

	// request_id
	idName  string
	idLower string

	// director
	target directors.Member

	// rate_limit
	lim *Limiter
}

type headerOp struct {
	name  string
	lower string
	value template
}

// forbiddenHeaders are the fields rules may not touch: the framing and
// hop-by-hop fields are the proxy's own.
var forbiddenHeaders = []string{"content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection"}

// Compile compiles specs for phase ph. Errors carry the path of the field
// below the list ("[2]", "when", "src", "[0]").
func Compile(specs []*Rule, ph Phase, env *Env) (*List, []*Error) {
	if env == nil {
		env = &Env{}
	}
	l := &List{phase: ph}
	var es errs
	for i, s := range specs {
		if s == nil {
			continue
		}
		r := compileRule(s, ph, env, []string{idx(i)}, &es)
		if r == nil {
			continue
		}
		if r.lim != nil {
			if l.limiters == nil {
				l.limiters = map[string]*Limiter{}
			}
			l.limiters[idx(i)] = r.lim
		}
		l.rules = append(l.rules, r)
	}
	if len(es.list) > 0 {
		return nil, es.list
	}
	return l, nil
}

func compileRule(s *Rule, ph Phase, env *Env, path []string, es *errs) *rule {
	r := &rule{name: s.Name}
	before := len(es.list)
	if s.When != nil {
		r.when = compileMatch(s.When, ph, sub(path, "when"), es)
	}
	var kinds []string
	have := func(k actionKind, key string) {
		kinds = append(kinds, key)
		r.kind = k
	}
	if len(s.SetHeader) > 0 || len(s.AddHeader) > 0 || len(s.DelHeader) > 0 {
		have(actHeaders, "set_header/add_header/del_header")
		r.compileHeaders(s, ph, path, es)
	}
	if s.Redirect != "" {
		have(actRedirect, "redirect")
		t, err := parseTemplate(s.Redirect, ph)
		if err != nil {
			es.add(sub(path, "redirect"), "%v", err)
		}
		r.loc = t
		r.code = s.Code
		switch s.Code {
		case 0:
			r.code = 302
		case 301, 302, 303, 307, 308:
		default:
			es.add(sub(path, "code"), "%d is not a redirect status (301, 302, 303, 307, 308)", s.Code)
		}
	} else if s.Code != 0 {
		es.add(sub(path, "code"), "applies only to a redirect")
	}
	if s.StripPrefix != "" || s.Rewrite != nil {
		have(actRewrite, "strip_prefix/rewrite")
		r.compileRewrite(s, path, es)
	}
	if s.Respond != 0 {
		have(actRespond, "respond")
		if s.Respond < 200 || s.Respond > 599 {
			es.add(sub(path, "respond"), "%d is not a final status (200-599)", s.Respond)
		}
		r.status, r.body, r.ctype = s.Respond, s.Body, s.ContentType
		if r.ctype == "" {
			r.ctype = "text/plain; charset=utf-8"
		} else if !validValue(r.ctype) {
			es.add(sub(path, "content_type"), "%q is not a valid field value", r.ctype)
		}
	} else {
		if s.Body != "" {
			es.add(sub(path, "body"), "applies only to respond")
		}
		if s.ContentType != "" {
			es.add(sub(path, "content_type"), "applies only to respond")
		}
	}
	if s.RequestID != "" {
		have(actRequestID, "request_id")
		if !isToken(s.RequestID) {
			es.add(sub(path, "request_id"), "%q is not a header name", s.RequestID)
		}
		r.idName, r.idLower = s.RequestID, strings.ToLower(s.RequestID)
	}
	if s.Director != "" {
		have(actDirector, "director")
		if env.Member != nil {
			m, ok := env.Member(s.Director)
			if !ok {
				es.add(sub(path, "director"), "%q is neither a director nor a backend", s.Director)
			}
			r.target = m
		}
	}
	if s.RateLimit != nil {
		have(actRateLimit, "rate_limit")
		var lim *Limiter
		if env.Limiter != nil {
			lim = env.Limiter(strings.Join(path, ""), *s.RateLimit)
		}
		if lim == nil {
			var err *Error
			lim, err = NewLimiter(*s.RateLimit)
			if err != nil {
				err.Path = append(sub(path, "rate_limit"), err.Path...)
				es.list = append(es.list, err)
			}
		}
		r.lim = lim
	}
	if ph == PhaseResponse && len(kinds) > 0 && r.kind != actHeaders {
		es.add(path, "a response rule can only set_header, add_header or del_header, not %s", kinds[len(kinds)-1])
	}
	switch len(kinds) {
	case 0:
		es.add(path, "has no action (set_header, add_header, del_header, redirect, strip_prefix, rewrite, respond, request_id, director or rate_limit)")
	case 1:
	default:
		es.add(path, "has several actions (%s): give each its own rule", strings.Join(kinds, ", "))
	}
	if len(es.list) > before {
		return nil
	}
	return r
}

func (r *rule) compileHeaders(s *Rule, ph Phase, path []string, es *errs) {
	check := func(key, name string) bool {
		if !isToken(name) {
			es.add(sub(path, key, name), "%q is not a header name", name)
			return false
		}
		lower := strings.ToLower(name)
		if slices.Contains(forbiddenHeaders, lower) {
			es.add(sub(path, key, name), "%s is a framing or hop-by-hop field: shellac sets it itself", name)
			return false
		}
		if lower == "host" && (key != "set_header" || ph == PhaseResponse) {
			es.add(sub(path, key, name), "Host can only be replaced (set_header) on requests")
			return false
		}
		return true
	}
	ops := func(key string, m map[string]string) []headerOp {
		var out []headerOp
		for _, n := range sortedKeys(m) {
			if !check(key, n) {
				continue
			}
			t, err := parseTemplate(m[n], ph)
			if err != nil {
				es.add(sub(path, key, n), "%v", err)
				continue
			}
			out = append(out, headerOp{name: n, lower: strings.ToLower(n), value: t})
		}
		return out
	}
	r.set = ops("set_header", s.SetHeader)
	r.add = ops("add_header", s.AddHeader)
	for i, n := range s.DelHeader {
		if check("del_header", n) {
			r.del = append(r.del, strings.ToLower(n))
		} else {
			es.list[len(es.list)-1].Path = sub(path, "del_header", idx(i))
		}
	}
	for _, op := range r.set {
		r.del = append(r.del, op.lower)
	}
}

func (r *rule) compileRewrite(s *Rule, path []string, es *errs) {
	if s.StripPrefix != "" {
		if s.Rewrite != nil {
			es.add(sub(path, "rewrite"), "give strip_prefix or rewrite, not both")
			return
		}
		if !strings.HasPrefix(s.StripPrefix, "/") {
			es.add(sub(path, "strip_prefix"), "%q must start with \"/\"", s.StripPrefix)
		}
		r.prefix, r.strip = strings.TrimSuffix(s.StripPrefix, "/"), true
		return
	}
	rw := s.Rewrite
	rp := sub(path, "rewrite")
	if !validPathText(rw.To) {
		es.add(sub(rp, "to"), "%q may hold only characters allowed in a path", rw.To)
	}
	switch {
	case rw.Prefix != "" && rw.Regex != "":
		es.add(rp, "give prefix or regex, not both")
	case rw.Prefix != "":
		if !strings.HasPrefix(rw.Prefix, "/") {
			es.add(sub(rp, "prefix"), "%q must start with \"/\"", rw.Prefix)
		}
		if !strings.HasPrefix(rw.To, "/") {
			es.add(sub(rp, "to"), "%q must start with \"/\"", rw.To)
		}
		r.prefix, r.to = rw.Prefix, rw.To
	case rw.Regex != "":
		re, err := regexp.Compile(rw.Regex)
		if err != nil {
			es.add(sub(rp, "regex"), "%s", reError(err))
			return
		}
		r.re, r.to, r.toBytes = re, rw.To, []byte(rw.To)
	default:
		es.add(rp, "needs prefix or regex (and to)")
	}
}

// validPathText reports whether s holds only characters a request path
// may carry (RFC 3986 pchar, "/", "%", and "$" for group references).
func validPathText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`|#?", c) >= 0 {
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// Request runs l's rules on a request, in order, until one answers by
// itself; it reports whether one did (c.Reply is then set). The header
// edits accumulate in c.Edit, a rewritten path is in c.Req, a chosen
// director in c.Target.
func (l *List) Request(c *Ctx) bool {
	if l == nil {
		return false
	}
	for i, r := range l.rules {
		if r.when != nil && !r.when.Eval(c) {
			continue
		}
		if c.Trace != nil {
			*c.Trace = append(*c.Trace, r.describe(i))
		}
		if r.apply(c) {
			return true
		}
	}
	return false
}

// Response runs l's rules on a response head; the edits accumulate in
// c.Edit.
func (l *List) Response(c *Ctx) {
	if l == nil {
		return
	}
	for i, r := range l.rules {
		if r.when != nil && !r.when.Eval(c) {
			continue
		}
		if c.Trace != nil {
			*c.Trace = append(*c.Trace, r.describe(i))
		}
		r.apply(c)
	}
}

// describe is "[i] NAME: action" (or "[i]: action" for a rule with no
// name).
func (r *rule) describe(i int) string {
	s := idx(i)
	if r.name != "" {
		s += " " + r.name
	}
	return s + ": " + actionNames[r.kind]
}

// apply runs the rule's action; it reports whether the rule answered.
func (r *rule) apply(c *Ctx) bool {
	switch r.kind {
	case actHeaders:
		for _, d := range r.del {
			c.drop(d)
		}
		for i := range r.set {
			c.addField(&r.set[i])
		}
		for i := range r.add {
			c.addField(&r.add[i])
		}
	case actRedirect:
		c.loc = r.loc.append(c.loc[:0], c)
		c.Reply = Reply{Status: r.code, Location: c.loc}
		return true
	case actRewrite:
		c.rewrite(r)
	case actRespond:
		c.Reply = Reply{Status: r.status, Body: r.body, ContentType: r.ctype}
		return true
	case actRequestID:
		if v, ok := c.header(r.idName); ok && len(v) > 0 && !c.dropped(r.idLower) {
			c.rid = append(c.rid[:0], v...)
			c.RequestID = c.rid
			return false
		}
		c.RequestID = c.newID()
		c.drop(r.idLower)
		c.appendLine(r.idName, c.RequestID)
	case actDirector:
		c.Target = r.target
	case actRateLimit:
		if wait, ok := r.lim.Allow(c); !ok {
			c.Reply = Reply{Status: 429, RetryAfter: wait, Body: "Too Many Requests\n", ContentType: "text/plain; charset=utf-8"}
			return true
		}
	}
	return false
}

// newID returns a fresh random request id: 32 hex digits (128 bits).
func (c *Ctx) newID() []byte {
	var raw [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		raw[i], raw[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	hex.Encode(c.id[:], raw[:])
	return c.id[:]
}

// drop removes name (lower case) from the received fields and from the
// fields added so far.
func (c *Ctx) drop(name string) {
	e := &c.Edit
	if !slices.Contains(e.Drop, name) {
		e.Drop = append(e.Drop, name)
	}
	// Remove earlier added lines of that name.
	add, out := e.Add, e.Add[:0]
	for len(add) > 0 {
		end := indexCRLF(add) + 2
		line := add[:end]
		add = add[end:]
		colon := indexByte(line, ':')
		if equalFold(line[:colon], name) {
			continue
		}
		out = append(out, line...)
	}
	e.Add = out
}

func (c *Ctx) dropped(name string) bool { return slices.Contains(c.Edit.Drop, name) }

func (c *Ctx) addField(op *headerOp) {
	if op.value.static {
		var v string
		if len(op.value.segs) > 0 {
			v = op.value.segs[0].text
		}
		c.Edit.Add = append(c.Edit.Add, op.name...)
		c.Edit.Add = append(c.Edit.Add, ": "...)
		c.Edit.Add = append(c.Edit.Add, v...)
		c.Edit.Add = append(c.Edit.Add, "\r\n"...)
		return
	}
	c.line = op.value.append(c.line[:0], c)
	c.appendLine(op.name, c.line)
}

func (c *Ctx) appendLine(name string, value []byte) {
	c.Edit.Add = append(c.Edit.Add, name...)
	c.Edit.Add = append(c.Edit.Add, ": "...)
	c.Edit.Add = append(c.Edit.Add, value...)
	c.Edit.Add = append(c.Edit.Add, "\r\n"...)
}

// rewrite applies a path rewrite, repointing c.Req's Path and Target at
// one of c's path buffers.
func (c *Ctx) rewrite(r *rule) {
	req := c.Req
	path := req.Path
	buf := c.paths[c.npath][:0]
	switch {
	case r.re != nil:
		if !r.re.Match(path) {
			return
		}
		buf = append(buf, r.re.ReplaceAll(path, r.toBytes)...) // allocates: documented
	default:
		p := r.prefix
		if len(path) < len(p) || string(path[:len(p)]) != p {
			return
		}
		rest := path[len(p):]
		if r.strip {
			// "/api" strips "/api" and "/api/..." but not "/apix".
			if len(rest) > 0 && rest[0] != '/' {
				return
			}
			if len(rest) == 0 {
				rest = slash
			}
		}
		buf = append(buf, r.to...)
		buf = append(buf, rest...)
	}
	if len(buf) == 0 || buf[0] != '/' {
		// A regexp replacement that lost the leading "/" (a prefix
		// rewrite cannot, its to starts with one).
		buf = append([]byte{'/'}, buf...)
	}
	n := len(buf)
	if req.Query != nil {
		buf = append(buf, '?')
		buf = append(buf, req.Query...)
	}
	c.paths[c.npath] = buf
	c.npath ^= 1
	req.Target = buf
	req.Path = buf[:n:n]
	if req.Query != nil {
		req.Query = buf[n+1:]
	}
}

var slash = []byte("/")

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return len(b) - 2
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return len(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// String describes the list, for /explain: one rule per line.
func (l *List) String() string {
	if l == nil {
		return ""
	}
	var b strings.Builder
	for i, r := range l.rules {
		fmt.Fprintln(&b, r.describe(i))
	}
	return b.String()
}
