package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Pos is where something was written in a configuration file. Line and
// Col count from 1 (Col in bytes); zero means unknown.
type Pos struct {
	File      string
	Line, Col int
}

// String returns "FILE:LINE:COL", leaving out the parts that are unknown.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Errorf returns an error at p. Packages that check a configuration
// further (topology) use it so their errors point into the file too.
func (p Pos) Errorf(format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// Error is one problem in a configuration file.
type Error struct {
	File      string
	Line, Col int // from 1; 0 when unknown
	Msg       string
}

// Error returns "FILE:LINE:COL: message" (":COL" or ":LINE:COL" left out
// when unknown).
func (e *Error) Error() string {
	p := Pos{File: e.File, Line: e.Line, Col: e.Col}.String()
	if p == "" {
		return e.Msg
	}
	return p + ": " + e.Msg
}

// Errors is every problem found in a configuration file, in file order.
// Parse and Load return it as their error, so callers can list each one:
//
//	var errs config.Errors
//	if errors.As(err, &errs) { for _, e := range errs { … } }
type Errors []*Error

// Error returns the errors one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// sort orders es by position; errors without a line come first.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), strings.Compare(a.Msg, b.Msg))
	})
}

// err returns es as an error, or nil when there are none. (A nil Errors
// stored in an error interface would not compare equal to nil.)
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	es.sort()
	return es
}
