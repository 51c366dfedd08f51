package vclimport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/config"
)

// Note is one thing of the VCL file the importer did not translate.
type Note struct {
	Line int
	What string // the VCL, shortened
	Why  string // why not, and shellac's equivalent where one exists
}

// String returns "LINE: what — why".
func (n Note) String() string { return fmt.Sprintf("%d: %s — %s", n.Line, n.What, n.Why) }

// BackendCall is a D.backend(…) call of the VCL and the shellac director
// it became: Varnish passes shard and hash parameters with each call,
// shellac keeps them in the director, so each distinct set of parameters
// of one VCL director becomes a shellac director of its own (the first
// keeps the VCL name, the others get _2, _3 …).
type BackendCall struct {
	Line     int
	Object   string // the VCL director object
	Director string // the shellac director
}

// director is a VCL director object created in vcl_init.
type director struct {
	name string
	line int
	kind string // round_robin, fallback, random, hash, shard, saintmode, shard_param
	// members in order; weights and idents by member.
	members []member
	sticky  bool
	// shard settings from vcl_init.
	replicas      int
	replicasLine  int
	warmup        string
	rampup        string
	base          shardParams // shard: associated parameters; shard_param: its set()
	saintMember   string
	saintThresh   int
	variants      []*variant
	hasThreshold  bool
	defaultByLazy bool
}

type member struct {
	name   string // backend or shellac director name
	line   int
	weight float64 // 0 = not given
	ident  string
}

// shardParams are the per-call parameters of shard.backend() and
// hash.backend(), comparable.
type shardParams struct {
	by      string // url, hash, key ("" = not given: Varnish's HASH)
	key     string // key sources joined by "\n"
	alt     int
	healthy string
	warmup  string
	rampup  string
}

type variant struct {
	name string
	p    shardParams
	line int
	call string
}

// translator turns a parsed File into shellac objects and notes.
type translator struct {
	f       *File
	lines   []string
	notes   []Note
	calls   []BackendCall
	callDir map[Pos]string // D.backend() call position → shellac director
	callWhy map[Pos]string // … or why it has none

	probes   []*table
	backends []*table
	dirs     map[string]*director
	dirOrder []string
	names    map[string]bool // backends and probes declared
	subs     map[string][]*Decl

	routes     []*table
	inlined    int
	sides      map[string]string // custom sub → the side it runs on
	defaultDir string
	defaultCmt string
	firstBack  string
}

// table is one TOML table to write.
type table struct {
	header  string
	comment string
	kvs     []kv
}

type kv struct{ key, val, comment string }

func (t *table) set(key, val, comment string) { t.kvs = append(t.kvs, kv{key, val, comment}) }

func (t *translator) note(line int, what, why string) {
	t.notes = append(t.notes, Note{Line: line, What: what, Why: why})
}

// src returns the source line (trimmed, shortened) for a note.
func (t *translator) src(p Pos) string {
	if p.Line < 1 || p.Line > len(t.lines) {
		return ""
	}
	s := strings.TrimSpace(t.lines[p.Line-1])
	if len(s) > 72 {
		s = s[:69] + "…"
	}
	return s
}

func (t *translator) translate() {
	t.dirs = map[string]*director{}
	t.names = map[string]bool{}
	t.subs = map[string][]*Decl{}
	t.callDir, t.callWhy = map[Pos]string{}, map[Pos]string{}
	for _, d := range t.f.Decls {
		switch d.Kind {
		case "probe":
			t.names[d.Name] = true
		case "backend":
			t.names[d.Name] = true
			if t.firstBack == "" {
				t.firstBack = d.Name
			}
		case "sub":
			if d.BodyErr != nil {
				t.note(d.Pos.Line, "sub "+d.Name+" { … }",
					fmt.Sprintf("not parsed in detail (%d:%d: %s); nothing in it is translated", d.BodyErr.Pos.Line, d.BodyErr.Pos.Col, d.BodyErr.Msg))
				continue
			}
			t.subs[d.Name] = append(t.subs[d.Name], d)
		}
	}
	for _, d := range t.f.Decls {
		switch d.Kind {
		case "vcl":
			if d.Name != "4.0" && d.Name != "4.1" {
				t.note(d.Pos.Line, "vcl "+d.Name+";", "not VCL 4.0 or 4.1: the syntax may differ from what this importer reads")
			}
		case "import":
			switch d.Name {
			case "directors", "saintmode", "std":
			default:
				t.note(d.Pos.Line, t.src(d.Pos), "vmod "+d.Name+": no shellac equivalent; the statements that use it are listed")
			}
		case "include":
			t.note(d.Pos.Line, t.src(d.Pos), "include: not followed; import that file on its own, or paste it into this one")
		case "probe":
			t.probe(d.Name, d.Pos, d.Fields, "probe "+d.Name)
		case "backend":
			t.backend(d)
		case "acl":
			t.note(d.Pos.Line, t.src(d.Pos), "ACL: shellac has no access control lists")
		case "C":
			t.note(d.Pos.Line, "C{ … }C", "inline C: not supported")
		case "sub":
		default:
			t.note(d.Pos.Line, t.src(d.Pos), "not understood by the importer")
		}
	}
	for _, d := range t.subs["vcl_init"] {
		t.vclInit(d.Body)
	}
	// Every D.backend(…) call outside vcl_init decides a variant of D.
	for _, d := range t.f.Decls {
		if d.Kind == "sub" && d.Name != "vcl_init" && d.BodyErr == nil {
			walkStmts(d.Body, func(e Expr) {
				if c, ok := e.(*Call); ok {
					t.backendCall(c, t.contextOf(d.Name))
				}
			})
		}
	}
	for _, d := range t.f.Decls {
		if d.Kind != "sub" || d.BodyErr != nil {
			continue
		}
		switch d.Name {
		case "vcl_init":
		case "vcl_recv":
			t.routing(d.Name, t.inline(d.Body, 0), "req.backend_hint", "req.")
		case "vcl_backend_fetch":
			t.routing(d.Name, t.inline(d.Body, 0), "bereq.backend", "bereq.")
		default:
			if !t.called(d.Name) {
				for _, s := range d.Body {
					t.noteStmt(s, d.Name)
				}
			}
		}
	}
	if t.defaultDir == "" && t.firstBack != "" {
		t.defaultDir = t.firstBack
		t.defaultCmt = "Varnish's default: the first backend declared"
	}
}

// called reports whether the sub is inlined by a call in vcl_recv or
// vcl_backend_fetch (its statements are noted there).
func (t *translator) called(name string) bool {
	found := false
	for _, top := range []string{"vcl_recv", "vcl_backend_fetch"} {
		for _, d := range t.subs[top] {
			for _, s := range d.Body {
				if w, ok := s.(*WordStmt); ok && w.Word == "call" && w.Arg == name {
					found = true
				}
			}
		}
	}
	return found && len(t.subs[name]) > 0
}

// maxInlined bounds the statements inlining may produce (a sub may call
// another many times).
const maxInlined = 10000

// inline replaces top-level call NAME; statements by the sub's body.
func (t *translator) inline(body []Stmt, depth int) []Stmt {
	var out []Stmt
	for _, s := range body {
		if w, ok := s.(*WordStmt); ok && w.Word == "call" && depth < 8 && t.inlined < maxInlined {
			if ds := t.subs[w.Arg]; len(ds) > 0 {
				for _, d := range ds {
					in := t.inline(d.Body, depth+1)
					t.inlined += len(in)
					out = append(out, in...)
				}
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// contextOf returns the side a sub runs on: "client", "backend", or
// "any" for a custom sub called from both sides (or from none).
func (t *translator) contextOf(sub string) string {
	if strings.HasPrefix(sub, "vcl_backend_") {
		return "backend"
	}
	if strings.HasPrefix(sub, "vcl_") {
		return "client"
	}
	if t.sides == nil {
		t.sides = t.callSides()
	}
	if s := t.sides[sub]; s == "client" || s == "backend" {
		return s
	}
	return "any"
}

// callSides finds, for each custom sub, the side of the built-in subs
// that call it (directly or through other custom subs): "client",
// "backend", or "any" when both do.
func (t *translator) callSides() map[string]string {
	calls := map[string][]string{}
	for name, ds := range t.subs {
		for _, d := range ds {
			walkCalls(d.Body, func(callee string) { calls[name] = append(calls[name], callee) })
		}
	}
	sides := map[string]string{}
	var visit func(sub, side string, depth int)
	visit = func(sub, side string, depth int) {
		for _, c := range calls[sub] {
			if strings.HasPrefix(c, "vcl_") || depth > 16 {
				continue
			}
			switch old := sides[c]; {
			case old == side || old == "any":
				continue
			case old == "":
				sides[c] = side
			default:
				sides[c] = "any"
			}
			visit(c, sides[c], depth+1)
		}
	}
	for name := range t.subs {
		switch {
		case strings.HasPrefix(name, "vcl_backend_"):
			visit(name, "backend", 0)
		case strings.HasPrefix(name, "vcl_"):
			visit(name, "client", 0)
		}
	}
	return sides
}

// walkCalls calls fn with the sub of every call statement in ss.
func walkCalls(ss []Stmt, fn func(string)) {
	for _, s := range ss {
		switch x := s.(type) {
		case *WordStmt:
			if x.Word == "call" {
				fn(x.Arg)
			}
		case *IfStmt:
			walkCalls(x.Then, fn)
			walkCalls(x.Else, fn)
		}
	}
}

// walkStmts calls fn for every expression in ss, outermost first.
func walkStmts(ss []Stmt, fn func(Expr)) {
	for _, s := range ss {
		switch x := s.(type) {
		case *IfStmt:
			walkExpr(x.Cond, fn)
			walkStmts(x.Then, fn)
			walkStmts(x.Else, fn)
		case *SetStmt:
			walkExpr(x.Value, fn)
		case *NewStmt:
			walkExpr(x.Value, fn)
		case *ReturnStmt:
			walkExpr(x.Action, fn)
		case *ExprStmt:
			walkExpr(x.X, fn)
		}
	}
}

func walkExpr(e Expr, fn func(Expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch x := e.(type) {
	case *Call:
		for _, a := range x.Args {
			walkExpr(a.Value, fn)
		}
	case *Binary:
		walkExpr(x.L, fn)
		walkExpr(x.R, fn)
	case *Unary:
		walkExpr(x.X, fn)
	}
}

// durationOf converts a VCL duration (10s, 1.5m, 500ms, 2h, 1d, 1w, 1y)
// to a shellac duration string.
func durationOf(e Expr) (string, bool) {
	n, ok := e.(*Number)
	if !ok {
		return "", false
	}
	s := n.Text
	i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	if i <= 0 {
		return "", false
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || v < 0 {
		return "", false
	}
	units := map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
	}
	u, ok := units[s[i:]]
	if !ok || v*float64(u) > math.MaxInt64/2 {
		return "", false
	}
	return config.Duration{Duration: time.Duration(math.Round(v * float64(u)))}.String(), true
}

func intOf(e Expr) (int, bool) {
	neg := false
	if u, ok := e.(*Unary); ok && u.Op == "-" {
		neg, e = true, u.X
	}
	n, ok := e.(*Number)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n.Text)
	if err != nil || v > 1<<30 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func floatOf(e Expr) (float64, bool) {
	neg := false
	if u, ok := e.(*Unary); ok && u.Op == "-" {
		neg, e = true, u.X
	}
	n, ok := e.(*Number)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Text, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// stringOf returns a string literal's value, or a number's text (VCL
// accepts .port = 8080 in some versions).
func stringOf(e Expr) (string, bool) {
	switch x := e.(type) {
	case *String:
		return x.Value(), true
	case *Number:
		return x.Text, true
	}
	return "", false
}

// probe translates a probe declaration (or an inline .probe = { … }).
func (t *translator) probe(name string, at Pos, fields []*Field, what string) {
	tb := &table{header: "[probes." + quoteKey(name) + "]", comment: fmt.Sprintf("%s:%d: %s", t.f.Name, at.Line, what)}
	for _, f := range fields {
		bad := func(why string) { t.note(f.Pos.Line, t.src(f.Pos), why) }
		switch f.Name {
		case "url":
			if s, ok := stringOf(f.Value); ok {
				tb.set("url", quoteString(s), "")
			} else {
				bad("not a string")
			}
		case "request":
			s, ok := f.Value.(*String)
			if !ok {
				bad("not a list of strings")
				continue
			}
			var lines []string
			for _, p := range s.Parts {
				for _, l := range strings.Split(strings.ReplaceAll(p, "\r\n", "\n"), "\n") {
					if l = strings.TrimRight(l, "\r"); l != "" {
						lines = append(lines, l)
					}
				}
			}
			tb.set("request", quoteStrings(lines), "")
		case "expected_response":
			if v, ok := intOf(f.Value); ok {
				tb.set("expected_status", strconv.Itoa(v), ".expected_response")
			} else {
				bad("not a status code")
			}
		case "timeout", "interval":
			if d, ok := durationOf(f.Value); ok {
				tb.set(f.Name, quoteString(d), "")
			} else {
				bad("not a duration")
			}
		case "window", "threshold", "initial":
			if v, ok := intOf(f.Value); ok {
				tb.set(f.Name, strconv.Itoa(v), "")
			} else {
				bad("not a number")
			}
		default:
			bad("probe field ." + f.Name + ": no shellac equivalent")
		}
	}
	t.probes = append(t.probes, tb)
}

// backendFields maps VCL backend fields with a plain shellac equivalent.
var backendFields = map[string]string{
	"connect_timeout": "connect_timeout", "first_byte_timeout": "first_byte_timeout",
	"between_bytes_timeout": "between_bytes_timeout",
}

func (t *translator) backend(d *Decl) {
	tb := &table{header: "[backends." + quoteKey(d.Name) + "]", comment: fmt.Sprintf("%s:%d: backend %s", t.f.Name, d.Pos.Line, d.Name)}
	var host, port, path string
	hostAt := d.Pos
	for _, f := range d.Fields {
		bad := func(why string) { t.note(f.Pos.Line, t.src(f.Pos), why) }
		switch f.Name {
		case "host":
			if s, ok := stringOf(f.Value); ok {
				host, hostAt = s, f.Pos
			} else {
				bad("not a string")
			}
		case "port":
			if s, ok := stringOf(f.Value); ok {
				port = s
			} else {
				bad("not a string")
			}
		case "path":
			if s, ok := stringOf(f.Value); ok {
				path = s
			} else {
				bad("not a string")
			}
		case "connect_timeout", "first_byte_timeout", "between_bytes_timeout":
			if v, ok := durationOf(f.Value); ok {
				tb.set(backendFields[f.Name], quoteString(v), "")
			} else {
				bad("not a duration")
			}
		case "max_connections":
			if v, ok := intOf(f.Value); ok && v >= 0 {
				tb.set("max_connections", strconv.Itoa(v), "")
			} else {
				bad("not a number")
			}
		case "host_header":
			if s, ok := stringOf(f.Value); ok {
				tb.set("host_header", quoteString(s), "")
			} else {
				bad("not a string")
			}
		case "proxy_header":
			if v, ok := intOf(f.Value); ok && (v == 1 || v == 2) {
				tb.set("proxy_header", strconv.Itoa(v), "")
			} else {
				bad("not 1 or 2")
			}
		case "probe":
			switch {
			case f.Block != nil:
				pn := d.Name + "_probe"
				for t.names[pn] {
					pn += "_"
				}
				t.names[pn] = true
				t.probe(pn, f.Pos, f.Block, "inline probe of backend "+d.Name)
				tb.set("probe", quoteString(pn), "inline .probe")
			default:
				if id, ok := f.Value.(*Ident); ok {
					tb.set("probe", quoteString(id.Name), "")
				} else {
					bad("not a probe name")
				}
			}
		case "ssl", "ssl_sni", "ssl_verify_peer", "ssl_verify_host", "certificate":
			bad("TLS to backends: not supported by shellac")
		default:
			bad("backend field ." + f.Name + ": no shellac equivalent")
		}
	}
	switch {
	case path != "":
		tb.kvs = append([]kv{{"address", quoteString("unix:" + path), ".path"}}, tb.kvs...)
		if host != "" {
			t.note(hostAt.Line, t.src(hostAt), ".host with .path: the socket path is used")
		}
	default:
		if port == "" {
			port = "80"
		}
		switch port {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
		h := host
		if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
			h = "[" + h + "]"
		}
		tb.kvs = append([]kv{{"address", quoteString(h + ":" + port), ".host, .port"}}, tb.kvs...)
	}
	t.backends = append(t.backends, tb)
}

// vclInit reads the director objects of vcl_init.
func (t *translator) vclInit(body []Stmt) {
	for _, s := range body {
		switch x := s.(type) {
		case *NewStmt:
			t.newObject(x)
		case *ExprStmt:
			c, ok := x.X.(*Call)
			if !ok {
				t.noteStmt(s, "vcl_init")
				continue
			}
			obj, method, _ := strings.Cut(c.Fn, ".")
			d := t.dirs[obj]
			if d == nil || !t.method(d, method, c) {
				t.noteStmt(s, "vcl_init")
			}
		default:
			t.noteStmt(s, "vcl_init")
		}
	}
}

func (t *translator) newObject(s *NewStmt) {
	c, ok := s.Value.(*Call)
	if !ok {
		t.noteStmt(s, "vcl_init")
		return
	}
	if t.names[s.Name] || t.dirs[s.Name] != nil {
		t.note(s.Pos.Line, t.src(s.Pos), "the name "+s.Name+" is taken (shellac's backends, probes and directors need distinct names)")
		return
	}
	d := &director{name: s.Name, line: s.Pos.Line, saintThresh: -1}
	switch c.Fn {
	case "directors.round_robin", "directors.random", "directors.hash", "directors.shard", "directors.shard_param":
		d.kind = strings.TrimPrefix(c.Fn, "directors.")
	case "directors.fallback":
		d.kind = "fallback"
		if v := c.arg("sticky", 0); v != nil {
			id, ok := v.(*Ident)
			switch {
			case ok && id.Name == "true":
				d.sticky = true
			case ok && id.Name == "false":
			default:
				t.note(s.Pos.Line, t.src(s.Pos), "sticky is not true or false")
			}
		}
	case "saintmode.saintmode":
		d.kind = "saintmode"
		b := c.arg("backend", 0)
		m, why := t.memberOf(b)
		if why != "" {
			t.note(s.Pos.Line, t.src(s.Pos), why)
			return
		}
		d.saintMember = m
		if v := c.arg("threshold", 1); v != nil {
			n, ok := intOf(v)
			if !ok || n < 0 {
				t.note(s.Pos.Line, t.src(s.Pos), "the threshold is not a number")
			} else {
				d.saintThresh, d.hasThreshold = n, true
			}
		}
	default:
		t.note(s.Pos.Line, t.src(s.Pos), "object "+c.Fn+": no shellac equivalent")
		return
	}
	t.dirs[s.Name] = d
	t.dirOrder = append(t.dirOrder, s.Name)
}

// memberOf returns the shellac name of a director member argument: a
// backend name or D.backend() of a director object.
func (t *translator) memberOf(e Expr) (string, string) {
	switch x := e.(type) {
	case *Ident:
		if t.dirs[x.Name] != nil {
			return "", x.Name + " is a director object: write " + x.Name + ".backend()"
		}
		if !t.names[x.Name] {
			return "", "unknown backend " + x.Name
		}
		return x.Name, ""
	case *Call:
		obj, method, _ := strings.Cut(x.Fn, ".")
		if method == "backend" && t.dirs[obj] != nil {
			t.backendCall(x, "lazy")
			if n := t.callDir[x.Pos]; n != "" {
				return n, ""
			}
			return "", t.callWhy[x.Pos]
		}
	}
	return "", "not a backend or a director's .backend()"
}

// method applies a vcl_init method call to a director; false means it
// was not translated (and is noted by the caller), true that it was
// handled (notes for parts of it made here).
func (t *translator) method(d *director, method string, c *Call) bool {
	at := c.Pos
	switch {
	case method == "add_backend" && d.kind != "saintmode" && d.kind != "shard_param":
		name, why := t.memberOf(c.arg("backend", 0))
		if why != "" {
			t.note(at.Line, t.src(at), why)
			return true
		}
		m := member{name: name, line: at.Line}
		// add_backend(backend, weight) for random and hash;
		// add_backend(backend, ident, rampup, weight) for shard.
		wi := 1
		if d.kind == "shard" {
			wi = 3
		}
		if w := c.arg("weight", wi); w != nil {
			v, ok := floatOf(w)
			switch {
			case !ok || v <= 0:
				t.note(at.Line, t.src(at), "the weight is not a positive number")
			case d.kind == "random" || d.kind == "hash" || d.kind == "shard":
				m.weight = v // a shard weight scales the member's replicas, as in Varnish
			default:
				t.note(at.Line, t.src(at), d.kind+" directors take no weights")
			}
		}
		if d.kind == "shard" {
			if v := c.arg("ident", 1); v != nil {
				if s, ok := stringOf(v); ok && s != "" {
					m.ident = s
				} else if !ok {
					t.note(at.Line, t.src(at), "the ident is not a string")
				}
			}
			if v := c.arg("rampup", 2); v != nil {
				t.note(at.Line, t.src(at), "per-member rampup: shellac's shard director has one rampup for all members (set_rampup)")
			}
		}
		for i, old := range d.members {
			if old.name == m.name {
				// Varnish adds it twice; shellac lists a member once.
				t.note(at.Line, t.src(at), m.name+" is already a member (line "+strconv.Itoa(old.line)+"): listed once")
				d.members[i] = m
				return true
			}
		}
		d.members = append(d.members, m)
		return true
	case method == "remove_backend":
		name, why := t.memberOf(c.arg("backend", 0))
		if why != "" {
			t.note(at.Line, t.src(at), why)
			return true
		}
		d.members = slices.DeleteFunc(d.members, func(m member) bool { return m.name == name })
		return true
	case method == "clear":
		d.members = nil
		return true
	case d.kind == "shard" && method == "reconfigure":
		if v := c.arg("replicas", 0); v != nil {
			n, ok := intOf(v)
			if !ok || n < 1 {
				t.note(at.Line, t.src(at), "replicas is not a positive number")
				return true
			}
			d.replicas, d.replicasLine = n, at.Line
		}
		return true
	case d.kind == "shard" && method == "set_warmup":
		v, ok := floatOf(c.arg("probability", 0))
		if !ok {
			t.note(at.Line, t.src(at), "the warmup is not a number")
			return true
		}
		d.warmup = formatFloat(v)
		return true
	case d.kind == "shard" && method == "set_rampup":
		v, ok := durationOf(c.arg("duration", 0))
		if !ok {
			t.note(at.Line, t.src(at), "the rampup is not a duration")
			return true
		}
		d.rampup = v
		return true
	case d.kind == "shard" && method == "associate":
		pc, ok := c.arg("param", 0).(*Call)
		if !ok {
			t.note(at.Line, t.src(at), "not P.use() of a shard_param object")
			return true
		}
		obj, m, _ := strings.Cut(pc.Fn, ".")
		p := t.dirs[obj]
		if m != "use" || p == nil || p.kind != "shard_param" {
			t.note(at.Line, t.src(at), "not P.use() of a shard_param object")
			return true
		}
		d.base = p.base
		return true
	case d.kind == "shard_param" && method == "set":
		p, why := t.params(c, d.base, "lazy")
		if why != "" {
			t.note(at.Line, t.src(at), why)
			return true
		}
		d.base = p
		return true
	case d.kind == "shard_param" && method == "clear":
		d.base = shardParams{}
		return true
	}
	return false
}

// params reads the parameters of shard.backend(), shard_param.set() or
// hash.backend() on top of base; ctx is client, backend, lazy or any.
func (t *translator) params(c *Call, base shardParams, ctx string) (shardParams, string) {
	p := base
	for _, a := range c.Args {
		switch a.Name {
		case "by":
			id, ok := a.Value.(*Ident)
			if !ok {
				return p, "by= is not HASH, URL, KEY or BLOB"
			}
			switch id.Name {
			case "HASH":
				p.by = ""
			case "URL":
				p.by = "url"
			case "KEY":
				p.by = "key"
			case "BLOB":
				return p, "by=BLOB: shellac's key sources are url, host, client_ip, header:, cookie:, query:"
			default:
				return p, "by= is not HASH, URL, KEY or BLOB"
			}
		case "key":
			k, why := keyOf(a.Value)
			if why != "" {
				return p, why
			}
			p.key = k
		case "alt":
			n, ok := intOf(a.Value)
			if !ok || n < 0 {
				return p, "alt= is not a constant: shellac's alt is fixed per director (a retry goes to another backend by itself)"
			}
			p.alt = n
		case "healthy":
			id, ok := a.Value.(*Ident)
			if !ok || (id.Name != "CHOSEN" && id.Name != "IGNORE" && id.Name != "ALL") {
				return p, "healthy= is not CHOSEN, IGNORE or ALL"
			}
			p.healthy = strings.ToLower(id.Name)
		case "warmup":
			v, ok := floatOf(a.Value)
			if !ok {
				return p, "warmup= is not a number"
			}
			p.warmup = formatFloat(v)
		case "rampup":
			id, ok := a.Value.(*Ident)
			switch {
			case ok && id.Name == "false":
				p.rampup = "0s"
			case ok && id.Name == "true":
				p.rampup = ""
			default:
				return p, "rampup= is not true or false"
			}
		case "resolve":
			// NOW or LAZY: shellac resolves when the request is sent.
		case "param":
			pc, ok := a.Value.(*Call)
			obj, m, _ := strings.Cut(fnOf(pc), ".")
			if !ok || m != "use" || t.dirs[obj] == nil || t.dirs[obj].kind != "shard_param" {
				return p, "param= is not P.use() of a shard_param object"
			}
			p = t.dirs[obj].base
		default:
			return p, "the parameter " + a.Name + "=: no shellac equivalent"
		}
	}
	return p, ""
}

func fnOf(c *Call) string {
	if c == nil {
		return ""
	}
	return c.Fn
}

// keyOf translates a shard key= argument: S.key(STRING) or
// std.integer(req.http.NAME, N).
func keyOf(e Expr) (string, string) {
	c, ok := e.(*Call)
	if !ok {
		return "", "key= is not S.key(…) or std.integer(req.http.NAME, …): shellac takes its keys from the request"
	}
	if c.Fn == "std.integer" {
		if id, ok := c.arg("s", 0).(*Ident); ok {
			if h, ok := headerOf(id.Name); ok && !strings.EqualFold(h, "host") {
				return "int:header:" + h, ""
			}
		}
		return "", "std.integer() of something other than a request header: shellac's int: key source takes a header"
	}
	if strings.HasSuffix(c.Fn, ".key") {
		var srcs []string
		for _, a := range c.Args {
			s, why := stringSources(a.Value)
			if why != "" {
				return "", why
			}
			srcs = append(srcs, s...)
		}
		if len(srcs) == 0 {
			return "", "an empty key"
		}
		return strings.Join(srcs, "\n"), ""
	}
	return "", "key= is not S.key(…) or std.integer(req.http.NAME, …): shellac takes its keys from the request"
}

// headerOf returns NAME for req.http.NAME or bereq.http.NAME.
func headerOf(id string) (string, bool) {
	for _, p := range []string{"req.http.", "bereq.http."} {
		if h, ok := strings.CutPrefix(id, p); ok && h != "" {
			return h, true
		}
	}
	return "", false
}

// stringSources translates a string expression hashed for a key into
// shellac key sources (concatenated as Varnish concatenates the string).
func stringSources(e Expr) ([]string, string) {
	switch x := e.(type) {
	case *Binary:
		if x.Op != "+" {
			break
		}
		l, why := stringSources(x.L)
		if why != "" {
			return nil, why
		}
		r, why := stringSources(x.R)
		if why != "" {
			return nil, why
		}
		return append(l, r...), ""
	case *Ident:
		switch x.Name {
		case "req.url", "bereq.url":
			return []string{"url"}, ""
		case "client.ip":
			return []string{"client_ip"}, ""
		}
		if h, ok := headerOf(x.Name); ok {
			if strings.EqualFold(h, "host") {
				return []string{"host"}, ""
			}
			return []string{"header:" + h}, ""
		}
	case *Call:
		if x.Fn == "cookie.get" {
			if s, ok := stringOf(x.arg("name", 0)); ok {
				return []string{"cookie:" + s}, ""
			}
		}
	}
	return nil, exprString(e) + " in a key: shellac's key sources are url, host, client_ip, header:NAME, cookie:NAME, query:NAME"
}

// backendCall records a D.backend(…) call on a director object,
// deciding which shellac director (variant of D) it is. ctx is client,
// backend, lazy (an argument in vcl_init) or any.
func (t *translator) backendCall(c *Call, ctx string) {
	obj, method, _ := strings.Cut(c.Fn, ".")
	d := t.dirs[obj]
	if method != "backend" || d == nil || d.kind == "shard_param" {
		return
	}
	if _, done := t.callDir[c.Pos]; done {
		return
	}
	if _, done := t.callWhy[c.Pos]; done {
		return
	}
	var p shardParams
	why := ""
	switch d.kind {
	case "shard":
		p, why = t.params(c, d.base, ctx)
		if why == "" && p.by == "" {
			// by=HASH: on the client side Varnish hashes the URL; on the
			// backend side (and resolved lazily) the object hash.
			switch ctx {
			case "client":
				p.by = "url"
			default:
				p.by = "hash"
			}
		}
		if why == "" && p.by == "key" && p.key == "" {
			why = "by=KEY without key=: the key would be 0"
		}
		if why == "" && p.by != "key" {
			p.key = ""
		}
	case "hash":
		a := c.arg("string", 0)
		if a == nil {
			why = "hash.backend() without a string"
			break
		}
		srcs, w := stringSources(a)
		if w != "" {
			why = w
			break
		}
		p.key = strings.Join(srcs, "\n")
	default:
		if len(c.Args) > 0 {
			why = d.kind + ".backend() takes no arguments"
		}
	}
	if why != "" {
		t.callWhy[c.Pos] = why
		t.note(c.Pos.Line, exprString(c), why)
		return
	}
	name := d.name
	if d.kind == "shard" || d.kind == "hash" {
		var v *variant
		for _, x := range d.variants {
			if x.p == p {
				v = x
			}
		}
		if v == nil {
			v = &variant{name: d.name, p: p, line: c.Pos.Line, call: exprString(c)}
			if n := len(d.variants); n > 0 {
				v.name = fmt.Sprintf("%s_%d", d.name, n+1)
				for t.names[v.name] || t.dirs[v.name] != nil {
					v.name += "_"
				}
			}
			t.names[v.name] = true
			d.variants = append(d.variants, v)
		}
		name = v.name
	}
	t.callDir[c.Pos] = name
	t.calls = append(t.calls, BackendCall{Line: c.Pos.Line, Object: d.name, Director: name})
}
