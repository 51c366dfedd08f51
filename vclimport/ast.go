package vclimport

// File is a parsed VCL file: its top-level declarations in order.
type File struct {
	Name  string
	Decls []*Decl
}

// Decl is a top-level declaration.
type Decl struct {
	// Kind is "vcl", "import", "include", "backend", "probe", "sub",
	// "acl", or "C" (an inline C block); any other top-level keyword is
	// its own Kind, parsed as a block or statement.
	Kind string
	Name string // the backend, probe, sub, acl or vmod name; the file of an include
	Pos  Pos
	End  Pos
	// Fields are a backend's or probe's .field = value settings.
	Fields []*Field
	// Body is a sub's statements; BodyErr is set instead when they could
	// not be parsed in detail (the sub is then listed untranslated).
	Body    []Stmt
	BodyErr *SyntaxError
}

// Field is one ".name = value;" of a backend or probe.
type Field struct {
	Name  string // without the dot
	Pos   Pos
	Value Expr     // nil for an inline block
	Block []*Field // an inline probe: .probe = { … }
}

// Stmt is a statement of a sub.
type Stmt interface{ stmtPos() Pos }

// IfStmt is if (Cond) { Then } with its elsif/else chain in Else (an
// elsif is an *IfStmt alone in Else).
type IfStmt struct {
	Pos    Pos
	Cond   Expr
	Then   []Stmt
	Else   []Stmt
	End    Pos
	elseIf bool // Else holds one *IfStmt from elsif / else if
}

// SetStmt is set TARGET OP VALUE; (OP is =, +=, -=, *=, /=).
type SetStmt struct {
	Pos    Pos
	Target string
	Op     string
	Value  Expr
}

// NewStmt is new NAME = CONSTRUCTOR(…); in vcl_init.
type NewStmt struct {
	Pos   Pos
	Name  string
	Value Expr
}

// ReturnStmt is return (ACTION); Action may be nil (return;).
type ReturnStmt struct {
	Pos    Pos
	Action Expr
}

// ExprStmt is an expression used as a statement, usually a call:
// X.add_backend(b1); std.log("…");
type ExprStmt struct {
	Pos Pos
	X   Expr
}

// WordStmt is a keyword statement the importer only lists: unset X;,
// call NAME;, an inline C block, a nested { } block.
type WordStmt struct {
	Pos  Pos
	Word string // "unset", "call", "C", "{"
	Arg  string
	End  Pos
}

func (s *IfStmt) stmtPos() Pos     { return s.Pos }
func (s *SetStmt) stmtPos() Pos    { return s.Pos }
func (s *NewStmt) stmtPos() Pos    { return s.Pos }
func (s *ReturnStmt) stmtPos() Pos { return s.Pos }
func (s *ExprStmt) stmtPos() Pos   { return s.Pos }
func (s *WordStmt) stmtPos() Pos   { return s.Pos }

// Expr is an expression.
type Expr interface{ exprPos() Pos }

// Ident is a name: b1, req.http.host, KEY, true.
type Ident struct {
	Pos  Pos
	Name string
}

// String is a string literal (adjacent literals are joined, keeping
// each part for lists such as a probe's .request).
type String struct {
	Pos   Pos
	Parts []string
}

// Value returns the literal's parts joined.
func (s *String) Value() string {
	n := ""
	for _, p := range s.Parts {
		n += p
	}
	return n
}

// Number is a numeric literal, with its unit if any: 10, 1.5, 500ms.
type Number struct {
	Pos  Pos
	Text string
}

// Call is FN(ARGS): directors.round_robin(), s.key(req.http.X).
type Call struct {
	Pos  Pos
	Fn   string
	Args []Arg
}

// Arg is a call argument, named (by=KEY) or not.
type Arg struct {
	Name  string
	Value Expr
}

// Binary is L OP R.
type Binary struct {
	Pos  Pos
	Op   string
	L, R Expr
}

// Unary is OP X (! or -).
type Unary struct {
	Pos Pos
	Op  string
	X   Expr
}

func (e *Ident) exprPos() Pos  { return e.Pos }
func (e *String) exprPos() Pos { return e.Pos }
func (e *Number) exprPos() Pos { return e.Pos }
func (e *Call) exprPos() Pos   { return e.Pos }
func (e *Binary) exprPos() Pos { return e.Pos }
func (e *Unary) exprPos() Pos  { return e.Pos }

// arg returns the named argument, or the i-th positional one when
// there is no argument of that name (i < 0: by name only), or nil.
func (c *Call) arg(name string, i int) Expr {
	for _, a := range c.Args {
		if a.Name == name {
			return a.Value
		}
	}
	if i >= 0 && i < len(c.Args) && c.Args[i].Name == "" {
		return c.Args[i].Value
	}
	return nil
}
