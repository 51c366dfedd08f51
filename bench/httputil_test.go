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
	listen, backends, err := readHTTPUtilConfig(strings.NewReader(httputilConfig(p)))
	if err != nil || listen != p.Listen || strings.Join(backends, ",") != "127.0.0.1:1,127.0.0.1:2" {
		t.Fatalf("got %q %v %v; want %q and both backends", listen, backends, err, p.Listen)
	}
	if _, _, err := readHTTPUtilConfig(strings.NewReader("listen 127.0.0.1:1\n")); err == nil {
		t.Error("a config without backends was accepted")
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
	front := httptest.NewServer(newRoundRobinProxy(addrs))
	defer front.Close()
	var got []string
	for i := 0; i < 4; i++ {
		resp, err := http.Get(front.URL + "/")
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
