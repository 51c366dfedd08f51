package admin_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/shellac-lb/shellac/admin"
)

const explainConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "web"
shutdown_timeout = "5s"

[admin]
listen = "{ADMIN}"

[log]
access = ""

[backends.a]
address = %q

[backends.b]
address = %q

[backends.c]
address = %q

[directors.web]
type = "fallback"
members = ["a", "b"]

[directors.sticky]
type = "hash"
members = ["a", "b", "c"]
key = ["cookie:session"]

[directors.cache]
type = "shard"
members = ["a", "b", "c"]
by = "key"
key = ["int:header:X-Key"]

[[routes]]
path_prefix = "/img"
director = "sticky"

[[routes]]
path_prefix = "/cache"
director = "cache"
`

func (in *instance) explain(q url.Values) admin.Explanation {
	in.t.Helper()
	var ex admin.Explanation
	if err := json.Unmarshal([]byte(in.must(200, "GET", "/explain?"+q.Encode(), "")), &ex); err != nil {
		in.t.Fatal(err)
	}
	return ex
}

// TestExplain checks /explain against what the proxy actually does, for a
// fallback, a hash director keyed by a cookie and a shard keyed by a
// header, and its route selection.
func TestExplain(t *testing.T) {
	in := start(t, fmt.Sprintf(explainConfig, backend(t, "a"), backend(t, "b"), backend(t, "c")))

	ex := in.explain(url.Values{"path": {"/x"}, "host": {"example.com"}})
	if ex.Route != "default" || ex.Target != "web" || ex.Chosen == nil || *ex.Chosen != "a" ||
		fmt.Sprint(ex.Alternatives) != "[b]" || fmt.Sprint(ex.Path) != "[web a]" {
		t.Errorf("explain /x: %+v", ex)
	}
	in.must(200, "POST", "/backends/a/health", `{"state":"sick"}`)
	if ex := in.explain(url.Values{"director": {"web"}}); ex.Route != nil || ex.Chosen == nil || *ex.Chosen != "b" {
		t.Errorf("explain director=web with a sick: %+v; want b, no route", ex)
	}
	in.must(200, "POST", "/backends/a/health", `{"state":"auto"}`)

	// hash by cookie: explain agrees with the proxy for every session.
	for i := 0; i < 8; i++ {
		cookie := fmt.Sprintf("session=s%d", i)
		ex := in.explain(url.Values{"path": {"/img/1.png"}, "cookie": {cookie}})
		if ex.Route != 0.0 || ex.Target != "sticky" || ex.Chosen == nil || len(ex.Alternatives) != 2 {
			t.Fatalf("explain /img with %s: %+v", cookie, ex)
		}
		if got := in.getWith("/img/1.png", "Cookie", cookie); got != *ex.Chosen {
			t.Errorf("%s: explain says %s, the proxy sent it to %s", cookie, *ex.Chosen, got)
		}
		// key=STRING is hashed as the director hashes its key sources.
		byKey := in.explain(url.Values{"director": {"sticky"}, "key": {fmt.Sprintf("s%d", i)}})
		if byKey.Chosen == nil || *byKey.Chosen != *ex.Chosen {
			t.Errorf("key=s%d: explain says %v, by cookie %s", i, byKey.Chosen, *ex.Chosen)
		}
	}

	// shard by an integer key: the bare key, the header and the proxy agree.
	for _, k := range []string{"1", "123456", "3735928559"} {
		byKey := in.explain(url.Values{"director": {"cache"}, "key": {k}})
		byHeader := in.explain(url.Values{"path": {"/cache/x"}, "header.X-Key": {k}})
		if byKey.Chosen == nil || byHeader.Chosen == nil || *byKey.Chosen != *byHeader.Chosen {
			t.Fatalf("key %s: explain by key %+v, by header %+v", k, byKey, byHeader)
		}
		if fmt.Sprint(byKey.Keys["cache"]) != k || byHeader.Route != 1.0 {
			t.Errorf("key %s: keys %v, route %v", k, byKey.Keys, byHeader.Route)
		}
		byHash := in.explain(url.Values{"director": {"cache"}, "hash": {k}})
		if byHash.Chosen == nil || *byHash.Chosen != *byKey.Chosen || fmt.Sprint(byHash.Keys["cache"]) != k {
			t.Errorf("hash=%s: %+v, key=%s chose %s", k, byHash, k, *byKey.Chosen)
		}
		if got := in.getWith("/cache/x", "X-Key", k); got != *byKey.Chosen {
			t.Errorf("key %s: explain says %s, the proxy sent it to %s", k, *byKey.Chosen, got)
		}
	}
}

// getWith sends a GET through the proxy with one extra header and returns
// the body (the backend's name).
func (in *instance) getWith(path, name, value string) string {
	in.t.Helper()
	req, _ := http.NewRequest("GET", in.proxy+path, nil)
	req.Header.Set(name, value)
	resp, err := in.c.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
