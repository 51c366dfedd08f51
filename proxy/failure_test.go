package proxy

import (
	"errors"
	"fmt"
	"testing"

	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/pool"
	"github.com/shellac-lb/shellac/route"
)

// TestStatusFor pins the failure → status → retry_on map that docs/spec.md
// section 4 documents.
func TestStatusFor(t *testing.T) {
	connectTimeout := fmt.Errorf("%w: backend a after 1s", pool.ErrConnectTimeout)
	tests := []struct {
		name   string
		f      failure
		status int
		retry  route.RetryOn
	}{
		{"connect refused", failure{kind: failConnect, cause: errors.New("connection refused")}, 502, route.RetryConnect},
		{"connect timed out", failure{kind: failConnect, cause: connectTimeout}, 504, route.RetryConnect},
		{"reset", failure{kind: failReset}, 502, route.RetryReset},
		{"stale reset", failure{kind: failReset, stale: true}, 502, route.RetryReset},
		{"first-byte timeout", failure{kind: failTimeout}, 504, route.RetryTimeout},
		{"bad response head", failure{kind: failProtocol, cause: errors.New("http1: malformed status line")}, 502, route.RetryReset},
		{"unasked 101", failure{kind: failProtocol, cause: errUnexpected101}, 502, route.RetryReset},
		{"5xx", failure{kind: fail5xx}, 502, route.Retry5xx},
		{"nothing healthy", failure{kind: failUnavailable}, 503, 0},
		{"malformed request", failure{kind: failBadRequest, cause: &http1.Error{Status: 400, Msg: "x"}}, 400, 0},
		{"request line too long", failure{kind: failBadRequest, cause: &http1.Error{Status: 414, Msg: "x"}}, 414, 0},
		{"wrapped parse error", failure{kind: failBadRequest, cause: fmt.Errorf("head: %w", &http1.Error{Status: 431, Msg: "x"})}, 431, 0},
		{"malformed, no status", failure{kind: failBadRequest, cause: errors.New("bad")}, 400, 0},
		{"bad chunked start", failure{kind: failBadRequest, cause: errBadChunkedStart}, 400, 0},
		{"client too slow", failure{kind: failClientTimeout}, 408, 0},
		{"body too large", failure{kind: failTooLarge}, 413, 0},
		{"unknown kind", failure{kind: 200}, 500, 0},
	}
	for _, tc := range tests {
		if got := statusFor(tc.f); got != tc.status {
			t.Errorf("%s: statusFor = %d; want %d", tc.name, got, tc.status)
		}
		if got := tc.f.retryKind(); got != tc.retry {
			t.Errorf("%s: retryKind = %v; want %v", tc.name, got, tc.retry)
		}
	}
}
