package proxy

import (
	"errors"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/pool"
	"github.com/shellac-lb/shellac/route"
)

// failKind is what went wrong with a request or with one try of it. Every
// status shellac answers by itself comes from a failure through statusFor.
type failKind uint8

const (
	// Backend side: a try failed.
	failConnect     failKind = iota + 1 // the connect was refused, unreachable or timed out
	failReset                           // the backend closed or reset the connection
	failTimeout                         // no response head within first_byte_timeout, or the body stalled past between_bytes_timeout
	failProtocol                        // the backend answered something that is not HTTP/1.1: a bad head or body framing, an unasked-for 101
	fail5xx                             // the backend answered 5xx: retried where the route says so, else relayed as it is
	failUnavailable                     // no backend could take the request: none healthy, or all at max_connections

	// Client side: the request cannot be served.
	failBadRequest    // the request is malformed; cause is the parser's *http1.Error, which carries its status
	failClientTimeout // the client did not send its head or body in time
	failTooLarge      // the body is over max_body_bytes
)

// failure is one failed request or try: its kind and, when there is one,
// the error that caused it.
type failure struct {
	kind  failKind
	cause error
	// stale marks a reset on a pooled connection reused for this try
	// before any response byte arrived: the backend had closed it while
	// it was idle, and the request may be sent again on a fresh one.
	stale bool
}

// failures maps each kind to the status answered when no retry saves the
// request and to the retry_on kind that retries it (0: never retried).
// A bad response head counts as a reset for retry_on, as in Varnish,
// where both end in a fetch failure.
var failures = [...]struct {
	status int
	retry  route.RetryOn
}{
	failConnect:       {http1.StatusBadGateway, route.RetryConnect},
	failReset:         {http1.StatusBadGateway, route.RetryReset},
	failTimeout:       {http1.StatusGatewayTimeout, route.RetryTimeout},
	failProtocol:      {http1.StatusBadGateway, route.RetryReset},
	fail5xx:           {http1.StatusBadGateway, route.Retry5xx},
	failUnavailable:   {http1.StatusUnavailable, 0},
	failBadRequest:    {http1.StatusBadRequest, 0},
	failClientTimeout: {http1.StatusRequestTimeout, 0},
	failTooLarge:      {http1.StatusContentTooLarge, 0},
}

// statusFor returns the status to answer for f: the table's, except that
// a connect that timed out is a 504 and a malformed request answers the
// status its parse error carries (414, 431, 501 …).
func statusFor(f failure) int {
	switch f.kind {
	case failConnect:
		if errors.Is(f.cause, pool.ErrConnectTimeout) {
			return http1.StatusGatewayTimeout
		}
	case failBadRequest:
		var he *http1.Error
		if errors.As(f.cause, &he) && he.Status != 0 {
			return he.Status
		}
	}
	if int(f.kind) < len(failures) && failures[f.kind].status != 0 {
		return failures[f.kind].status
	}
	return http1.StatusInternalError
}

// retryKind returns the retry_on kind that covers f, or 0.
func (f failure) retryKind() route.RetryOn {
	if int(f.kind) < len(failures) {
		return failures[f.kind].retry
	}
	return 0
}

// countFailure adds f to b's counters (connect errors, resets, timeouts).
func countFailure(b *directors.Backend, k failKind) {
	switch k {
	case failConnect:
		b.Stats.ConnectErrors.Add(1)
	case failReset:
		b.Stats.Resets.Add(1)
	case failTimeout:
		b.Stats.Timeouts.Add(1)
	}
}

// errBadChunkedStart reports a chunked request body whose first bytes,
// which arrived with the head, are not valid chunked framing.
var errBadChunkedStart = &http1.Error{Status: http1.StatusBadRequest, Msg: "malformed chunked body"}
