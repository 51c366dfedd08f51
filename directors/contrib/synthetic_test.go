package contrib

import (
	"errors"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// recorder is a directors.ResponseWriter that keeps what it is given.
type recorder struct {
	status int
	hdrs   []string
	body   []byte
}

func (w *recorder) WriteStatus(code int)         { w.status = code }
func (w *recorder) AddHeader(name, value string) { w.hdrs = append(w.hdrs, name+": "+value) }
func (w *recorder) Write(p []byte) (int, error) {
	w.body = append(w.body, p...)
	return len(p), nil
}

// The synthetic type is built through the registry, like any custom
// backend, and answers with its options.
func TestSyntheticRegistered(t *testing.T) {
	b, err := directors.NewRegisteredBackend("synthetic", "sorry", map[string]any{
		"status": int64(503), "body": "down\n",
		"headers": map[string]any{"Retry-After": "120", "Cache-Control": "no-store"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var w recorder
	b.Responder().Respond(&directors.Request{}, &w)
	if w.status != 503 || string(w.body) != "down\n" ||
		strings.Join(w.hdrs, "|") != "Cache-Control: no-store|Retry-After: 120" {
		t.Errorf("response %d %q %q", w.status, w.hdrs, w.body)
	}
	b, err = directors.NewRegisteredBackend("synthetic", "empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	w = recorder{}
	b.Responder().Respond(nil, &w)
	if w.status != 200 || len(w.body) != 0 || len(w.hdrs) != 0 {
		t.Errorf("default response %d %q %q", w.status, w.hdrs, w.body)
	}
}

func TestSyntheticBadOptions(t *testing.T) {
	_, err := directors.NewRegisteredBackend("synthetic", "s", map[string]any{
		"status":  int64(42),
		"headers": map[string]any{"Bad Name": "x", "X-Ok": "a\nb"},
		"adress":  "127.0.0.1:80",
	})
	want := []string{
		"status: 42 is not an HTTP status (100-999)",
		"headers.Bad Name: \"Bad Name\" is not a valid header name",
		"headers.X-Ok: header value must not contain CR, LF or NUL",
		"adress: not an option of synthetic backends",
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v\nlacks %q", err, w)
		}
	}
	var oe *directors.OptionError
	if !errors.As(err, &oe) || oe.Key != "status" {
		t.Errorf("first OptionError %+v; want key status", oe)
	}
	if _, err := directors.NewRegisteredBackend("synthetic", "s", map[string]any{"status": "503"}); err == nil ||
		!strings.Contains(err.Error(), `status: expected an integer, got the string "503"`) {
		t.Errorf("string status: %v", err)
	}
}
