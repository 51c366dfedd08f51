package route

import "strings"

// RetryOn is a set of failure kinds a route retries on another backend.
type RetryOn uint8

// Failure kinds, as retry_on names them.
const (
	RetryConnect RetryOn = 1 << iota // "connect": connect refused or timed out
	RetryReset                       // "reset": closed, reset or answered garbage before a response
	Retry5xx                         // "5xx": the backend answered 5xx
	RetryTimeout                     // "timeout": no response head within first_byte_timeout
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
