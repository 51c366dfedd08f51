package app

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/dnstest"
)

// discoveryConfig: a shard director over a DNS SRV template; %s is the
// DNS server's address.
const discoveryConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "cache"
shutdown_timeout = "2s"

[admin]
listen = ""

[log]
access = ""

[backends.api]
discover = "dns+srv://_http._tcp.api.test"
resolvers = [%q]
min_ttl = "50ms"
max_ttl = "200ms"

[directors.cache]
type = "shard"
members = ["api"]
by = "url"
`

// srvRecords returns the SRV records (TTL 1s, capped by max_ttl) and glue
// for backends, in the order given.
func srvRecords(bs ...*testBackend) []string {
	var rr []string
	for _, b := range bs {
		_, port, _ := net.SplitHostPort(b.addr)
		rr = append(rr, fmt.Sprintf("_http._tcp.api.test. 1 IN SRV 10 10 %s h.test.", port))
	}
	return append(rr, "h.test. 1 IN A 127.0.0.1")
}

// keyMap asks n keys through the proxy and returns the backend of each.
func keyMap(t *testing.T, base string, n int) []string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	out := make([]string, n)
	for i := range out {
		code, body := get(t, c, fmt.Sprintf("%s/object/%d", base, i))
		if code != 200 {
			t.Fatalf("key %d: %d %q", i, code, body)
		}
		out[i] = body
	}
	return out
}

// waitEndpoints waits until the template has n endpoints.
func waitEndpoints(t *testing.T, ta *testApp, n int) {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) {
		v := ta.View()
		if len(v.Discovery) == 1 && len(v.Discovery[0].Endpoints) == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the template did not reach %d endpoints: %+v", n, ta.View().Discovery)
}

// TestDiscoverySRV: the endpoints of an SRV answer become shard members
// without a reload; when one goes only its keys move (to the others), when
// one comes only the keys it takes move; an endpoint that stays keeps its
// backend object (health override included) across refreshes and a
// reload; SERVFAIL and an empty answer keep the last good set.
func TestDiscoverySRV(t *testing.T) {
	srv := dnstest.Start(t)
	b1, b2, b3, b4 := startBackend(t, "b1"), startBackend(t, "b2"), startBackend(t, "b3"), startBackend(t, "b4")
	srv.Set(t, srvRecords(b1, b2, b3)...)
	ta := startApp(t, fmt.Sprintf(discoveryConfig, srv.Addr))
	waitEndpoints(t, ta, 3) // Start waited for the first answer, so this is at once
	const keys = 1500
	before := keyMap(t, ta.proxy, keys)
	if c := count(before); len(c) != 3 {
		t.Fatalf("keys spread over %v; want the 3 discovered backends", c)
	}
	kept := ta.Table().Backends["api:"+b1.addr]
	kept.SetAdminState(directors.AdminHealthy) // an override that must survive refreshes

	// b3 leaves the answer.
	srv.Set(t, srvRecords(b1, b2)...)
	waitEndpoints(t, ta, 2)
	after := keyMap(t, ta.proxy, keys)
	moved := 0
	for k := range after {
		switch {
		case after[k] == "b3":
			t.Fatalf("key %d still goes to b3, which left the answer", k)
		case before[k] != "b3" && after[k] != before[k]:
			t.Fatalf("key %d moved from %s to %s though %s stayed", k, before[k], after[k], before[k])
		case before[k] == "b3":
			moved++
		}
	}
	t.Logf("b3 gone: %d of %d keys moved (%.1f%%), all of them b3's", moved, keys, 100*float64(moved)/keys)

	// b4 joins.
	srv.Set(t, srvRecords(b2, b4, b1)...)
	waitEndpoints(t, ta, 3)
	joined := keyMap(t, ta.proxy, keys)
	moved = 0
	for k := range joined {
		if joined[k] != after[k] {
			if joined[k] != "b4" {
				t.Fatalf("key %d moved from %s to %s; only keys going to the new b4 may move", k, after[k], joined[k])
			}
			moved++
		}
	}
	t.Logf("b4 joined: %d of %d keys moved (%.1f%%), all to b4", moved, keys, 100*float64(moved)/keys)
	if got := ta.Table().Backends["api:"+b1.addr]; got != kept || got.AdminState() != directors.AdminHealthy {
		t.Fatalf("b1's backend object was replaced (or lost its override) across refreshes")
	}

	// DNS fails, then answers with nothing: the set stays, traffic too.
	srv.Fail("_http._tcp.api.test.", dns.RcodeServerFailure)
	time.Sleep(300 * time.Millisecond)
	srv.Fail("_http._tcp.api.test.", dns.RcodeSuccess)
	srv.Clear("_http._tcp.api.test.", dns.TypeSRV)
	time.Sleep(300 * time.Millisecond)
	if c := count(keyMap(t, ta.proxy, 300)); len(c) != 3 || c["b3"] > 0 {
		t.Fatalf("during the DNS failure keys went to %v; want the last good b1, b2, b4", c)
	}
	st := ta.View().Discovery[0]
	if st.Failures < 2 || st.Empty < 1 || len(st.Endpoints) != 3 {
		t.Fatalf("status during the failure: %+v", st)
	}

	// A reload keeps the endpoints and their objects.
	srv.Set(t, srvRecords(b2, b4, b1)...)
	if err := ta.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := ta.Table().Backends["api:"+b1.addr]; got != kept {
		t.Fatalf("a reload replaced a discovered backend")
	}
	if c := count(keyMap(t, ta.proxy, 300)); len(c) != 3 {
		t.Fatalf("after the reload keys went to %v", c)
	}
	if !strings.Contains(string(must(ta.Config().TOML())), `discover = "dns+srv://_http._tcp.api.test"`) {
		t.Fatalf("/config does not show the template")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestDiscoveryInstancesAgree: two instances whose DNS servers answer in
// different orders map every key the same.
func TestDiscoveryInstancesAgree(t *testing.T) {
	bs := []*testBackend{startBackend(t, "b1"), startBackend(t, "b2"), startBackend(t, "b3"), startBackend(t, "b4")}
	d1, d2 := dnstest.Start(t), dnstest.Start(t)
	d1.Set(t, srvRecords(bs[0], bs[1], bs[2], bs[3])...)
	d2.Set(t, srvRecords(bs[3], bs[1], bs[0], bs[2])...)
	a1 := startApp(t, fmt.Sprintf(discoveryConfig, d1.Addr))
	a2 := startApp(t, fmt.Sprintf(discoveryConfig, d2.Addr))
	waitEndpoints(t, a1, 4)
	waitEndpoints(t, a2, 4)
	const keys = 2000
	m1, m2 := keyMap(t, a1.proxy, keys), keyMap(t, a2.proxy, keys)
	for k := range m1 {
		if m1[k] != m2[k] {
			t.Fatalf("key %d: %s on one instance, %s on the other", k, m1[k], m2[k])
		}
	}
}
