package contrib

import (
	"errors"
	"sort"
	"strings"

	"github.com/shellac-lb/shellac/directors"
)

// Synthetic is the built-in custom backend that answers every request
// itself with a fixed status, headers and body (docs/spec.md section 2: type = "synthetic"),
// as Varnish's synthetic responses; a maintenance page behind a fallback
// director, for instance. It is a directors.Responder, registered like any
// custom backend type.
type Synthetic struct {
	Status  int
	Headers [][2]string // sorted by name, so the response is stable
	Body    []byte
}

// NewSynthetic returns a Synthetic; status 0 means 200.
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

// newSynthetic is synthetic's factory. Options:
//
//	status = 503                          # 100-999; default 200
//	body = "down for maintenance\n"       # default empty
//	headers = { "Retry-After" = "120" }   # default none
func newSynthetic(_ string, o *directors.Options) (directors.Responder, error) {
	status, e1 := o.Int("status", 200)
	body, e2 := o.String("body", "")
	headers, e3 := o.StringMap("headers")
	errs := []error{e1, e2, e3}
	if e1 == nil && (status < 100 || status > 999) {
		errs = append(errs, o.Errorf("status", "%d is not an HTTP status (100-999)", status))
	}
	for _, k := range sortedNames(headers) {
		if !isToken(k) {
			errs = append(errs, o.ElemErrorf("headers", k, "%q is not a valid header name", k))
		}
		if strings.ContainsAny(headers[k], "\r\n\x00") {
			errs = append(errs, o.ElemErrorf("headers", k, "header value must not contain CR, LF or NUL"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return NewSynthetic(status, headers, body), nil
}

// Respond writes the fixed response. It allocates nothing.
func (s *Synthetic) Respond(_ *directors.Request, w directors.ResponseWriter) {
	w.WriteStatus(s.Status)
	for _, h := range s.Headers {
		w.AddHeader(h[0], h[1])
	}
	_, _ = w.Write(s.Body)
}

func sortedNames(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// isToken reports whether s is an RFC 9110 token (a valid field name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

var _ directors.Responder = (*Synthetic)(nil)
