package directors

import (
	"crypto/tls"
	"sync/atomic"
	"time"
)

// AdminState is an operator's override of a backend's health, as
// `varnishadm backend.set_health`.
type AdminState int32

// Admin states.
const (
	AdminAuto    AdminState = iota // the probe decides (healthy without a probe)
	AdminHealthy                   // forced healthy
	AdminSick                      // forced sick
)

// String returns "auto", "healthy" or "sick".
func (s AdminState) String() string {
	switch s {
	case AdminHealthy:
		return "healthy"
	case AdminSick:
		return "sick"
	}
	return "auto"
}

// BackendConfig is the immutable description of a leaf backend.
type BackendConfig struct {
	// Network is "tcp" or "unix"; empty for a backend with a Responder.
	Network string
	// Address is "host:port" for tcp or a socket path for unix.
	Address string

	ConnectTimeout      time.Duration // dial timeout
	FirstByteTimeout    time.Duration // 504 when the response head does not start in time
	BetweenBytesTimeout time.Duration // the response is cut off when the body stalls longer
	MaxConnections      int           // busy connections; 0 = unlimited
	MaxIdle             int           // idle keep-alive connections kept
	IdleTimeout         time.Duration // idle connections are closed after this
	HostHeader          string        // Host to send when the request has none
	ProxyHeader         int           // 0, 1 or 2: PROXY protocol header on each new connection
	Outlier             OutlierPolicy // passive health (outlier.go); the zero policy is off

	// TLS, when set, makes every connection to the backend TLS: pooled
	// connections and probes alike. It is used as given (its ServerName
	// is sent and verified unless InsecureSkipVerify) and must not be
	// changed once the backend is in use.
	TLS *tls.Config
	// TLSStamp identifies what TLS was built from, so that a reload can
	// tell a changed TLS setup from an unchanged one (see SameConfig).
	TLSStamp string
}

// SameConfig reports whether a and b describe the same backend: equal in
// every field, TLS set alike and of the same stamp.
func SameConfig(a, b *BackendConfig) bool {
	x, y := *a, *b
	if (x.TLS == nil) != (y.TLS == nil) {
		return false
	}
	x.TLS, y.TLS = nil, nil
	return x == y
}

// Backend is a leaf of the director tree: where a request is sent, or, with
// a Responder, a backend that answers by itself. Its state is made of
// atomics read on the request path and written by probes and the admin API.
// A Backend must not be copied.
type Backend struct {
	name string
	id   int
	cfg  BackendConfig
	resp Responder

	probeOK atomic.Bool  // verdict of the probe (true without a probe)
	admin   atomic.Int32 // AdminState
	changed atomic.Int64 // Unix nanos of the last effective health change
	gone    atomic.Bool  // removed from the configuration; draining

	inflight atomic.Int64 // requests being served now (all event loops)
	open     atomic.Int64 // open network connections, busy or idle
	idle     atomic.Int64 // idle pooled connections

	requests atomic.Uint64 // requests sent (tries, retries included)
	failures atomic.Uint64 // failed tries: connect errors, resets, timeouts

	outlier outlierState // passive health (outlier.go)

	Stats BackendStats
}

// BackendStats are per-backend counters kept as atomics on the request path.
type BackendStats struct {
	Responses     [6]atomic.Uint64 // by status class: [1] 1xx … [5] 5xx; [0] unused
	ConnectErrors atomic.Uint64
	Timeouts      atomic.Uint64
	Resets        atomic.Uint64
	Retries       atomic.Uint64 // tries retried elsewhere after failing here
	BytesIn       atomic.Uint64 // response bytes received
	BytesOut      atomic.Uint64 // request bytes sent
}

var nextBackendID atomic.Int64

// NewBackend returns a network backend named name, healthy until a probe or
// the admin API says otherwise.
func NewBackend(name string, cfg BackendConfig) *Backend {
	b := &Backend{name: name, cfg: cfg, id: int(nextBackendID.Add(1) - 1)}
	b.probeOK.Store(true)
	b.changed.Store(time.Now().UnixNano())
	return b
}

// NewResponderBackend returns a backend named name that answers every
// request itself through resp, without a network connection.
func NewResponderBackend(name string, resp Responder) *Backend {
	b := NewBackend(name, BackendConfig{})
	b.resp = resp
	return b
}

// Name returns the backend's configured name.
func (b *Backend) Name() string { return b.name }

// ID returns a small dense integer unique to this backend in the process,
// for per-event-loop tables indexed by backend.
func (b *Backend) ID() int { return b.id }

// Config returns the backend's configuration.
func (b *Backend) Config() *BackendConfig { return &b.cfg }

// Responder returns the backend's Responder, or nil for a network backend.
func (b *Backend) Responder() Responder { return b.resp }

// Healthy reports whether b can take r: its admin state or probe verdict is
// good, it is not ejected (outlier.go), it is below max_connections busy
// connections, and r did not exclude it after a failed try. r may be nil.
func (b *Backend) Healthy(r *Request) bool {
	if !b.usable(r) {
		return false
	}
	if r != nil && r.ntried > 0 && r.Excluded(b) {
		return false
	}
	return true
}

// Usable reports whether b is healthy, not ejected and not full,
// regardless of any request.
func (b *Backend) Usable() bool { return b.usable(nil) }

// usable is Usable at r's clock (the wall clock when r is nil).
func (b *Backend) usable(r *Request) bool {
	switch AdminState(b.admin.Load()) {
	case AdminSick:
		return false
	case AdminAuto:
		if !b.probeOK.Load() {
			return false
		}
	}
	if b.gone.Load() {
		return false
	}
	if u := b.outlier.until.Load(); u != 0 && b.stillEjected(u, r.now()) {
		return false
	}
	if m := b.cfg.MaxConnections; m > 0 && b.inflight.Load() >= int64(m) {
		return false
	}
	return true
}

// Sick reports whether b's health (admin override or probe) is bad,
// ignoring its connection limit.
func (b *Backend) Sick() bool {
	switch AdminState(b.admin.Load()) {
	case AdminSick:
		return true
	case AdminHealthy:
		return false
	}
	return !b.probeOK.Load()
}

// SetProbeHealthy records the probe's verdict. Called by health probes.
func (b *Backend) SetProbeHealthy(ok bool) {
	before := b.Sick()
	b.probeOK.Store(ok)
	if before != b.Sick() {
		b.changed.Store(time.Now().UnixNano())
	}
}

// ProbeHealthy returns the probe's last verdict.
func (b *Backend) ProbeHealthy() bool { return b.probeOK.Load() }

// SetAdminState sets the operator override. Forcing b healthy also ends
// its ejection, if any, and keeps it from being ejected while it lasts.
func (b *Backend) SetAdminState(s AdminState) {
	before := b.Sick()
	b.admin.Store(int32(s))
	if s == AdminHealthy {
		b.Uneject()
	}
	if before != b.Sick() {
		b.changed.Store(time.Now().UnixNano())
	}
}

// AdminState returns the operator override.
func (b *Backend) AdminState() AdminState { return AdminState(b.admin.Load()) }

// Changed returns when b's effective health last changed (Unix nanos); for a
// backend that never changed, when it was created. Shard's rampup uses it.
func (b *Backend) Changed() int64 { return b.changed.Load() }

// SetGone marks b as removed from the configuration: it takes no new
// requests and its connections drain.
func (b *Backend) SetGone() { b.gone.Store(true) }

// Gone reports whether b was removed.
func (b *Backend) Gone() bool { return b.gone.Load() }

// Inflight returns the number of requests b is serving now.
func (b *Backend) Inflight() int64 { return b.inflight.Load() }

// Begin records the start of a try on b.
func (b *Backend) Begin() {
	b.inflight.Add(1)
	b.requests.Add(1)
}

// End records the end of a try on b; failed reports whether it failed.
func (b *Backend) End(failed bool) {
	b.inflight.Add(-1)
	if failed {
		b.failures.Add(1)
	}
}

// Requests returns the number of tries sent to b.
func (b *Backend) Requests() uint64 { return b.requests.Load() }

// Failures returns the number of failed tries on b.
func (b *Backend) Failures() uint64 { return b.failures.Load() }

// ConnOpened records a new open connection to b. Called by proxy.
func (b *Backend) ConnOpened() { b.open.Add(1) }

// ConnClosed records that a connection to b closed. Called by proxy.
func (b *Backend) ConnClosed() { b.open.Add(-1) }

// ConnIdle adds delta to b's count of idle pooled connections. Called by
// the connection pool.
func (b *Backend) ConnIdle(delta int64) { b.idle.Add(delta) }

// OpenConns returns the number of open connections to b.
func (b *Backend) OpenConns() int64 { return b.open.Load() }

// IdleConns returns the number of idle pooled connections to b.
func (b *Backend) IdleConns() int64 { return b.idle.Load() }

var _ Member = (*Backend)(nil)
