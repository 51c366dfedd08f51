package vclimport

import (
	"fmt"
	"strings"
)

// maxDepth bounds the nesting of blocks and expressions, so hostile
// input cannot exhaust the stack.
const maxDepth = 200

// parser reads tokens into a File.
type parser struct {
	toks  []token
	i     int
	depth int
}

// bail carries a syntax error out of the recursive descent.
type bail struct{ err *SyntaxError }

// Parse parses VCL source. name is the file name used in errors. The
// error, when not nil, is a *SyntaxError with the line and column.
func Parse(name string, src []byte) (f *File, err error) {
	toks, lerr := lex(string(src))
	if lerr != nil {
		lerr.File = name
		return nil, lerr
	}
	p := &parser{toks: toks}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			b.err.File = name
			f, err = nil, b.err
		}
	}()
	f = &File{Name: name}
	for p.peek().kind != tEOF {
		f.Decls = append(f.Decls, p.decl())
	}
	first := map[string]*Decl{}
	for _, d := range f.Decls {
		if d.BodyErr != nil {
			d.BodyErr.File = name
		}
		if d.Kind == "backend" || d.Kind == "probe" {
			if o := first[d.Kind+" "+d.Name]; o != nil {
				return nil, &SyntaxError{File: name, Pos: d.Pos, Msg: fmt.Sprintf("%s %s is declared twice (first at %d:%d)", d.Kind, d.Name, o.Pos.Line, o.Pos.Col)}
			}
			first[d.Kind+" "+d.Name] = d
		}
	}
	return f, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) take() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) failf(at Pos, format string, args ...any) {
	panic(bail{&SyntaxError{Pos: at, Msg: fmt.Sprintf(format, args...)}})
}

// want takes the punctuation tok or fails.
func (p *parser) want(punct, context string) token {
	t := p.take()
	if !t.is(punct) {
		p.failf(t.pos, "expected %q %s, found %s", punct, context, t)
	}
	return t
}

func (p *parser) ident(context string) token {
	t := p.take()
	if t.kind != tIdent {
		p.failf(t.pos, "expected a name %s, found %s", context, t)
	}
	return t
}

func (p *parser) enter(at Pos) {
	if p.depth++; p.depth > maxDepth {
		p.failf(at, "nested too deeply")
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) decl() *Decl {
	t := p.take()
	d := &Decl{Pos: t.pos}
	if t.kind == tCBlock {
		d.Kind, d.End = "C", t.end
		return d
	}
	if t.kind != tIdent {
		p.failf(t.pos, "expected a declaration (vcl, import, include, backend, probe, sub, acl), found %s", t)
	}
	d.Kind = t.text
	switch t.text {
	case "vcl":
		n := p.take()
		if n.kind != tNumber {
			p.failf(n.pos, "expected a VCL version such as 4.1 after vcl, found %s", n)
		}
		d.Name = n.text
		d.End = p.want(";", "after the VCL version").end
	case "import":
		d.Name = p.ident("of the vmod to import").text
		if p.peek().kind == tIdent && p.peek().text == "from" {
			p.take()
			p.take()
		}
		d.End = p.want(";", "after import").end
	case "include":
		s := p.take()
		if s.kind != tString {
			p.failf(s.pos, "expected a file name string after include, found %s", s)
		}
		d.Name = s.text
		d.End = p.want(";", "after include").end
	case "backend", "probe":
		d.Name = p.ident("of the " + t.text).text
		if p.peek().kind == tIdent && p.peek().text == "none" && t.text == "backend" {
			p.failf(p.peek().pos, "backend %s none: not supported", d.Name)
		}
		d.Fields = p.fields(t.text + " " + d.Name)
		d.End = p.toks[p.i-1].end
	case "sub":
		d.Name = p.ident("of the sub").text
		open := p.want("{", "to open sub "+d.Name)
		start := p.i
		end := p.skipBlock(open)
		d.End = end.end
		// Parse the statements on their own: a sub whose logic this
		// parser cannot follow is listed as untranslated, not refused.
		sp := &parser{toks: append(append([]token{}, p.toks[start:p.i-1]...), token{kind: tEOF, pos: end.pos})}
		d.Body, d.BodyErr = sp.stmtsSafe()
	default:
		// acl NAME { … }, or a keyword this importer does not know:
		// skip to the end of its block or statement.
		if p.peek().kind == tIdent {
			d.Name = p.take().text
		}
		for {
			n := p.take()
			switch {
			case n.kind == tEOF:
				p.failf(t.pos, "%s: missing ; or { … }", t.text)
			case n.is(";"):
				d.End = n.end
				return d
			case n.is("{"):
				d.End = p.skipBlock(n).end
				return d
			}
		}
	}
	return d
}

// skipBlock skips past the } matching open (already taken) and returns
// that }.
func (p *parser) skipBlock(open token) token {
	depth := 1
	for {
		t := p.take()
		switch {
		case t.kind == tEOF:
			p.failf(open.pos, "unclosed { (no matching })")
		case t.is("{"):
			depth++
		case t.is("}"):
			if depth--; depth == 0 {
				return t
			}
		}
	}
}

// fields parses { .name = value; … } of a backend or probe.
func (p *parser) fields(context string) []*Field {
	open := p.want("{", "to open "+context)
	p.enter(open.pos)
	defer p.leave()
	var fs []*Field
	for {
		t := p.take()
		switch {
		case t.is("}"):
			return fs
		case t.kind == tEOF:
			p.failf(open.pos, "unclosed { of %s", context)
		case t.kind != tField:
			p.failf(t.pos, "expected .field = value; in %s, found %s", context, t)
		}
		f := &Field{Name: t.text[1:], Pos: t.pos}
		for _, o := range fs {
			if o.Name == f.Name {
				p.failf(t.pos, ".%s is set twice in %s (first at %d:%d)", f.Name, context, o.Pos.Line, o.Pos.Col)
			}
		}
		p.want("=", "after ."+f.Name)
		if p.peek().is("{") {
			f.Block = p.fields("." + f.Name)
			if p.peek().is(";") {
				p.take()
			}
		} else {
			f.Value = p.expr()
			p.want(";", "after ."+f.Name+" = …")
		}
		fs = append(fs, f)
	}
}

func (p *parser) stmtsSafe() (body []Stmt, err *SyntaxError) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			body, err = nil, b.err
		}
	}()
	for p.peek().kind != tEOF {
		body = append(body, p.stmt())
	}
	return body, nil
}

// block parses { stmts } (the { not yet taken).
func (p *parser) block(context string) ([]Stmt, Pos) {
	open := p.want("{", context)
	p.enter(open.pos)
	defer p.leave()
	var ss []Stmt
	for !p.peek().is("}") {
		if p.peek().kind == tEOF {
			p.failf(open.pos, "unclosed {")
		}
		ss = append(ss, p.stmt())
	}
	return ss, p.take().end
}

func (p *parser) stmt() Stmt {
	t := p.peek()
	switch {
	case t.kind == tCBlock:
		p.take()
		return &WordStmt{Pos: t.pos, Word: "C", End: t.end}
	case t.is("{"):
		_, end := p.block("")
		return &WordStmt{Pos: t.pos, Word: "{", End: end}
	case t.is(";"):
		p.take()
		return &WordStmt{Pos: t.pos, Word: ";", End: t.end}
	case t.kind != tIdent:
		p.failf(t.pos, "expected a statement, found %s", t)
	}
	switch t.text {
	case "if":
		return p.ifStmt()
	case "set":
		p.take()
		target := p.ident("to set")
		op := p.take()
		switch op.text {
		case "=", "+=", "-=", "*=", "/=":
		default:
			p.failf(op.pos, "expected = after set %s, found %s", target.text, op)
		}
		v := p.expr()
		p.want(";", "after set")
		return &SetStmt{Pos: t.pos, Target: target.text, Op: op.text, Value: v}
	case "new":
		p.take()
		name := p.ident("of the new object")
		p.want("=", "after new "+name.text)
		v := p.expr()
		p.want(";", "after new")
		return &NewStmt{Pos: t.pos, Name: name.text, Value: v}
	case "return":
		p.take()
		r := &ReturnStmt{Pos: t.pos}
		if p.peek().is("(") {
			p.take()
			if !p.peek().is(")") {
				r.Action = p.expr()
			}
			p.want(")", "after return (…")
		}
		p.want(";", "after return")
		return r
	case "include":
		p.take()
		f := p.take()
		if f.kind != tString {
			p.failf(f.pos, "expected a file name string after include, found %s", f)
		}
		end := p.want(";", "after include").end
		return &WordStmt{Pos: t.pos, Word: "include", Arg: f.text, End: end}
	case "unset", "call":
		p.take()
		arg := p.ident("after " + t.text)
		end := p.want(";", "after "+t.text).end
		return &WordStmt{Pos: t.pos, Word: t.text, Arg: arg.text, End: end}
	}
	x := p.expr()
	p.want(";", "after the statement")
	return &ExprStmt{Pos: t.pos, X: x}
}

func (p *parser) ifStmt() *IfStmt {
	t := p.take() // if, elsif, elseif, or the if of else if
	s := &IfStmt{Pos: t.pos}
	p.want("(", "after "+t.text)
	s.Cond = p.expr()
	p.want(")", "after the condition")
	s.Then, s.End = p.block("after if (…)")
	n := p.peek()
	if n.kind != tIdent {
		return s
	}
	switch {
	case n.text == "elsif" || n.text == "elseif" || n.text == "elif":
		e := p.ifStmt()
		s.Else, s.End, s.elseIf = []Stmt{e}, e.End, true
	case n.text == "else":
		p.take()
		if n2 := p.peek(); n2.kind == tIdent && n2.text == "if" {
			e := p.ifStmt()
			s.Else, s.End, s.elseIf = []Stmt{e}, e.End, true
		} else {
			s.Else, s.End = p.block("after else")
		}
	}
	return s
}

// Expression precedence, loosest first.
var binaryLevels = [][]string{
	{"||"},
	{"&&"},
	{"==", "!=", "~", "!~", "<", ">", "<=", ">="},
	{"+", "-"},
	{"*", "/"},
}

func (p *parser) expr() Expr {
	p.enter(p.peek().pos)
	defer p.leave()
	return p.binary(0)
}

func (p *parser) binary(level int) Expr {
	if level == len(binaryLevels) {
		return p.unary()
	}
	l := p.binary(level + 1)
	for {
		t := p.peek()
		if t.kind != tPunct || !contains(binaryLevels[level], t.text) {
			return l
		}
		p.take()
		r := p.binary(level + 1)
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) unary() Expr {
	t := p.peek()
	if t.is("!") || t.is("-") || t.is("+") {
		p.take()
		p.enter(t.pos)
		defer p.leave()
		return &Unary{Pos: t.pos, Op: t.text, X: p.unary()}
	}
	return p.primary()
}

func (p *parser) primary() Expr {
	t := p.take()
	switch t.kind {
	case tString:
		s := &String{Pos: t.pos, Parts: []string{t.text}}
		for p.peek().kind == tString { // adjacent literals are one string
			s.Parts = append(s.Parts, p.take().text)
		}
		return s
	case tNumber:
		return &Number{Pos: t.pos, Text: t.text}
	case tIdent:
		if !p.peek().is("(") {
			return &Ident{Pos: t.pos, Name: t.text}
		}
		p.take()
		c := &Call{Pos: t.pos, Fn: t.text}
		for !p.peek().is(")") {
			var a Arg
			if n := p.peek(); n.kind == tIdent && p.peekAt(1).is("=") {
				a.Name = n.text
				p.take()
				p.take()
			}
			a.Value = p.expr()
			c.Args = append(c.Args, a)
			if !p.peek().is(",") {
				break
			}
			p.take()
		}
		p.want(")", "to close the arguments of "+t.text)
		return c
	case tPunct:
		if t.is("(") {
			x := p.expr()
			p.want(")", "to close (")
			return x
		}
	}
	p.failf(t.pos, "expected an expression, found %s", t)
	return nil
}

// exprString renders an expression as VCL, for notes.
func exprString(e Expr) string {
	switch x := e.(type) {
	case *Ident:
		return x.Name
	case *String:
		q := make([]string, len(x.Parts))
		for i, s := range x.Parts {
			q[i] = `"` + s + `"`
		}
		return strings.Join(q, " ")
	case *Number:
		return x.Text
	case *Call:
		args := make([]string, len(x.Args))
		for i, a := range x.Args {
			args[i] = exprString(a.Value)
			if a.Name != "" {
				args[i] = a.Name + "=" + args[i]
			}
		}
		return x.Fn + "(" + strings.Join(args, ", ") + ")"
	case *Binary:
		return exprString(x.L) + " " + x.Op + " " + exprString(x.R)
	case *Unary:
		return x.Op + exprString(x.X)
	}
	return ""
}
