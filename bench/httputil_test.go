package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPUtilConfigRoundTrip(t *testing.T) {
	p := peerParams{Listen: "127.0.0.1:1234", Backends: []string{"127.0.0.1:1", "127.0.0.1:2"}, Workers: 1}
	for _, tc := range []struct {
		config      func(peerParams) string
		wantDefault bool
	}{{httputilConfig, false}, {httputilDefaultConfig, true}} {
		cfg, err := readHTTPUtilConfig(strings.NewReader(tc.config(p)))
		if err != nil || cfg.listen != p.Listen || strings.Join(cfg.backends, ",") != "127.0.0.1:1,127.0.0.1:2" || cfg.defaultTransport != tc.wantDefault {
			t.Fatalf("got %+v %v; want %q, both backends, default transport %v", cfg, err, p.Listen, tc.wantDefault)
		}
	}
	for _, bad := range []string{"listen 127.0.0.1:1\n", "listen 127.0.0.1:1\nbackend 127.0.0.1:2\ntransport fast\n"} {
		if _, err := readHTTPUtilConfig(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestHTTPUtilProxyRoundRobin checks the baseline really balances: four
// requests through it alternate between two real backends.
func TestHTTPUtilProxyRoundRobin(t *testing.T) {
	var addrs []string
	for _, name := range []string{"a", "b"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		defer srv.Close()
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	for _, def := range []bool{false, true} {
		front := httptest.NewServer(newRoundRobinProxy(addrs, def))
		defer front.Close()
		checkAlternates(t, front.URL)
	}
}

func checkAlternates(t *testing.T, url string) {
	t.Helper()
	var got []string
	for i := 0; i < 4; i++ {
		resp, err := http.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, string(b))
	}
	if strings.Join(got, "") != "abab" {
		t.Errorf("backends in order %v; want a b a b", got)
	}
}
