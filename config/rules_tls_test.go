package config

import (
	"strings"
	"testing"
)

// A rule's `tls` matcher is a boolean (`when = { tls = false }`, the
// README's redirect to HTTPS): both values decode, are kept (false is set,
// not absent), survive a round trip, and anything else is refused at its
// position.
func TestRuleTLSMatcher(t *testing.T) {
	head := "[server]\nlisten = [\"127.0.0.1:8080\"]\ndefault_director = \"a\"\n[backends.a]\naddress = \"127.0.0.1:9001\"\n"
	for _, tc := range []struct {
		when string
		want bool
	}{
		{`{ tls = false }`, false},
		{`{ tls = true, sni = ["*.example.com"] }`, true},
		{`{ not = { tls = true } }`, true}, // nested, under not
	} {
		src := head + "[[request_rules]]\nwhen = " + tc.when + "\nredirect = \"https://%{host}%{uri}\"\ncode = 308\n"
		c, err := Parse("t.toml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", tc.when, err)
		}
		m := c.RequestRules[0].When
		if m.Not != nil {
			m = m.Not
		}
		if m.TLS == nil || *m.TLS != tc.want {
			t.Fatalf("%s: tls decoded as %v, want %v", tc.when, m.TLS, tc.want)
		}
		roundTrip(t, tc.when, c)
	}
	_, err := Parse("t.toml", []byte(head+"[[request_rules]]\nwhen = { tls = \"yes\" }\nredirect = \"https://x/\"\n"))
	if err == nil || !strings.Contains(err.Error(), "t.toml:7:") || !strings.Contains(err.Error(), "tls") {
		t.Fatalf("tls = \"yes\": %v, want an error at line 7 naming tls", err)
	}
}
