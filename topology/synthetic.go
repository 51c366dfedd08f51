package topology

import (
	"sort"

	"github.com/shellac-lb/shellac/directors"
)

// Synthetic is the built-in custom backend that answers every request
// itself with a fixed status, headers and body (SPEC: type = "synthetic").
// It is written against the public directors.Responder API, like any
// custom backend.
type Synthetic struct {
	Status  int
	Headers [][2]string // in a stable order
	Body    []byte
}

// NewSynthetic returns a Synthetic; headers are sorted by name so the
// response is stable.
func NewSynthetic(status int, headers map[string]string, body string) *Synthetic {
	s := &Synthetic{Status: status, Body: []byte(body)}
	if s.Status == 0 {
		s.Status = 200
	}
	for k, v := range headers {
		s.Headers = append(s.Headers, [2]string{k, v})
	}
	sort.Slice(s.Headers, func(i, j int) bool { return s.Headers[i][0] < s.Headers[j][0] })
	return s
}

// Respond writes the fixed response.
func (s *Synthetic) Respond(_ *directors.Request, w directors.ResponseWriter) {
	w.WriteStatus(s.Status)
	for _, h := range s.Headers {
		w.AddHeader(h[0], h[1])
	}
	_, _ = w.Write(s.Body)
}

var _ directors.Responder = (*Synthetic)(nil)
