package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const discoverConfig = `
[server]
listen = ["127.0.0.1:8080"]
default_director = "web"

[backends.api]
discover = "dns+srv://_http._tcp.api.consul"
resolvers = ["127.0.0.1:8600"]
min_ttl = "1s"
connect_timeout = "2s"

[backends.static]
address = "127.0.0.1:9000"

[directors.web]
type = "random"
members = ["api", "static"]
`

// TestDiscoverTemplate: a template parses with its defaults, endpoints
// join the directors that list it (with SRV weights where the director
// takes weights), and TOML writes the template, not its endpoints.
func TestDiscoverTemplate(t *testing.T) {
	c, err := Parse("t.toml", []byte(discoverConfig))
	if err != nil {
		t.Fatal(err)
	}
	api := c.Backends["api"]
	if !api.IsTemplate() || api.MinTTL.Duration != time.Second || api.MaxTTL.Duration != DefaultDiscoveryMaxTTL || api.ConnectTimeout.Duration != 2*time.Second {
		t.Fatalf("template %+v", api)
	}
	n, err := c.With(PutDiscovered{Template: "api", Name: "api:127.0.0.1:8081", Address: "127.0.0.1:8081", Weight: 5},
		PutDiscovered{Template: "api", Name: "api:127.0.0.1:8082", Address: "127.0.0.1:8082"})
	if err != nil {
		t.Fatal(err)
	}
	d := n.Directors["web"]
	if !slices.Equal(d.Members, []string{"api", "static", "api:127.0.0.1:8081", "api:127.0.0.1:8082"}) || d.Weights["api:127.0.0.1:8081"] != 5 {
		t.Fatalf("director %+v", d)
	}
	b := n.Backends["api:127.0.0.1:8082"]
	if b.Address != "127.0.0.1:8082" || b.DiscoveredFrom != "api" || b.IsTemplate() || b.ConnectTimeout.Duration != 2*time.Second {
		t.Fatalf("endpoint %+v", b)
	}
	text, err := n.TOML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(text), "8081") || !strings.Contains(string(text), `discover = "dns+srv://_http._tcp.api.consul"`) {
		t.Fatalf("TOML writes the endpoints or misses the template:\n%s", text)
	}
	back, err := Parse("back.toml", text)
	if err != nil || !back.Backends["api"].IsTemplate() {
		t.Fatalf("TOML does not read back: %v", err)
	}
	gone, err := n.With(DeleteBackend{Name: "api:127.0.0.1:8081"})
	if err != nil || slices.Contains(gone.Directors["web"].Members, "api:127.0.0.1:8081") {
		t.Fatalf("delete: %v %v", err, gone.Directors["web"].Members)
	}
}

// TestDiscoverErrors: each mistake is reported at its line (the source
// starts with two [server] lines).
func TestDiscoverErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"bad scheme", "[backends.a]\ndiscover = \"http://x:80\"\n", "t.toml:4:1: backends.a.discover: bad target"},
		{"with address", "[backends.a]\ndiscover = \"dns+a://x:80\"\naddress = \"127.0.0.1:80\"\n", "t.toml:5:1: backends.a.address: a discovered backend has no address"},
		{"bad resolver", "[backends.a]\ndiscover = \"dns+a://x:80\"\nresolvers = [\"nope\"]\n", "t.toml:5:"},
		{"ttl order", "[backends.a]\ndiscover = \"dns+a://x:80\"\nmin_ttl = \"10s\"\nmax_ttl = \"1s\"\n", "t.toml:6:1: backends.a.max_ttl"},
		{"ttl without discover", "[backends.a]\naddress = \"127.0.0.1:80\"\nmin_ttl = \"1s\"\n", "t.toml:5:1: backends.a.min_ttl: is for DNS discovery"},
		{"route to a template", "[backends.a]\ndiscover = \"dns+a://x:80\"\n[[routes]]\ndirector = \"a\"\n", "t.toml:6:1: routes[0].director"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte("[server]\nlisten = [\"127.0.0.1:8080\"]\n"+tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want it to contain %q", err, tc.want)
			}
		})
	}
}
