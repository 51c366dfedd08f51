package vclimport

import (
	"errors"
	"strings"
	"testing"
)

func TestLex(t *testing.T) {
	for _, c := range []struct {
		src  string
		want string // kinds and texts, space separated
	}{
		{`backend b1 { .host = "h"; }`, `backend b1 { .host = "h" ; }`},
		{`set req.http.X-Key = {"a"b"} + """c""";`, `set req.http.X-Key = "a"b" + "c" ;`},
		{`1s 500ms 1.5 10`, `1s 500ms 1.5 10`},
		{"a // c\nb # d\nc /* e\n */ d", `a b c d`},
		{`"^/api\.v1"`, `"^/api\.v1"`},
		{`a==b!~c&&d||!e`, `a == b !~ c && d || ! e`},
		{`C{ int x; }C x`, `C{ int x; }C x`},
		{`req.http.Cache-Control:max-age`, `req.http.Cache-Control:max-age`},
	} {
		toks, err := lex(c.src)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		var got []string
		for _, tk := range toks[:len(toks)-1] {
			if tk.kind == tString {
				got = append(got, `"`+tk.text+`"`)
			} else {
				got = append(got, tk.text)
			}
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%q: %s; want %s", c.src, s, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`vcl 4.1`, "x.vcl:1:8: expected \";\""},
		{"vcl 4.1;\nbackend { }", "x.vcl:2:9: expected a name of the backend"},
		{"backend b {\n  .host = \"a;\n}", "x.vcl:2:11: unterminated string"},
		{"backend b { host = \"a\"; }", "x.vcl:1:13: expected .field = value;"},
		{"backend b { .host \"a\"; }", "x.vcl:1:19: expected \"=\" after .host"},
		{"sub vcl_recv {\n  if (x) {\n", "x.vcl:1:14: unclosed {"},
		{"/* never closed", "x.vcl:1:1: unterminated /* comment"},
		{"probe p { .url = {\"/x }", "x.vcl:1:18: unterminated long string"},
		{"backend b { .port = 80 }", "x.vcl:1:24: expected \";\" after .port"},
		{"include foo;", "x.vcl:1:9: expected a file name string"},
		{"vcl 4.1; @", "x.vcl:1:10: unexpected character '@'"},
		{"sub x { } }", "x.vcl:1:11: expected a declaration"},
		{"probe p { .timeout = 1s;\n .timeout = 2s; }", "x.vcl:2:2: .timeout is set twice in probe p (first at 1:11)"},
		{"backend b { .host = \"a\"; }\nbackend b { .host = \"b\"; }", "x.vcl:2:1: backend b is declared twice (first at 1:1)"},
		{"sub vcl_recv {\n  set req.backend_hint = ;\n}", "x.vcl:2:26: expected an expression"},
		{"sub vcl_init {\n  new = directors.hash();\n}", "x.vcl:2:7: expected a name of the new object"},
	} {
		_, err := Import("x.vcl", []byte(c.src))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %v; want a *SyntaxError", c.src, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v; want %s…", c.src, err, c.want)
		}
	}
}

func TestParseStatements(t *testing.T) {
	src := `sub vcl_recv {
	if (req.http.host == "a" && req.url ~ "^/x") {
		set req.backend_hint = d.backend(by=KEY, key=d.key(req.http.X + req.url), alt=1);
	} elsif (!req.http.y) {
		unset req.http.z;
	} else if (a) {
		call other;
	} else {
		return (synth(403, "no"));
	}
	std.log("x");
	{ set x = 1; }
	return;
}`
	f, err := Parse("x.vcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := f.Decls[0]
	if d.BodyErr != nil || len(d.Body) != 4 {
		t.Fatalf("body %d statements, err %v", len(d.Body), d.BodyErr)
	}
	ifs := d.Body[0].(*IfStmt)
	if got := exprString(ifs.Cond); got != `req.http.host == "a" && req.url ~ "^/x"` {
		t.Errorf("condition %s", got)
	}
	set := ifs.Then[0].(*SetStmt)
	if got := exprString(set.Value); got != "d.backend(by=KEY, key=d.key(req.http.X + req.url), alt=1)" || set.Pos != (Pos{3, 3}) {
		t.Errorf("set %s at %v", got, set.Pos)
	}
	e1 := ifs.Else[0].(*IfStmt)
	e2 := e1.Else[0].(*IfStmt)
	if w := e1.Then[0].(*WordStmt); w.Word != "unset" || w.Arg != "req.http.z" || len(e2.Else) != 1 {
		t.Errorf("elsif chain: %+v %+v", e1, e2)
	}
	if _, ok := d.Body[3].(*ReturnStmt); !ok {
		t.Errorf("last: %T", d.Body[3])
	}
}

// TestParseSubErrorIsNoted: a sub the parser cannot follow is listed,
// not refused.
func TestParseSubErrorIsNoted(t *testing.T) {
	r, err := Import("x.vcl", []byte("backend a { .host = \"127.0.0.1\"; }\nsub vcl_deliver {\n  set = 1;\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Notes) != 1 || r.Notes[0].Line != 2 || !strings.Contains(r.Notes[0].Why, "3:7") {
		t.Errorf("notes %v", r.Notes)
	}
}

func TestRegexTranslation(t *testing.T) {
	for re, want := range map[string]string{
		`^example\.com$`:               "example.com",
		`^example.com$`:                "example.com",
		`(?i)^(www\.)?example\.com$`:   "www.example.com example.com",
		`\.example\.com$`:              "*.example.com",
		`(^|\.)example\.com$`:          "example.com *.example.com",
		`^(a|b)\.example\.com$`:        "a.example.com b.example.com",
		`example\.com`:                 "",
		`^ex[a-z]+\.com$`:              "",
		`^example\.com`:                "",
		`^(a|b|c)(x|y)\.example\.com$`: "ax.example.com ay.example.com bx.example.com by.example.com cx.example.com cy.example.com",
	} {
		got, why := hostPatterns(re)
		if s := strings.Join(got, " "); s != want || (want == "") != (why != "") {
			t.Errorf("host %s → %q (%s); want %q", re, s, why, want)
		}
	}
	for re, want := range map[string]string{
		`^/api/`:         "/api/",
		`^/api`:          "/api",
		`^/static/.*`:    "/static/",
		`^/(img|css)/`:   "/img/ /css/",
		`^/v1\.0/`:       "/v1.0/",
		`^/api$`:         "",
		`\.php$`:         "",
		`(?i)^/api`:      "",
		`^/api/v[0-9]+/`: "",
		`^/a\d`:          "",
		`^/search\?q=`:   "",
	} {
		got, why := pathPrefixes(re)
		if s := strings.Join(got, " "); s != want || (want == "") != (why != "") {
			t.Errorf("url %s → %q (%s); want %q", re, s, why, want)
		}
	}
}
