package route

import (
	"strings"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// RetryOn is a set of failure kinds a route retries on another backend.
type RetryOn uint8

// Failure kinds, as retry_on (and a backend's outlier_on) names them.
// They are the bits of directors.FailKind, so a RetryOn converts to the
// kinds outlier detection counts.
const (
	RetryConnect = RetryOn(directors.FailConnect) // "connect": connect refused or timed out
	RetryReset   = RetryOn(directors.FailReset)   // "reset": closed, reset or answered garbage before a response
	Retry5xx     = RetryOn(directors.Fail5xx)     // "5xx": the backend answered 5xx
	RetryTimeout = RetryOn(directors.FailTimeout) // "timeout": no response head within first_byte_timeout
)

// retryNames is the one list of retry_on names: the configuration's
// validator and the table builder both read it through ParseRetryOn.
var retryNames = [...]struct {
	name string
	kind RetryOn
}{
	{"connect", RetryConnect},
	{"reset", RetryReset},
	{"5xx", Retry5xx},
	{"timeout", RetryTimeout},
}

// ParseRetryOn returns the kind a retry_on name stands for.
func ParseRetryOn(name string) (RetryOn, bool) {
	for _, n := range retryNames {
		if n.name == name {
			return n.kind, true
		}
	}
	return 0, false
}

// RetryOnNames returns every retry_on name, in the order the
// documentation lists them.
func RetryOnNames() []string {
	out := make([]string, len(retryNames))
	for i, n := range retryNames {
		out[i] = n.name
	}
	return out
}

// Has reports whether s contains k.
func (s RetryOn) Has(k RetryOn) bool { return s&k != 0 }

// String returns the names of the kinds in s, comma-separated.
func (s RetryOn) String() string {
	var b strings.Builder
	for _, n := range retryNames {
		if s.Has(n.kind) {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// RetryPolicy is a route's retry settings (retries, retry_on, blacklist).
type RetryPolicy struct {
	// Max is how many other backends are tried after the first try fails.
	Max int
	// On is the set of failure kinds retried.
	On RetryOn
	// Blacklist, when positive, blacklists a failed (backend, object) for
	// this long in every saintmode director on the resolution path.
	Blacklist time.Duration
	// Budget, when not nil, caps the route's retries in flight (budget.go).
	Budget *RetryBudget
}

// Allows reports whether the policy retries a failure of kind k after
// tries tries (the first try counts as one).
func (p RetryPolicy) Allows(k RetryOn, tries int) bool {
	return tries <= p.Max && p.On.Has(k)
}

// Blacklisting reports whether a failure of kind k blacklists the failed
// (backend, object) in the saintmode directors on the resolution path:
// the route has a blacklist TTL and k is one of its retry_on kinds. It
// does so whether or not a retry follows, as Varnish users call
// saintmode.blacklist() before return(retry).
func (p RetryPolicy) Blacklisting(k RetryOn) bool {
	return p.Blacklist > 0 && p.On.Has(k)
}
