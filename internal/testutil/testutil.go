// Package testutil holds what shellac's tests in several packages share:
// free loopback addresses, a silent logger and a small admin API client.
// It imports only the standard library and internal/certgen (which imports
// only the standard library), so any package's tests may use it.
package testutil

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// Quiet is a logger that discards everything.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Client sends requests to an admin API (or any HTTP server) and fails
// the test on transport errors.
type Client struct {
	T     testing.TB
	Base  string // "http://host:port"
	Token string // bearer token sent when not empty
	HTTP  *http.Client
}

// Do sends a request (body may be empty) and returns the status, body and
// header of the answer.
func (c *Client) Do(method, path, body string) (int, string, http.Header) {
	c.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.T.Fatal(err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Must is Do, failing the test unless the status is want.
func (c *Client) Must(want int, method, path, body string) string {
	c.T.Helper()
	code, out, _ := c.Do(method, path, body)
	if code != want {
		c.T.Fatalf("%s %s %s: %d %s; want %d", method, path, body, code, out, want)
	}
	return out
}
