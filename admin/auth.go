package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// authLogEvery bounds how often refused authentications are logged: one
// line per interval at most, with the count since the last one, so that a
// brute-force attempt cannot flood the log.
const authLogEvery = time.Second

// tokenCheck checks bearer tokens. It keeps only the token's SHA-256, and
// compares digests in constant time, so that neither the content nor the
// length of the token leaks through timing; the token itself is never
// logged, shown or put in an error.
type tokenCheck struct {
	sum [sha256.Size]byte
	log *slog.Logger

	failures atomic.Uint64 // refused requests since start

	mu        sync.Mutex
	lastLog   time.Time
	unlogged  uint64 // refusals since the last log line
	lastPeers []string
}

func newTokenCheck(token string, log *slog.Logger) *tokenCheck {
	return &tokenCheck{sum: sha256.Sum256([]byte(token)), log: log}
}

// ok reports whether the Authorization header carries the token.
func (t *tokenCheck) ok(header string) bool {
	got, found := strings.CutPrefix(header, "Bearer ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 && found
}

// refused counts a refused request and logs, at most once per
// authLogEvery, how many there were and from which addresses.
func (t *tokenCheck) refused(remote string) {
	t.failures.Add(1)
	host := remote
	if i := strings.LastIndexByte(remote, ':'); i > 0 {
		host = remote[:i]
	}
	now := time.Now()
	t.mu.Lock()
	t.unlogged++
	if len(t.lastPeers) < 8 && !contains(t.lastPeers, host) {
		t.lastPeers = append(t.lastPeers, host)
	}
	if now.Sub(t.lastLog) < authLogEvery {
		t.mu.Unlock()
		return
	}
	n, peers := t.unlogged, t.lastPeers
	t.lastLog, t.unlogged, t.lastPeers = now, 0, nil
	t.mu.Unlock()
	t.log.Warn("admin: refused requests with a missing or wrong bearer token", "count", n, "from", peers, "total", t.failures.Load())
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// auth requires the bearer token on every request when one is set.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.token == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.token.ok(r.Header.Get("Authorization")) {
			s.token.refused(r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="shellac admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// AuthFailures returns the number of requests refused for a missing or
// wrong token since the server was created.
func (s *Server) AuthFailures() uint64 {
	if s.token == nil {
		return 0
	}
	return s.token.failures.Load()
}
