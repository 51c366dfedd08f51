package route

import (
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

func TestRouteMatch(t *testing.T) {
	tests := []struct {
		host, prefix  string // route
		reqHost, path string
		want          bool
	}{
		{"", "", "anything", "/x", true},
		{"img.example.com", "", "img.example.com", "/", true},
		{"img.example.com", "", "IMG.Example.COM", "/", true},
		{"img.example.com", "", "img.example.com:8080", "/", true},
		{"img.example.com:8080", "", "img.example.com:8080", "/", true},
		{"img.example.com:8080", "", "img.example.com:9090", "/", false},
		{"img.example.com", "", "www.example.com", "/", false},
		{"*.example.com", "", "a.example.com", "/", true},
		{"*.example.com", "", "a.b.example.com", "/", true},
		{"*.example.com", "", "example.com", "/", false},
		{"*.example.com", "", "badexample.com", "/", false},
		{"", "/api/", "x", "/api/v1", true},
		{"", "/api/", "x", "/apix", false},
		{"", "/api/", "x", "/", false},
		{"", "", "[::1]:8080", "/", true},
		{"[::1]", "", "[::1]:8080", "/", true},
	}
	for _, tc := range tests {
		rt := &Route{Host: tc.host, PathPrefix: tc.prefix}
		if got := rt.Match([]byte(tc.reqHost), []byte(tc.path)); got != tc.want {
			t.Errorf("route(%q, %q).Match(%q, %q) = %v; want %v", tc.host, tc.prefix, tc.reqHost, tc.path, got, tc.want)
		}
	}
}

func TestTableFirstMatchWins(t *testing.T) {
	a := directors.NewBackend("a", directors.BackendConfig{})
	b := directors.NewBackend("b", directors.BackendConfig{})
	def := directors.NewBackend("def", directors.BackendConfig{})
	tbl := &Table{
		Routes: []*Route{
			{Host: "api.example.com", PathPrefix: "/v1/", Target: a},
			{PathPrefix: "/v1/", Target: b},
		},
		Default: &Route{Target: def},
	}
	tests := []struct{ host, path, want string }{
		{"api.example.com", "/v1/x", "a"},
		{"www.example.com", "/v1/x", "b"},
		{"api.example.com", "/v2/x", "def"},
	}
	for _, tc := range tests {
		rt := tbl.Match([]byte(tc.host), []byte(tc.path))
		if got := rt.Target.Name(); got != tc.want {
			t.Errorf("Match(%q, %q) → %s; want %s", tc.host, tc.path, got, tc.want)
		}
	}
	if n := testingAllocs(func() { tbl.Match([]byte("www.example.com"), []byte("/v1/x")) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

func TestRetryOnNames(t *testing.T) {
	names := RetryOnNames()
	if len(names) != 4 {
		t.Fatalf("RetryOnNames() = %v; want the four kinds", names)
	}
	var all RetryOn
	for _, n := range names {
		k, ok := ParseRetryOn(n)
		if !ok || all.Has(k) {
			t.Errorf("ParseRetryOn(%q) = %v, %v; want a new kind", n, k, ok)
		}
		all |= k
	}
	if got := all.String(); got != "connect,reset,5xx,timeout" {
		t.Errorf("String() = %q", got)
	}
	if _, ok := ParseRetryOn("503"); ok {
		t.Error(`ParseRetryOn("503") accepted`)
	}
}

func TestRetryPolicy(t *testing.T) {
	p := RetryPolicy{Max: 2, On: RetryConnect | Retry5xx, Blacklist: 0}
	tests := []struct {
		k     RetryOn
		tries int
		want  bool
	}{
		{RetryConnect, 1, true},
		{RetryConnect, 2, true},
		{RetryConnect, 3, false}, // two retries done
		{Retry5xx, 1, true},
		{RetryReset, 1, false},
		{RetryTimeout, 1, false},
	}
	for _, tc := range tests {
		if got := p.Allows(tc.k, tc.tries); got != tc.want {
			t.Errorf("Allows(%v, %d) = %v; want %v", tc.k, tc.tries, got, tc.want)
		}
	}
	if p.Blacklisting(RetryConnect) {
		t.Error("Blacklisting without a blacklist TTL")
	}
	p.Blacklist = 1
	if !p.Blacklisting(Retry5xx) || p.Blacklisting(RetryReset) {
		t.Error("Blacklisting must follow retry_on once a TTL is set")
	}
}
