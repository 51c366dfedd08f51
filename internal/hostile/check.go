package hostile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Verdict compares what happened with what a case expects, in three
// parts, each true when it matches.
type Verdict struct {
	Status, Close, Backend bool
	// Problems says what did not match, one line each.
	Problems []string
}

// OK reports whether everything matched.
func (v Verdict) OK() bool { return v.Status && v.Close && v.Backend }

// Err returns the problems as one error, or nil.
func (v Verdict) Err() error {
	if v.OK() {
		return nil
	}
	return errors.New(strings.Join(v.Problems, "\n"))
}

func (v *Verdict) fail(part *bool, format string, args ...any) {
	*part = false
	v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
}

// Check judges a request case: the statuses and the closing the client
// saw (res) and what the backend received (got, barriers and probes
// excluded).
func Check(c *Case, res *Result, got []Received) Verdict {
	v := Verdict{Status: true, Close: true, Backend: true}
	if !slices.Equal(res.Statuses, c.Status) {
		v.fail(&v.Status, "client got statuses %v; want %v", res.Statuses, c.Status)
	}
	if res.Err != nil {
		v.fail(&v.Status, "client: %v", res.Err)
	}
	switch c.Close {
	case CloseYes:
		if !res.Closed {
			v.fail(&v.Close, "connection still open (a probe got %d); want it closed", res.ProbeStatus)
		}
	case CloseNo:
		if res.Closed || res.ProbeStatus != 200 {
			v.fail(&v.Close, "connection closed or probe not answered 200 (closed %v, probe %d); want it open", res.Closed, res.ProbeStatus)
		}
	}
	checkBackend(&v, c, got)
	return v
}

func checkBackend(v *Verdict, c *Case, got []Received) {
	describe := func() string {
		var b strings.Builder
		for _, g := range got {
			b.WriteString("\n\t")
			b.WriteString(g.String())
		}
		return b.String()
	}
	switch c.Backend {
	case BackendNone:
		if len(got) > 0 {
			v.fail(&v.Backend, "backend received %d things; want nothing:%s", len(got), describe())
		}
	case BackendIncomplete:
		for _, g := range got {
			if !errors.Is(g.Err, ErrIncomplete) {
				v.fail(&v.Backend, "backend received more than an incomplete request:%s", describe())
				return
			}
		}
	case BackendRequests:
		if len(got) != len(c.Wants) {
			v.fail(&v.Backend, "backend received %d things; want %d well-framed requests:%s", len(got), len(c.Wants), describe())
			return
		}
		for i, g := range got {
			w := c.Wants[i]
			switch {
			case g.Err != nil:
				v.fail(&v.Backend, "backend received a malformed request #%d: %v", i+1, g)
			case w.Method != "" && g.Req.Method != w.Method,
				w.Target != "" && g.Req.Target != w.Target,
				w.BodyLen >= 0 && g.Req.BodyLen != w.BodyLen,
				w.HasHost && (!g.Req.HasHost || g.Req.Host != w.Host):
				v.fail(&v.Backend, "backend request #%d is %s %s with %d body bytes, Host %q; want %s", i+1,
					g.Req.Method, g.Req.Target, g.Req.BodyLen, g.Req.Host, w)
			}
		}
	}
}

// String writes w as in a case file.
func (w Want) String() string {
	m, t, n := w.Method, w.Target, "*"
	if m == "" {
		m = "*"
	}
	if t == "" {
		t = "*"
	}
	if w.BodyLen >= 0 {
		n = fmt.Sprint(w.BodyLen)
	}
	s := m + " " + t + " " + n
	if w.HasHost {
		s += " host=" + w.Host
	}
	return s
}

// CheckResponse judges a response case. Whatever the case expects, a
// connection left open must answer a second request correctly: anything
// else is a desynchronised connection.
func CheckResponse(c *Case, r *RespResult) Verdict {
	v := Verdict{Status: true, Close: true, Backend: true}
	if r.Status != c.Status[0] {
		v.fail(&v.Status, "client got status %d; want %d", r.Status, c.Status[0])
	}
	if r.Err != nil {
		v.fail(&v.Status, "client: %v", r.Err)
	}
	switch {
	case c.Truncated && (!r.Truncated || !r.Closed):
		v.fail(&v.Status, "response not truncated and closed (truncated %v, closed %v, body %d)", r.Truncated, r.Closed, r.BodyLen)
	case !c.Truncated && r.Truncated:
		v.fail(&v.Status, "response truncated after %d body bytes", r.BodyLen)
	case c.BodyLen >= 0 && r.BodyLen != c.BodyLen:
		v.fail(&v.Status, "client got %d body bytes; want %d", r.BodyLen, c.BodyLen)
	}
	switch {
	case c.Close == CloseYes && !r.Closed:
		v.fail(&v.Close, "connection still open; want it closed")
	case c.Close == CloseNo && r.Closed:
		v.fail(&v.Close, "connection closed; want it open")
	}
	if !r.Closed && (r.SecondStatus != 200 || r.Second != SecondBody) {
		v.fail(&v.Backend, "DESYNC: a second request on the open connection got %d %q; want 200 %q",
			r.SecondStatus, r.Second, SecondBody)
	}
	return v
}
