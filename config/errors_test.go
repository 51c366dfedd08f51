package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/directors"
)

// brokenConfigs are invalid configurations and every error each must
// produce, as "LINE:COL: message substring" ("LINE: …" when the column is
// not checked). The file name in errors is "t.toml". A case fails if an
// error is missing or an unexpected one appears, so the table also pins
// that one mistake does not cascade into several errors.
var brokenConfigs = []struct {
	name string
	src  string
	want []string
}{
	{"syntax error", `
[server]
listen = ["127.0.0.1:8080"
`, []string{"2:27: TOML syntax: "}},
	{"duplicate key", `
[server]
event_loops = 1
event_loops = 2
`, []string{"3: TOML syntax: "}},
	{"unknown table", `
[server]
listen = ["127.0.0.1:8080"]
[servre]
x = 1
`, []string{"3:2: servre: unknown key (did you mean server?)"}},
	{"unknown key and missing address", `
[backends.a]
adress = "127.0.0.1:80"
`, []string{
		"2:1: backends.a.adress: unknown key (did you mean address?)",
		"1:11: backends.a.address: is required",
	}},
	{"unknown key, dotted", `
server.event_loop = 2
`, []string{"1:8: server.event_loop: unknown key (did you mean event_loops?)"}},
	{"wrong type", `
[server]
event_loops = "4"
`, []string{`2:1: server.event_loops: expected an integer, got the string "4"`}},
	{"wrong type in array", `
[server]
listen = ["127.0.0.1:80", 8080]
`, []string{"2:27: server.listen[1]: expected a string, got the integer 8080"}},
	{"table expected", `
server = 5
`, []string{"1:1: server: expected a table, got the integer 5"}},
	{"routes must be an array", `
[routes]
director = "x"
`, []string{"1:2: routes: expected an array of tables ([[routes]])"}},
	{"bad duration", `
[limits]
client_header_timeout = "10"
`, []string{`2:1: limits.client_header_timeout: "10" is not a duration`}},
	{"negative duration", `
[server]
shutdown_timeout = "-1s"
`, []string{`2:1: server.shutdown_timeout: "-1s" is negative`}},
	{"duration as integer", `
[server]
shutdown_timeout = 30
`, []string{`2:1: server.shutdown_timeout: expected a duration string such as "2s", got the integer 30`}},
	{"listen without port, bad port, duplicate", `
[server]
listen = ["127.0.0.1", "127.0.0.1:99999", ":8080", ":8080"]
`, []string{
		`2:11: server.listen[0]: "127.0.0.1" is not "host:port" or "unix:/path"`,
		`2:24: server.listen[1]: "127.0.0.1:99999" has no valid port`,
		`2:52: server.listen[3]: ":8080" is listed twice`,
	}},
	{"empty listen", `
[server]
listen = []
`, []string{"2:1: server.listen: no address to listen on"}},
	{"default director missing", `
[server]
default_director = "web"
`, []string{`2:1: server.default_director: "web" is neither a director nor a backend`}},
	{"limits", `
[limits]
max_connections = 0
max_headers = -1
max_body_bytes = -5
client_idle_timeout = "0s"
`, []string{
		"2:1: limits.max_connections: must be > 0, got 0",
		"3:1: limits.max_headers: must be > 0, got -1",
		"4:1: limits.max_body_bytes: must be ≥ 0",
		"5:1: limits.client_idle_timeout: must be > 0",
	}},
	{"admin not loopback", `
[admin]
listen = "0.0.0.0:9091"
`, []string{"2:1: admin.listen: 0.0.0.0:9091 is not a loopback address: set admin.token_file"}},
	{"admin on a server address", `
[server]
listen = ["127.0.0.1:8080"]
[admin]
listen = "127.0.0.1:8080"
`, []string{"4:1: admin.listen: 127.0.0.1:8080 is also in server.listen"}},
	{"log", `
[log]
format = "xml"
level = "verbose"
`, []string{
		`2:1: log.format: "xml" is not one of "json", "text"`,
		`3:1: log.level: "verbose" is not one of "debug", "info", "warn", "error"`,
	}},
	{"backend name", `
[backends."a b"]
address = "127.0.0.1:80"
`, []string{`1:11: backends."a b": backend name "a b": use only letters, digits`}},
	{"backend address", `
[backends.a]
address = "unix:run/a.sock"
[backends.b]
address = ":80"
[backends.c]
address = "::1:80"
[backends.d]
address = "bad_host!:80"
`, []string{
		`2:1: backends.a.address: "unix:run/a.sock" is not unix:/absolute/path`,
		`4:1: backends.b.address: ":80" has no host`,
		`6:1: backends.c.address: "::1:80" is not "host:port"`,
		`8:1: backends.d.address: "bad_host!:80" has an invalid host name`,
	}},
	{"backend options", `
[backends.a]
address = "127.0.0.1:80"
probe = "nope"
proxy_header = 3
max_idle = -1
connect_timeout = "0s"
status = 200
`, []string{
		`3:1: backends.a.probe: there is no probe "nope"`,
		"4:1: backends.a.proxy_header: 3 is not 0 (off), 1 or 2",
		"5:1: backends.a.max_idle: must be ≥ 0",
		"6:1: backends.a.connect_timeout: must be > 0",
		"7:1: backends.a.status: unknown key",
	}},
	{"backend type", `
[backends.a]
type = "fastcgi"
address = "127.0.0.1:80"
`, []string{`2:1: backends.a.type: unknown backend type "fastcgi"`}},
	{"synthetic backend", `
[backends.m]
type = "synthetic"
address = "127.0.0.1:80"
status = 42
headers = { "Bad Header" = "x", Ok = "a\nb" }
`, []string{
		"3:1: backends.m: address is not an option of synthetic backends",
		"4:1: backends.m.status: 42 is not an HTTP status (100-999)",
		`5:13: backends.m.headers."Bad Header": "Bad Header" is not a valid header name`,
		"5:33: backends.m.headers.Ok: header value must not contain CR, LF or NUL",
	}},
	{"multi-line string does not confuse positions", `
[backends.m]
type = "synthetic"
body = """
[server]
staus = 1
"""
staus = 200
`, []string{"7:1: backends.m: staus is not an option of synthetic backends (did you mean status?)"}},
	{"probe url and request", `
[probes.p]
url = "/"
request = ["GET / HTTP/1.1"]
`, []string{"3:1: probes.p.request: set url or request, not both"}},
	{"probe request line", `
[probes.p]
request = ["GET /", "Host: a\r\n"]
`, []string{
		`2:12: probes.p.request[0]: "GET /" is not a request line`,
		"2:21: probes.p.request[1]: must not contain CR or LF",
	}},
	{"probe window", `
[probes.p]
window = 4
threshold = 5
initial = 9
expected_status = 700
`, []string{
		"3:1: probes.p.threshold: 5 is not in 1..window (4)",
		"4:1: probes.p.initial: 9 is not in 0..window (4)",
		"5:1: probes.p.expected_status: 700 is not an HTTP status",
	}},
	{"probe timing", `
[probes.p]
interval = "1s"
timeout = "3s"
[probes.q]
interval = "0s"
url = "healthz"
`, []string{
		"3:1: probes.p.timeout: 3s is longer than interval 1s",
		"5:1: probes.q.interval: must be > 0",
		`6:1: probes.q.url: "healthz" must be a path starting with "/"`,
	}},
	{"director without type", `
[directors.d]
members = ["x"]
`, []string{"1:12: directors.d.type: is required (one of round_robin, fallback, random, hash, shard, saintmode, config_test_scaled, least_conn, p2c)"}},
	{"unknown director type", `
[directors.d]
type = "least_connections"
`, []string{`2:1: directors.d.type: unknown director type "least_connections" (valid: round_robin, fallback, random, hash, shard, saintmode, config_test_scaled, least_conn, p2c)`}},
	{"registered director options", `
[backends.a]
address = "127.0.0.1:80"
[directors.lc]
type = "least_conn"
members = ["a", "b"]
weights = { a = -1.0 }
sticky = true
[directors.p]
type = "p2c"
members = []
replicas = 3
`, []string{
		`5:17: directors.lc.members[1]: "b" is neither a backend nor a director`,
		"6:13: directors.lc.weights.a: weight -1 must be > 0",
		"7:1: directors.lc: sticky is not an option of least_conn directors",
		"10:1: directors.p.members: is empty: a p2c director needs at least one member",
		"11:1: directors.p: replicas is not an option of p2c directors",
	}},
	{"registered type's own option checks", `
[backends.a]
address = "127.0.0.1:80"
[directors.t]
type = "config_test_scaled"
members = ["a"]
factor = -2
modes = ["fast", 3]
fcator = 1
`, []string{
		"6:1: directors.t.factor: -2 is not > 0",
		"7:18: directors.t.modes[1]: expected a string, got the integer 3",
		"8:1: directors.t: fcator is not an option of config_test_scaled directors (did you mean factor?)",
	}},
	{"registered type's factory error without a key", `
[backends.a]
address = "127.0.0.1:80"
[directors.t]
type = "config_test_scaled"
members = ["a"]
factor = 7
`, []string{"3:12: directors.t: factor 7 and no modes: write modes = [...]"}},
	{"unknown backend type lists the registered ones", `
[backends.a]
type = "fcgi"
`, []string{`2:1: backends.a.type: unknown backend type "fcgi" (leave it out for a network backend, or use one of: synthetic)`}},
	{"director shares a backend's name", `
[backends.web]
address = "127.0.0.1:80"
[directors.web]
type = "round_robin"
members = ["web"]
`, []string{"3:12: directors.web: a backend has the same name"}},
	{"options of other director types", `
[backends.a]
address = "127.0.0.1:80"
[directors.d]
type = "round_robin"
members = ["a"]
replicas = 10
weights = { a = 2.0 }
sticky = true
[directors.h]
type = "hash"
members = ["a"]
key = ["url"]
sticky = false
`, []string{
		"6:1: directors.d: replicas is not an option of round_robin directors (only of shard)",
		"7:1: directors.d: weights is not an option of round_robin directors (only of random, hash, shard)",
		"8:1: directors.d: sticky is not an option of round_robin directors (only of fallback)",
		"13:1: directors.h: sticky is not an option of hash directors (only of fallback)",
	}},
	{"members", `
[backends.a]
address = "127.0.0.1:80"
[directors.d]
type = "fallback"
members = ["a", "zz", "a"]
[directors.e]
type = "random"
members = []
`, []string{
		`5:17: directors.d.members[1]: "zz" is neither a backend nor a director`,
		`5:23: directors.d.members[2]: "a" is listed twice`,
		"8:1: directors.e.members: is empty: a random director needs at least one member",
	}},
	{"saintmode", `
[backends.a]
address = "127.0.0.1:80"
[directors.s]
type = "saintmode"
members = ["a"]
threshold = -1
`, []string{
		`5:1: directors.s: saintmode directors wrap one member: write member = "NAME", not members`,
		"3:12: directors.s.member: is required",
		"6:1: directors.s.threshold: must be ≥ 0",
	}},
	{"weights", `
[backends.a]
address = "127.0.0.1:80"
[directors.r]
type = "random"
members = ["a"]
weights = { a = 0, b = 1.5 }
`, []string{
		"6:13: directors.r.weights.a: weight 0 must be > 0",
		`6:20: directors.r.weights.b: "b" is not a member`,
	}},
	{"key sources", `
[backends.a]
address = "127.0.0.1:80"
[directors.h]
type = "hash"
members = ["a"]
key = ["cookie:", "referer", "int:query:x", "header:X-Ok", "query:q"]
[directors.h2]
type = "hash"
members = ["a"]
`, []string{
		`6:8: directors.h.key[0]: "cookie:" has an invalid cookie name`,
		`6:19: directors.h.key[1]: "referer" is not a key source`,
		`6:30: directors.h.key[2]: "int:query:x" is not a key source: int: takes a header`,
		"7:12: directors.h2.key: is required for hash directors",
	}},
	{"shard options", `
[backends.a]
address = "127.0.0.1:80"
[directors.s]
type = "shard"
members = ["a"]
by = "key"
replicas = 0
alt = -1
healthy = "some"
rampup = "-1s"
warmup = 2.0
digest = "md5"
bound = 0.5
[directors.t]
type = "shard"
members = ["a"]
by = "url"
key = ["url"]
[directors.h]
type = "hash"
members = ["a"]
key = ["url", "int:header:X-Key"]
`, []string{
		"3:12: directors.s.key: is required with by = \"key\"",
		"7:1: directors.s.replicas: must be ≥ 1, got 0",
		"8:1: directors.s.alt: must be ≥ 0",
		`9:1: directors.s.healthy: "some" is not one of "chosen", "ignore", "all"`,
		`10:1: directors.s.rampup: "-1s" is negative`,
		"11:1: directors.s.warmup: 2 is not -1 (default) or in 0..1",
		`12:1: directors.s.digest: "md5" is not one of "sha256", "fnv1a"`,
		"13:1: directors.s.bound: 0.5 is not 0 (off) or ≥ 1.0",
		`18:1: directors.t.key: is only used with by = "key" (by is "url")`,
		`22:15: directors.h.key[1]: "int:header:X-Key": an int: source is the key itself, so it must be the only source`,
	}},
	{"shard idents", `
[backends.a]
address = "127.0.0.1:80"
[backends.b]
address = "127.0.0.1:81"
[directors.s]
type = "shard"
members = ["a", "b"]
idents = { b = "a", c = "x" }
`, []string{
		`8:1: directors.s.idents: members "a" and "b" both have ident "a"`,
		`8:21: directors.s.idents.c: "c" is not a member`,
	}},
	{"director cycle", `
[backends.x]
address = "127.0.0.1:80"
[directors.a]
type = "fallback"
members = ["b", "x"]
[directors.b]
type = "round_robin"
members = ["c"]
[directors.c]
type = "random"
members = ["a"]
`, []string{"3:12: directors.a: members form a cycle: a -> b -> c -> a"}},
	{"director cycle through saintmode and self", `
[directors.rr]
type = "round_robin"
members = ["sm"]
[directors.sm]
type = "saintmode"
member = "rr"
[directors.self]
type = "fallback"
members = ["self"]
`, []string{
		"1:12: directors.rr: members form a cycle: rr -> sm -> rr",
		"7:12: directors.self: members form a cycle: self -> self",
	}},
	{"routes", `
[backends.a]
address = "127.0.0.1:80"

[[routes]]
director = "a"

[[routes]]
host = "*bad*"
path_prefix = "img"
director = "nope"
retries = -1
retry_on = ["5xx", "teapot", "5xx"]

[[routes]]
retries = 2
`, []string{
		`8:1: routes[1].host: "*bad*" is not a host name`,
		`9:1: routes[1].path_prefix: "img" must start with "/"`,
		`10:1: routes[1].director: "nope" is neither a director nor a backend`,
		"11:1: routes[1].retries: must be ≥ 0, got -1",
		`12:20: routes[1].retry_on[1]: "teapot" is not one of "connect", "reset", "5xx", "timeout"`,
		`12:30: routes[1].retry_on[2]: "5xx" is listed twice`,
		"14:1: routes[2].director: is required",
		"15:1: routes[2].retries: has no effect without retry_on",
	}},
	{"rules", `
[backends.a]
address = "127.0.0.1:80"

[[request_rules]]
when = { src = ["10.0.0.0/33"], methd = ["GET"] }
respond = 403

[[request_rules]]
set_header = { "Content-Length" = "0" }
redirect = "/x"

[[routes]]
director = "a"
match = { path_regex = "(" }

[[routes.request_rules]]
director = "nope"

[[routes.response_rules]]
when = { status = [42] }
set_header = { "X-B" = "%{backend}" }
rate_limit = { rate = -1 }

[[response_rules]]
add_header = { "X" = 1 }
`, []string{
		`5:17: request_rules[0].when.src[0]: "10.0.0.0/33" is not an address or CIDR prefix`,
		"5:33: request_rules[0].when.methd: unknown key (did you mean method?)",
		"9:16: request_rules[1].set_header.Content-Length: Content-Length is a framing or hop-by-hop field: shellac sets it itself",
		"8:1: request_rules[1]: has several actions (set_header/add_header/del_header, redirect): give each its own rule",
		`14:11: routes[0].match.path_regex: not a regular expression: missing closing ) in "("`,
		`17:1: routes[0].request_rules[0].director: "nope" is neither a director nor a backend`,
		"19:1: routes[0].response_rules[0]: a response rule can only set_header, add_header or del_header, not rate_limit",
		"20:20: routes[0].response_rules[0].when.status[0]: 42 is neither a status (100-999) nor a class (1-5)",
		"22:16: routes[0].response_rules[0].rate_limit.rate: must be > 0 requests per 1s",
		"19:1: routes[0].response_rules[0]: has several actions (set_header/add_header/del_header, rate_limit): give each its own rule",
		"25:16: response_rules[0].add_header.X: expected a string, got the integer 1",
	}},
	{"inline tables", `
backends = { a = { adress = "127.0.0.1:80" } }
`, []string{
		"1:20: backends.a.adress: unknown key (did you mean address?)",
		"1:14: backends.a.address: is required",
	}},
	{"routes as inline array", `
routes = [{ director = "a" }, { director = "b", pipe = "yes" }]
`, []string{
		`1:13: routes[0].director: "a" is neither a director nor a backend`,
		`1:33: routes[1].director: "b" is neither a director nor a backend`,
		`1:49: routes[1].pipe: expected true or false, got the string "yes"`,
	}},
	{"many problems at once", `
[server]
listen = ["nowhere"]
event_loops = -1
[limits]
max_headerz = 5
[backends.a]
address = "127.0.0.1:0"
[directors.d]
type = "round_robin"
members = ["a", "b"]
[[routes]]
director = "d"
retry_on = ["connect"]
retries = 1
blacklist = "soon"
`, []string{
		`2:11: server.listen[0]: "nowhere" is not "host:port"`,
		"3:1: server.event_loops: must be ≥ 0",
		"5:1: limits.max_headerz: unknown key (did you mean max_headers?)",
		`7:1: backends.a.address: "127.0.0.1:0" has no valid port`,
		`10:17: directors.d.members[1]: "b" is neither a backend nor a director`,
		`15:1: routes[0].blacklist: "soon" is not a duration`,
	}},
}

func TestBrokenConfigs(t *testing.T) {
	for _, tc := range brokenConfigs {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.TrimPrefix(tc.src, "\n")
			cfg, err := Parse("t.toml", []byte(src))
			if err == nil {
				t.Fatalf("Parse succeeded; want %d errors", len(tc.want))
			}
			if cfg != nil {
				t.Errorf("Parse returned a Config with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors", err)
			}
			got := make([]bool, len(errs))
			for _, w := range tc.want {
				pos, msg, _ := strings.Cut(w, ": ")
				found := false
				for i, e := range errs {
					at := fmt.Sprintf("%d:%d", e.Line, e.Col)
					if !strings.Contains(pos, ":") {
						at = fmt.Sprint(e.Line)
					}
					if !got[i] && e.File == "t.toml" && at == pos && strings.Contains(e.Msg, msg) {
						got[i], found = true, true
						break
					}
				}
				if !found {
					t.Errorf("missing error %q", w)
				}
			}
			for i, e := range errs {
				if !got[i] {
					t.Errorf("unexpected error %q", e.Error())
				}
			}
		})
	}
}

func TestBrokenConfigCount(t *testing.T) {
	if n := len(brokenConfigs); n < 30 {
		t.Errorf("%d broken configs; want at least 30", n)
	}
}

func TestErrorsOrderAndFormat(t *testing.T) {
	src := "[log]\nlevel = \"x\"\n[server]\nevent_loops = -1\n"
	_, err := Parse("f.toml", []byte(src))
	want := "f.toml:2:1: log.level: \"x\" is not one of \"debug\", \"info\", \"warn\", \"error\"\n" +
		"f.toml:4:1: server.event_loops: must be ≥ 0 (0 = one per CPU)"
	if err == nil || err.Error() != want {
		t.Errorf("Parse error =\n%v\nwant\n%s", err, want)
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.toml", Line: 3, Col: 7, Msg: "m"}, "a.toml:3:7: m"},
		{Error{File: "a.toml", Line: 3, Msg: "m"}, "a.toml:3: m"},
		{Error{File: "a.toml", Msg: "m"}, "a.toml: m"},
		{Error{Msg: "m"}, "m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	e := Pos{File: "b.toml", Line: 2, Col: 4}.Errorf("director %s: %d", "x", 1)
	if got, want := e.Error(), "b.toml:2:4: director x: 1"; got != want {
		t.Errorf("Pos.Errorf = %q, want %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.toml")
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("Load error = %v, want one Errors entry", err)
	}
	if got, want := errs[0].Error(), "testdata/no-such-file.toml: no such file or directory"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

// scaled is the registered director type of the tests above: it checks
// its options as any factory outside shellac would.
type scaled struct{ directors.Set }

func (*scaled) Name() string                                    { return "scaled" }
func (d *scaled) Healthy(r *directors.Request) bool             { return d.Load().AnyHealthy(r) }
func (d *scaled) Resolve(r *directors.Request) directors.Member { return d.Load().PickByWeight(0, r) }

func init() {
	directors.Register("config_test_scaled", func(_ string, o *directors.Options) (directors.Cluster, error) {
		factor, e1 := o.Float("factor", 1)
		modes, e2 := o.Strings("modes")
		errs := []error{e1, e2}
		if e1 == nil && factor <= 0 {
			errs = append(errs, o.Errorf("factor", "%v is not > 0", factor))
		}
		if factor > 5 && e2 == nil && len(modes) == 0 {
			errs = append(errs, fmt.Errorf("factor %v and no modes: write modes = [...]", factor))
		}
		return &scaled{}, errors.Join(errs...)
	})
}
