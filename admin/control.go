package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/health"
	"github.com/shellac-lb/shellac/proxy"
	"github.com/shellac-lb/shellac/route"
)

// Control is the running instance the admin API drives; app.App
// implements it. Every method is safe for concurrent use. Methods that
// change something return an *Error for a request the API should refuse
// with a given status, a config.Errors when the change would make the
// configuration invalid, and any other error for a failure of the server.
type Control interface {
	// View returns the current state, for reading only.
	View() View
	// PutBackend adds the backend name, or replaces its settings, from
	// fields: its [backends.NAME] table decoded from JSON, keyed by the
	// TOML key names.
	PutBackend(name string, fields map[string]any) error
	// DeleteBackend removes the backend name from every director and
	// drains it.
	DeleteBackend(name string) error
	// SetHealth sets the operator override of the backend name.
	SetHealth(name string, s directors.AdminState) error
	// Uneject returns the backend name to service if outlier detection
	// ejected it, and reports whether it had.
	Uneject(name string) (bool, error)
	// PutMember adds member to the director, or updates its weight; a
	// weight of 0 means "not given" (1 for a new member, unchanged for an
	// existing one).
	PutMember(director, member string, weight float64) error
	// DeleteMember removes member from the director.
	DeleteMember(director, member string) error
	// Reload re-reads the configuration file; on error the running
	// configuration stays.
	Reload() error
}

// View is a consistent snapshot of what the admin API reports: the live
// topology and the configuration it was built from (run-time changes
// included). Neither may be modified. Counters in the topology keep
// moving; they are read when reported.
type View struct {
	Table  *route.Table
	Config *config.Config
	// Probe returns the probe state of b, false when b is not probed.
	Probe func(b *directors.Backend) (health.Status, bool)
	// ClientConns is the number of open client connections.
	ClientConns int64
	// Proxy holds the proxy's own counters.
	Proxy proxy.Stats
	// AccessLogDropped counts access log lines dropped because the
	// writer fell behind.
	AccessLogDropped uint64
	// Reloads and ReloadFailures count configuration reloads (file and
	// run-time changes) that succeeded and that were refused.
	Reloads, ReloadFailures uint64
	// Discovery is the state of each DNS-discovery template.
	Discovery []DiscoveryStatus
	// DiscoveryErrors counts sets of endpoints the configuration refused.
	DiscoveryErrors uint64
}

// DiscoveryStatus is the state of one DNS-discovery template.
type DiscoveryStatus struct {
	Backend string `json:"backend"`
	Target  string `json:"target"`
	// Endpoints are the host:port of the backends discovered (named
	// BACKEND:host:port).
	Endpoints []string `json:"endpoints"`
	// Lookups, Failures and Empty count lookups, failed ones and those
	// answered with no record (a failure too: the last set is kept).
	Lookups   uint64    `json:"lookups"`
	Failures  uint64    `json:"failures"`
	Empty     uint64    `json:"empty"`
	LastOK    time.Time `json:"last_ok,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Error is a refused admin request: its status code and a message that
// says why.
type Error struct {
	Status int
	Msg    string
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error with status and a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// NotFound returns a 404 *Error naming what is missing.
func NotFound(kind, name string) *Error {
	return Errorf(http.StatusNotFound, "no %s %q", kind, name)
}

// errorBody is every error answer: {"error": "..."}, plus the list of
// configuration errors when there are several.
type errorBody struct {
	Error  string   `json:"error"`
	Errors []string `json:"errors,omitempty"`
}

// errorResponse maps err onto a status and a body.
func errorResponse(err error, configStatus int) (int, errorBody) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status, errorBody{Error: ae.Msg}
	}
	var ce config.Errors
	if errors.As(err, &ce) {
		b := errorBody{Errors: make([]string, len(ce))}
		for i, e := range ce {
			b.Errors[i] = e.Error()
		}
		if len(ce) == 1 {
			b.Error = "invalid configuration: " + ce[0].Error()
		} else {
			b.Error = fmt.Sprintf("invalid configuration: %d errors: %s", len(ce), strings.Join(b.Errors, "; "))
		}
		return configStatus, b
	}
	return http.StatusInternalServerError, errorBody{Error: err.Error()}
}
