package vclimport

import "strings"

// noteStmt lists a statement the importer does not translate, with the
// reason and shellac's nearest equivalent.
func (t *translator) noteStmt(s Stmt, sub string) {
	p := s.stmtPos()
	what := t.src(p)
	if w, ok := s.(*WordStmt); ok && w.Word == "C" {
		what = "C{ … }C"
	}
	if _, ok := s.(*IfStmt); ok && !strings.HasSuffix(what, "}") {
		what += " … }"
	}
	t.note(p.Line, what, t.whyNot(s, sub, t.text(s)))
}

// text returns the source lines of a statement (at most 50), for
// classifying it.
func (t *translator) text(s Stmt) string {
	from, to := s.stmtPos().Line, s.stmtPos().Line
	switch x := s.(type) {
	case *IfStmt:
		to = x.End.Line
	case *WordStmt:
		to = x.End.Line
	}
	to = min(to, from+50, len(t.lines))
	if from < 1 || from > to {
		return ""
	}
	return strings.Join(t.lines[from-1:to], "\n")
}

// reasons maps what a statement touches to why it has no translation,
// first match wins.
var reasons = []struct {
	needles []string
	why     string
}{
	{[]string{"saintmode.blacklist("}, `saintmode blacklisting from VCL: set blacklist = "DURATION" with retries and retry_on on the [[routes]] entry (a retried failure blacklists the object)`},
	{[]string{"return (retry)", "return(retry)", "return (restart)", "return(restart)"}, "retries: set retries and retry_on on the [[routes]] entry"},
	{[]string{"return (pipe)", "return(pipe)"}, "pipe: set pipe = true on a [[routes]] entry (Upgrade requests are always piped)"},
	{[]string{"return (pass)", "return(pass)"}, "shellac does not cache: every request is passed to a backend"},
	{[]string{"synth", "vcl_backend_error"}, `synthetic responses: a backend with type = "synthetic" answers with a fixed status, headers and body`},
	{[]string{"beresp.ttl", "beresp.grace", "beresp.keep", "beresp.uncacheable", "beresp.do_", "hash_data", "return (hash)", "return(hash)", "return (lookup)", "return(lookup)", "ban(", "purge", "obj.", "req.hash", "return (deliver)", "return(deliver)", "return (miss)", "return(miss)", "return (fetch)", "return(fetch)", "return (abandon)", "return(abandon)"}, "caching: shellac is not a cache; every request goes to a backend"},
	{[]string{"x-forwarded-for"}, "X-Forwarded-For: shellac appends the client address itself (server.x_forwarded_for)"},
	{[]string{"std.log", "std.syslog", "std.timestamp"}, "logging: shellac writes an access log ([log] access)"},
	{[]string{"client.ip ~", "client.ip !~"}, "access control: shellac has no ACLs"},
	{[]string{"set req.url", "set bereq.url"}, "URL rewriting: shellac forwards the request target unchanged"},
	{[]string{"req.http.", "resp.http.", "beresp.http.", "bereq.http."}, "header rewriting: shellac forwards headers unchanged, apart from hop-by-hop and X-Forwarded-* headers"},
	{[]string{"return (vcl", "return(vcl"}, "VCL labels: one shellac configuration serves every request"},
}

func (t *translator) whyNot(s Stmt, sub, what string) string {
	subsOf := t.subs
	text := strings.ToLower(what)
	switch x := s.(type) {
	case *WordStmt:
		switch x.Word {
		case "C":
			return "inline C: not supported"
		case "include":
			return "include: not followed; import that file on its own, or paste it into this one"
		case "call":
			if _, ok := subsOf[x.Arg]; !ok {
				return "call " + x.Arg + ": the sub is not in this file (in an include?)"
			}
			return "call " + x.Arg + ": its statements are listed where the sub is"
		}
	case *NewStmt:
		return "object: no shellac equivalent"
	}
	switch sub {
	case "vcl_synth", "vcl_backend_error":
		return `synthetic responses: a backend with type = "synthetic" answers with a fixed status, headers and body`
	}
	for _, r := range reasons {
		for _, n := range r.needles {
			if strings.Contains(text, n) {
				return r.why
			}
		}
	}
	switch sub {
	case "vcl_hash", "vcl_hit", "vcl_miss", "vcl_purge", "vcl_backend_response":
		return "caching (" + sub + "): shellac is not a cache; every request goes to a backend"
	case "vcl_deliver":
		return "response rewriting (vcl_deliver): shellac forwards responses unchanged"
	}
	return "VCL logic (" + sub + "): no shellac equivalent"
}
