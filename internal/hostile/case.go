// Package hostile loads shellac's hostile-input corpus (testdata/hostile:
// one file per case, described in testdata/hostile/README.md) and runs it
// against a proxy: a RecordingBackend that records every byte a proxy
// forwards and judges whether it was exactly the expected well-framed
// requests, a raw client that sends a case and reads what comes back, and
// Check, which compares the two with the case's expectations.
//
// It imports only the standard library (and x/sys for the socket
// counters the recorder waits on), not shellac's own parser, so that the
// judge of what reached a backend shares no code with what it judges.
package hostile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kind says which side of the proxy a case attacks.
type Kind uint8

// Kinds of case.
const (
	// KindRequest: the raw bytes are what a client sends.
	KindRequest Kind = iota
	// KindResponse: the raw bytes are what a backend answers.
	KindResponse
)

// Closing is what a case expects of the client connection after the
// expected responses.
type Closing uint8

// Closings.
const (
	// CloseYes: the proxy closes the connection.
	CloseYes Closing = iota
	// CloseNo: the connection stays open and serves another request.
	CloseNo
	// CloseAny: either, as long as a request sent on a still-open
	// connection is answered correctly (response cases).
	CloseAny
)

// BackendKind is what a request case expects the backend to receive.
type BackendKind uint8

// Backend expectations.
const (
	// BackendNone: no byte of the case reaches the backend.
	BackendNone BackendKind = iota
	// BackendRequests: exactly the listed well-framed requests, nothing
	// else.
	BackendRequests
	// BackendIncomplete: a prefix of one request and no complete request
	// (a body refused after its head was forwarded).
	BackendIncomplete
)

// Want is one request the backend must receive. An empty Method or
// Target, or a negative BodyLen, matches anything; Host is checked only
// when HasHost is set.
type Want struct {
	Method, Target string
	BodyLen        int64
	Host           string
	HasHost        bool
}

// Case is one case file.
type Case struct {
	Kind Kind
	// Name is the file name without its extension, unless the file sets
	// "name".
	Name string
	// File is the path the case was loaded from ("" when parsed from
	// bytes).
	File string
	// RFC is the section(s) of RFC 9112/9110 the expectation rests on.
	RFC string
	// Note is free text explaining the case.
	Note string
	// Known, when not empty, marks a known failure of shellac: the tests
	// skip the case with this reason.
	Known string
	// Raw is what is sent, in pieces written separately.
	Raw [][]byte

	// Status lists the statuses of the final responses the client must
	// get, in order (one for a response case).
	Status []int
	// Close is what happens to the client connection afterwards.
	Close Closing

	// Request cases: what the backend must receive.
	Backend BackendKind
	Wants   []Want

	// Response cases.
	//
	// Method and Proto are the client's request line ("GET",
	// "HTTP/1.1" by default).
	Method, Proto string
	// BodyLen is the body the client must get in full (-1: not checked).
	BodyLen int64
	// Truncated: the response must be cut short (fewer body bytes than
	// its framing announces) and the connection closed.
	Truncated bool
	// ThenClose: the backend closes its connection after writing Raw
	// (else it keeps it open and answers the next request properly).
	ThenClose bool
}

// Bytes returns the raw pieces joined.
func (c *Case) Bytes() []byte { return bytes.Join(c.Raw, nil) }

// Parse parses a case file of the given kind. name is used for the Name
// (its extension removed) and in errors.
func Parse(kind Kind, name string, data []byte) (*Case, error) {
	head, raw, ok := splitSeparator(string(data))
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNoSeparator)
	}
	base := filepath.Base(name)
	c := &Case{Kind: kind, Name: strings.TrimSuffix(base, filepath.Ext(base)), Method: "GET", Proto: "HTTP/1.1", BodyLen: -1}
	if kind == KindRequest {
		c.Close = CloseYes
	} else {
		c.Close = CloseAny
	}
	seen := map[string]bool{}
	for n, line := range strings.Split(head, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, found := strings.Cut(line, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !found || key == "" {
			return nil, fmt.Errorf("%s:%d: %w: %q is not \"key: value\"", name, n+1, ErrField, line)
		}
		if seen[key] && key != "backend" {
			return nil, fmt.Errorf("%s:%d: %w: %s repeated", name, n+1, ErrField, key)
		}
		seen[key] = true
		if err := c.set(key, value); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n+1, err)
		}
	}
	required := []string{"rfc", "status"}
	if kind == KindRequest {
		required = append(required, "backend", "close")
	}
	for _, k := range required {
		if !seen[k] {
			return nil, fmt.Errorf("%s: %w: %s", name, ErrMissing, k)
		}
	}
	if kind == KindResponse && len(c.Status) != 1 {
		return nil, fmt.Errorf("%s: %w: a response case has one status", name, ErrField)
	}
	pieces, err := Unescape(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(bytes.Join(pieces, nil)) == 0 {
		return nil, fmt.Errorf("%s: %w: empty raw section", name, ErrMissing)
	}
	c.Raw = pieces
	return c, nil
}

// splitSeparator splits a case file at its first line that is exactly
// "--" (trailing CR or spaces ignored).
func splitSeparator(s string) (head, raw string, ok bool) {
	for off := 0; off <= len(s); {
		end := strings.IndexByte(s[off:], '\n')
		line := s[off:]
		next := len(s) + 1
		if end >= 0 {
			line = s[off : off+end]
			next = off + end + 1
		}
		if strings.TrimRight(line, " \r") == "--" {
			if next > len(s) {
				return s[:off], "", true
			}
			return s[:off], s[next:], true
		}
		off = next
	}
	return "", "", false
}

// set applies one header field.
func (c *Case) set(key, value string) error {
	reqOnly := func() error {
		if c.Kind != KindRequest {
			return fmt.Errorf("%w: %s is for request cases", ErrField, key)
		}
		return nil
	}
	respOnly := func() error {
		if c.Kind != KindResponse {
			return fmt.Errorf("%w: %s is for response cases", ErrField, key)
		}
		return nil
	}
	switch key {
	case "name":
		if value == "" || strings.ContainsAny(value, " /") {
			return fmt.Errorf("%w: name %q", ErrField, value)
		}
		c.Name = value
	case "rfc":
		if value == "" {
			return fmt.Errorf("%w: empty rfc", ErrField)
		}
		c.RFC = value
	case "note":
		c.Note = value
	case "known":
		if value == "" {
			return fmt.Errorf("%w: known needs a reason", ErrField)
		}
		c.Known = value
	case "status":
		for _, f := range strings.Fields(value) {
			n, err := strconv.Atoi(f)
			if err != nil || n < 100 || n > 599 {
				return fmt.Errorf("%w: status %q", ErrField, f)
			}
			c.Status = append(c.Status, n)
		}
		if len(c.Status) == 0 {
			return fmt.Errorf("%w: empty status", ErrField)
		}
	case "close":
		switch value {
		case "yes":
			c.Close = CloseYes
		case "no":
			c.Close = CloseNo
		case "any":
			if err := respOnly(); err != nil {
				return err
			}
			c.Close = CloseAny
		default:
			return fmt.Errorf("%w: close %q (yes, no or any)", ErrField, value)
		}
	case "backend":
		if err := reqOnly(); err != nil {
			return err
		}
		return c.setBackend(value)
	case "request":
		if err := respOnly(); err != nil {
			return err
		}
		f := strings.Fields(value)
		if len(f) < 1 || len(f) > 2 || (len(f) == 2 && f[1] != "HTTP/1.0" && f[1] != "HTTP/1.1") {
			return fmt.Errorf("%w: request %q (METHOD [HTTP/1.0|HTTP/1.1])", ErrField, value)
		}
		c.Method = f[0]
		if len(f) == 2 {
			c.Proto = f[1]
		}
	case "body":
		if err := respOnly(); err != nil {
			return err
		}
		if value == "truncated" {
			c.Truncated = true
			return nil
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: body %q (a length or \"truncated\")", ErrField, value)
		}
		c.BodyLen = n
	case "then":
		if err := respOnly(); err != nil {
			return err
		}
		switch value {
		case "keep":
		case "close":
			c.ThenClose = true
		default:
			return fmt.Errorf("%w: then %q (keep or close)", ErrField, value)
		}
	default:
		return fmt.Errorf("%w: unknown key %q", ErrField, key)
	}
	return nil
}

// setBackend applies one "backend" line: "none", "incomplete", or one
// expected request "METHOD TARGET BODYLEN [host=HOST]" ("*" for any).
func (c *Case) setBackend(value string) error {
	switch value {
	case "none", "incomplete":
		if len(c.Wants) > 0 || c.Backend != BackendNone {
			return fmt.Errorf("%w: backend %s after other backend lines", ErrField, value)
		}
		if value == "incomplete" {
			c.Backend = BackendIncomplete
		}
		c.Wants = []Want{} // non-nil: the line was seen
		return nil
	}
	if c.Wants != nil && c.Backend != BackendRequests {
		return fmt.Errorf("%w: backend request after none/incomplete", ErrField)
	}
	f := strings.Fields(value)
	if len(f) != 3 && (len(f) != 4 || !strings.HasPrefix(f[3], "host=")) {
		return fmt.Errorf("%w: backend %q (none, incomplete, or METHOD TARGET BODYLEN [host=HOST])", ErrField, value)
	}
	w := Want{Method: f[0], Target: f[1], BodyLen: -1}
	if len(f) == 4 {
		w.Host, w.HasHost = strings.TrimPrefix(f[3], "host="), true
	}
	if w.Method == "*" {
		w.Method = ""
	}
	if w.Target == "*" {
		w.Target = ""
	}
	if f[2] != "*" {
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: backend body length %q", ErrField, f[2])
		}
		w.BodyLen = n
	}
	c.Backend = BackendRequests
	c.Wants = append(c.Wants, w)
	return nil
}

// Load reads every *.case file in dir, sorted by file name. Case names
// must be unique.
func Load(kind Kind, dir string) ([]*Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.case"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var cases []*Case
	names := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		c, err := Parse(kind, f, data)
		if err != nil {
			return nil, err
		}
		if prev, dup := names[c.Name]; dup {
			return nil, fmt.Errorf("%s: %w: name %q already used by %s", f, ErrField, c.Name, prev)
		}
		names[c.Name] = f
		c.File = f
		cases = append(cases, c)
	}
	return cases, nil
}
