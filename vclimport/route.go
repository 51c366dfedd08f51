package vclimport

import (
	"fmt"
	"strings"
)

// match is one host and path prefix a route matches ("" = any).
type match struct{ host, prefix string }

// vroute is a [[routes]] entry being built.
type vroute struct {
	m        match
	director string
	pipe     bool
	line     int
	cond     string
}

// routing translates the backend choice of vcl_recv (hint
// req.backend_hint) or vcl_backend_fetch (bereq.backend) into routes.
//
// VCL runs the statements in order and the last set wins; shellac's
// routes are tried in order and the first match wins. So the statements
// are read from the last to the first: the routes of a later statement
// come first. An unconditional set (or an else branch) ends the reading:
// what comes before it can no longer decide.
func (t *translator) routing(sub string, body []Stmt, hint, side string) {
	var routes []vroute
	deadAt := 0 // the line that overrides the statements before it
	catchAll := ""
	catchLine := 0
	for i := len(body) - 1; i >= 0; i-- {
		s := body[i]
		if deadAt > 0 {
			if setsHint(s, hint) {
				t.note(s.stmtPos().Line, t.src(s.stmtPos()), fmt.Sprintf("overridden by the choice of backend at line %d", deadAt))
			} else {
				t.noteStmt(s, sub)
			}
			continue
		}
		switch x := s.(type) {
		case *SetStmt:
			if x.Target == hint && x.Op == "=" {
				name, why := t.targetOf(x.Value, sub)
				if why != "" {
					t.note(x.Pos.Line, t.src(x.Pos), why)
					continue
				}
				catchAll, catchLine, deadAt = name, x.Pos.Line, x.Pos.Line
				continue
			}
		case *IfStmt:
			if setsHint(x, hint) {
				rs, all, allLine := t.ifRoutes(x, sub, hint, side)
				routes = append(routes, rs...)
				if all != "" {
					catchAll, catchLine, deadAt = all, allLine, allLine
				}
				continue
			}
		}
		t.noteStmt(s, sub)
	}
	// The routes were gathered last statement first; within a statement
	// they are in order already.
	if sub == "vcl_backend_fetch" {
		// The backend side runs after vcl_recv: its choices come first.
		t.routes = append(t.routeTables(routes), t.routes...)
	} else {
		t.routes = append(t.routes, t.routeTables(routes)...)
	}
	if catchAll != "" && (t.defaultDir == "" || sub == "vcl_backend_fetch") {
		if t.defaultDir != "" && sub == "vcl_backend_fetch" {
			t.note(catchLine, t.src(Pos{Line: catchLine}), "overrides every choice of vcl_recv in Varnish; here it is the default_director, behind the routes")
		}
		t.defaultDir = catchAll
		t.defaultCmt = fmt.Sprintf("%s:%d: %s", t.f.Name, catchLine, t.src(Pos{Line: catchLine}))
	}
}

func (t *translator) routeTables(rs []vroute) []*table {
	var out []*table
	for _, r := range rs {
		tb := &table{header: "[[routes]]", comment: fmt.Sprintf("%s:%d: if (%s)", t.f.Name, r.line, r.cond)}
		if r.m.host != "" {
			tb.set("host", quoteString(r.m.host), "")
		}
		if r.m.prefix != "" {
			tb.set("path_prefix", quoteString(r.m.prefix), "")
		}
		tb.set("director", quoteString(r.director), "")
		if r.pipe {
			tb.set("pipe", "true", "return (pipe)")
		}
		out = append(out, tb)
	}
	return out
}

// setsHint reports whether s sets the hint anywhere inside.
func setsHint(s Stmt, hint string) bool {
	switch x := s.(type) {
	case *SetStmt:
		return x.Target == hint
	case *IfStmt:
		for _, b := range [][]Stmt{x.Then, x.Else} {
			for _, s := range b {
				if setsHint(s, hint) {
					return true
				}
			}
		}
	}
	return false
}

// targetOf returns the shellac name of a backend expression: a backend
// or D.backend(…).
func (t *translator) targetOf(e Expr, sub string) (string, string) {
	switch x := e.(type) {
	case *Ident:
		if t.names[x.Name] && t.dirs[x.Name] == nil {
			return x.Name, ""
		}
		return "", "unknown backend " + x.Name
	case *Call:
		obj, method, _ := strings.Cut(x.Fn, ".")
		if method == "backend" && t.dirs[obj] != nil {
			t.backendCall(x, t.contextOf(sub))
			if n := t.callDir[x.Pos]; n != "" {
				return n, ""
			}
			return "", t.callWhy[x.Pos]
		}
	}
	return "", "the backend is not a backend name or a director's .backend()"
}

// ifRoutes translates an if/elsif/else chain whose branches set the
// hint. It returns the routes in order, and the director of an else
// branch that sets the hint (a catch-all) with its line.
func (t *translator) ifRoutes(s *IfStmt, sub, hint, side string) ([]vroute, string, int) {
	var routes []vroute
	exact := true // false once a branch could not be expressed
	for branch := s; branch != nil; {
		target, pipe, line := t.branchTarget(branch.Then, sub, hint)
		cond := exprString(branch.Cond)
		switch {
		case target == "":
			if exact && hasLaterHint(branch, hint) {
				t.note(branch.Pos.Line, t.src(branch.Pos), "this branch chooses no backend, but in Varnish it keeps the requests it matches from the later branches; shellac's routes cannot exclude them")
			}
		default:
			ms, why := t.matchesOf(branch.Cond, side)
			if why != "" {
				t.note(branch.Pos.Line, t.src(branch.Pos), why+"; the backend choice at line "+fmt.Sprint(line)+" is not translated")
				exact = false
				break
			}
			for _, m := range ms {
				routes = append(routes, vroute{m: m, director: target, pipe: pipe, line: branch.Pos.Line, cond: cond})
			}
		}
		if branch.elseIf {
			branch = branch.Else[0].(*IfStmt)
			continue
		}
		if len(branch.Else) > 0 {
			target, _, line := t.branchTarget(branch.Else, sub, hint)
			if target != "" {
				return routes, target, line
			}
		}
		branch = nil
	}
	return routes, "", 0
}

// hasLaterHint reports whether a later branch of the chain sets hint.
func hasLaterHint(b *IfStmt, hint string) bool {
	for _, s := range b.Else {
		if setsHint(s, hint) {
			return true
		}
	}
	return false
}

// branchTarget reads a branch body: the last top-level set of the hint
// is its target; return (pipe) pipes; everything else is noted.
func (t *translator) branchTarget(body []Stmt, sub, hint string) (target string, pipe bool, line int) {
	for _, s := range body {
		switch x := s.(type) {
		case *SetStmt:
			if x.Target == hint && x.Op == "=" {
				name, why := t.targetOf(x.Value, sub)
				if why != "" {
					t.note(x.Pos.Line, t.src(x.Pos), why)
					continue
				}
				target, line = name, x.Pos.Line
				continue
			}
		case *ReturnStmt:
			if id, ok := x.Action.(*Ident); ok && id.Name == "pipe" {
				pipe = true
				continue
			}
			if id, ok := x.Action.(*Ident); ok && (id.Name == "pass" || id.Name == "hash" || id.Name == "lookup" || id.Name == "fetch") {
				continue // shellac passes every request to the backend chosen
			}
		case *IfStmt:
			if setsHint(x, hint) {
				t.note(x.Pos.Line, t.src(x.Pos), "a nested choice of backend: only one level of if is translated into routes")
				continue
			}
		}
		t.noteStmt(s, sub)
	}
	return target, pipe, line
}

// matchesOf translates a routing condition into the hosts and path
// prefixes it matches (alternatives), or returns why it cannot.
func (t *translator) matchesOf(e Expr, side string) ([]match, string) {
	const only = "shellac routes match the Host header and a path prefix only"
	b, ok := e.(*Binary)
	if !ok {
		return nil, "the condition " + exprString(e) + ": " + only
	}
	switch b.Op {
	case "||":
		l, why := t.matchesOf(b.L, side)
		if why != "" {
			return nil, why
		}
		r, why := t.matchesOf(b.R, side)
		if why != "" {
			return nil, why
		}
		out := append(l, r...)
		if len(out) > maxAlternatives {
			return nil, "too many alternatives"
		}
		return out, ""
	case "&&":
		l, why := t.matchesOf(b.L, side)
		if why != "" {
			return nil, why
		}
		r, why := t.matchesOf(b.R, side)
		if why != "" {
			return nil, why
		}
		var out []match
		for _, x := range l {
			for _, y := range r {
				if m, ok := both(x, y); ok {
					out = append(out, m)
				}
			}
		}
		if len(out) == 0 || len(out) > maxAlternatives {
			return nil, "the condition " + exprString(e) + " cannot be written as routes"
		}
		return out, ""
	case "==", "~":
	default:
		return nil, "the condition " + exprString(e) + ": " + only
	}
	id, ok := b.L.(*Ident)
	lit, ok2 := b.R.(*String)
	if !ok || !ok2 {
		id, ok = b.R.(*Ident)
		lit, ok2 = b.L.(*String)
		if !ok || !ok2 || b.Op == "~" {
			return nil, "the condition " + exprString(e) + ": " + only
		}
	}
	name := strings.ToLower(id.Name)
	v := lit.Value()
	switch {
	case name == side+"http.host":
		if b.Op == "==" {
			h := strings.ToLower(v)
			if !validHost(h) {
				return nil, `"` + v + `" is not a host name`
			}
			return []match{{host: h}}, ""
		}
		hosts, why := hostPatterns(v)
		if why != "" {
			return nil, "req.http.host ~ " + `"` + v + `": ` + why
		}
		var out []match
		for _, h := range hosts {
			out = append(out, match{host: h})
		}
		return out, ""
	case name == side+"url":
		if b.Op == "==" {
			return nil, "an exact URL (" + exprString(e) + "): shellac routes match a path prefix"
		}
		ps, why := pathPrefixes(v)
		if why != "" {
			return nil, "req.url ~ " + `"` + v + `": ` + why
		}
		var out []match
		for _, p := range ps {
			out = append(out, match{prefix: p})
		}
		return out, ""
	}
	return nil, "the condition " + exprString(e) + ": " + only
}

// both returns the match of requests matching x and y.
func both(x, y match) (match, bool) {
	m := x
	switch {
	case y.host == "" || y.host == x.host:
	case x.host == "":
		m.host = y.host
	default:
		return m, false
	}
	switch {
	case strings.HasPrefix(y.prefix, x.prefix):
		m.prefix = y.prefix
	case strings.HasPrefix(x.prefix, y.prefix):
		m.prefix = x.prefix
	default:
		return m, false
	}
	return m, true
}
