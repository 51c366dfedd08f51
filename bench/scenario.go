package bench

import (
	"fmt"
	"strings"
)

// scenario is one kind of load the harness measures.
type scenario struct {
	name    string // short name for -scenarios and file names
	title   string // table heading
	method  string
	path    string
	body    []byte // request body, already chunk-encoded when chunked
	chunked bool   // the body is sent with Transfer-Encoding: chunked
	depth   int    // requests written back to back on a connection (pipelining)
	close   bool   // a new connection for every request
	idle    bool   // the memory-per-idle-connection scenario
	tls     bool   // over the TLS listener (peerParams.TLS)
	// resume makes every new connection resume a session from a ticket
	// cache the run's connections share (TLS scenarios with close only).
	resume bool
	// builtin runs the built-in generator even when wrk is there.
	builtin bool
}

// postSize is the size of the decoded body of the POST scenario.
const postSize = 64 << 10

// scenarios returns every scenario, in the order they run. The idle one
// runs last: it leaves proxies with the most memory, and it restarts them
// anyway.
func scenarios(depth, idle int) []*scenario {
	body := make([]byte, postSize)
	for i := range body {
		body[i] = 'A' + byte(i%26)
	}
	return []*scenario{
		{name: "get1k", title: "keep-alive GET, 1 KiB response", method: "GET", path: path1K, depth: 1},
		{name: "get16k", title: "keep-alive GET, 16 KiB response", method: "GET", path: path16K, depth: 1},
		{name: "close", title: "new connection per request (GET 1 KiB, Connection: close)", method: "GET", path: path1K, depth: 1, close: true},
		{name: "post64k", title: "POST 64 KiB, chunked request body", method: "POST", path: pathPost,
			body: appendChunked(nil, body, 16<<10), chunked: true, depth: 1},
		{name: "pipeline", title: fmt.Sprintf("pipelined GET 1 KiB, depth %d", depth), method: "GET", path: path1K, depth: depth},
		{name: "tls-keepalive-1k", title: "TLS keep-alive GET, 1 KiB response", method: "GET", path: path1K, depth: 1, tls: true},
		{name: "tls-handshake", title: "new TLS connection per request, full handshake (GET 1 KiB, Connection: close)",
			method: "GET", path: path1K, depth: 1, close: true, tls: true, builtin: true},
		{name: "tls-handshake-resumed", title: "new TLS connection per request, resumed from a session ticket (GET 1 KiB, Connection: close)",
			method: "GET", path: path1K, depth: 1, close: true, tls: true, resume: true, builtin: true},
		{name: "idle", title: fmt.Sprintf("%d idle keep-alive connections (memory per connection)", idle), method: "GET", path: path1K, depth: 1, idle: true},
		{name: "tls-idle", title: fmt.Sprintf("%d idle TLS keep-alive connections (memory per connection)", idle), method: "GET", path: path1K, depth: 1, idle: true, tls: true},
	}
}

// scenarioGroups are names -scenarios also accepts, each for several
// scenarios.
var scenarioGroups = map[string][]string{
	"tls":           {"tls-keepalive-1k", "tls-handshake", "tls-handshake-resumed", "tls-idle"},
	"tls-handshake": {"tls-handshake", "tls-handshake-resumed"}, // the full and the resumed row
}

// defaultScenarios lists the scenarios run without -scenarios: the
// cleartext ones. The TLS ones are asked for by name or as "tls".
func defaultScenarios() string {
	var names []string
	for _, sc := range scenarios(1, 1) {
		if !sc.tls {
			names = append(names, sc.name)
		}
	}
	return strings.Join(names, ",")
}

// scenarioNames lists the names scenarios accepts in -scenarios.
func scenarioNames() string {
	var names []string
	for _, sc := range scenarios(1, 1) {
		names = append(names, sc.name)
	}
	return strings.Join(names, ",")
}

// oneRequest returns the bytes of one request of sc to host.
func (sc *scenario) oneRequest(host string) []byte {
	b := fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: shellac-bench\r\n", sc.method, sc.path, host)
	if sc.close {
		b = append(b, "Connection: close\r\n"...)
	}
	if sc.chunked {
		b = append(b, "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n"...)
	} else if len(sc.body) > 0 {
		b = fmt.Appendf(b, "Content-Length: %d\r\n", len(sc.body))
	}
	b = append(b, "\r\n"...)
	return append(b, sc.body...)
}

// request returns the bytes written per round trip: depth requests back
// to back.
func (sc *scenario) request(host string) []byte {
	one := sc.oneRequest(host)
	var b []byte
	for range max(sc.depth, 1) {
		b = append(b, one...)
	}
	return b
}
