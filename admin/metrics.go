package admin

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/health"
)

// collector exposes shellac's state to Prometheus. It keeps no metric
// values of its own: every scrape reads the atomics the event loops and
// probes already maintain (directors.Backend and its Stats), so the
// request path pays nothing for metrics.
type collector struct {
	ctl Control

	backendRequests, backendFailures, backendResponses    *prometheus.Desc
	backendConnectErrors, backendTimeouts, backendReset   *prometheus.Desc
	backendRetries, backendBytesIn, backendBytesOut       *prometheus.Desc
	backendHealthy, backendAdmin, backendInflight         *prometheus.Desc
	backendOpen, backendIdle                              *prometheus.Desc
	backendEjected, backendEjections, backendEjectRefused *prometheus.Desc
	backendsEjected, retries, retryBudgetRefused          *prometheus.Desc

	probeHealthy, probeGood, probeWindow, probeThreshold *prometheus.Desc
	probeProbes, probeLastDuration, probeLastOK          *prometheus.Desc

	directorHealthy, directorMembers *prometheus.Desc
	saintBlacklisted, saintThreshold *prometheus.Desc

	clientConns, accessDropped, reloads  *prometheus.Desc
	clientRefused, clientHalfClosed      *prometheus.Desc
	tlsHandshakes, tlsInFlight           *prometheus.Desc
	tlsBackendHandshakes                 *prometheus.Desc
	discLookups, discFailures, discEmpty *prometheus.Desc
	discEndpoints, discErrors            *prometheus.Desc
	rateLimited, rateEvictions           *prometheus.Desc
}

func newCollector(ctl Control) *collector {
	b := []string{"backend"}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("shellac_"+name, help, labels, nil)
	}
	return &collector{
		ctl:                  ctl,
		backendRequests:      desc("backend_requests_total", "Tries sent to the backend, retries included.", b...),
		backendFailures:      desc("backend_failures_total", "Failed tries: connect errors, resets, timeouts, retried 5xx.", b...),
		backendResponses:     desc("backend_responses_total", "Responses received from the backend, by status class.", "backend", "class"),
		backendConnectErrors: desc("backend_connect_errors_total", "Connections to the backend that could not be opened.", b...),
		backendTimeouts:      desc("backend_timeouts_total", "First-byte and between-bytes timeouts.", b...),
		backendReset:         desc("backend_resets_total", "Connections reset or closed by the backend before a response.", b...),
		backendRetries:       desc("backend_retries_total", "Tries that failed on the backend and were retried elsewhere.", b...),
		backendBytesIn:       desc("backend_received_bytes_total", "Response bytes received from the backend.", b...),
		backendBytesOut:      desc("backend_sent_bytes_total", "Request bytes (heads and bodies) sent to the backend.", b...),
		backendHealthy:       desc("backend_healthy", "1 when the backend is healthy (admin override, else probe), 0 when sick.", b...),
		backendAdmin:         desc("backend_admin_state", "1 for the backend's operator override state (auto, healthy, sick).", "backend", "state"),
		backendInflight:      desc("backend_inflight_requests", "Requests being served by the backend now.", b...),
		backendOpen:          desc("backend_open_connections", "Open connections to the backend, busy or idle.", b...),
		backendIdle:          desc("backend_idle_connections", "Idle keep-alive connections to the backend.", b...),
		backendEjected:       desc("backend_ejected", "1 while outlier detection keeps the backend out of service (backends with outlier_consecutive set).", b...),
		backendEjections:     desc("backend_ejections_total", "Times outlier detection ejected the backend.", b...),
		backendEjectRefused:  desc("backend_ejections_refused_total", "Failures past outlier_consecutive that a director's max_ejection_percent kept from ejecting the backend.", b...),
		backendsEjected:      desc("backends_ejected", "Backends ejected by outlier detection now."),
		retries:              desc("retries_total", "Retries sent to another backend under a route's retry policy."),
		retryBudgetRefused:   desc("retry_budget_refused_total", "Retries a route's retry budget refused (the failure was answered)."),

		probeHealthy:      desc("probe_healthy", "The probe's own verdict: 1 healthy, 0 sick.", b...),
		probeGood:         desc("probe_window_good", "Good results in the probe window.", b...),
		probeWindow:       desc("probe_window_size", "Results the probe window keeps.", b...),
		probeThreshold:    desc("probe_threshold", "Good results needed to be healthy.", b...),
		probeProbes:       desc("probe_checks_total", "Probes run since the backend's prober started.", b...),
		probeLastDuration: desc("probe_last_duration_seconds", "Duration of the last probe.", b...),
		probeLastOK:       desc("probe_last_success", "1 when the last probe was good, 0 otherwise.", b...),

		directorHealthy:  desc("director_healthy", "1 when the director can resolve to a healthy backend.", "director", "type"),
		directorMembers:  desc("director_members", "Members of the director.", "director", "type"),
		saintBlacklisted: desc("saintmode_blacklisted_objects", "Objects blacklisted now by a saintmode director.", "director", "backend"),
		saintThreshold:   desc("saintmode_threshold", "Blacklisted objects that make the saintmode member sick for all (0: none).", "director", "backend"),

		clientConns:   desc("client_connections", "Open client connections."),
		accessDropped: desc("access_log_dropped_total", "Access log lines dropped because the writer fell behind."),
		reloads:       desc("config_reloads_total", "Configuration changes applied (file reloads and run-time changes), by result.", "result"),

		clientRefused:        desc("client_connections_refused_total", "Client connections closed at once because a connection limit was reached, by limit.", "limit"),
		tlsHandshakes:        desc("tls_handshakes_total", "TLS handshakes by result: full, resumed (by a session ticket), failed (bad hello, no shared protocol, timeout), refused (max_tls_handshakes under way).", "result"),
		tlsInFlight:          desc("tls_handshakes_in_flight", "TLS handshakes under way."),
		tlsBackendHandshakes: desc("tls_backend_handshakes_total", "TLS handshakes with backends that succeeded, full or resumed (a failed one is the backend's connect error).", "result"),
		clientHalfClosed:     desc("client_half_closed_total", "Clients answered after they shut their sending side down."),
		discLookups:          desc("discovery_lookups_total", "DNS lookups of a discovery template.", "backend"),
		discFailures:         desc("discovery_failures_total", "DNS lookups that failed or came back empty (the last good endpoints are kept).", "backend"),
		discEmpty:            desc("discovery_empty_total", "DNS lookups answered with no usable record.", "backend"),
		discEndpoints:        desc("discovery_endpoints", "Endpoints a discovery template currently has.", "backend"),
		discErrors:           desc("discovery_refused_total", "Sets of discovered endpoints the configuration refused."),
		rateLimited:          desc("rate_limited_total", "Requests a rate_limit rule answered 429, by the rule's place in the configuration.", "rule"),
		rateEvictions:        desc("rate_limit_evictions_total", "Keys with a partly spent bucket pushed out of a full rate-limit table (they start again full).", "rule"),
	}
}

// Describe sends every metric's description.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.backendRequests, c.backendFailures, c.backendResponses, c.backendConnectErrors,
		c.backendTimeouts, c.backendReset, c.backendRetries, c.backendBytesIn, c.backendBytesOut,
		c.backendHealthy, c.backendAdmin, c.backendInflight, c.backendOpen, c.backendIdle,
		c.backendEjected, c.backendEjections, c.backendEjectRefused, c.backendsEjected,
		c.retries, c.retryBudgetRefused,
		c.probeHealthy, c.probeGood, c.probeWindow, c.probeThreshold, c.probeProbes,
		c.probeLastDuration, c.probeLastOK,
		c.directorHealthy, c.directorMembers, c.saintBlacklisted, c.saintThreshold,
		c.clientConns, c.accessDropped, c.reloads, c.clientRefused, c.clientHalfClosed, c.tlsHandshakes, c.tlsInFlight, c.tlsBackendHandshakes,
		c.discLookups, c.discFailures, c.discEmpty, c.discEndpoints, c.discErrors,
		c.rateLimited, c.rateEvictions,
	} {
		ch <- d
	}
}

// Collect reads the current values. Called by the registry on a scrape.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	v := c.ctl.View()
	counter := func(d *prometheus.Desc, x uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(x), labels...)
	}
	gauge := func(d *prometheus.Desc, x float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, x, labels...)
	}
	ejected := 0
	for name, b := range v.Table.Backends {
		if os := b.OutlierStatus(0); os.Enabled {
			gauge(c.backendEjected, b2f(os.Ejected), name)
			counter(c.backendEjections, os.Ejections, name)
			counter(c.backendEjectRefused, os.Refused, name)
			if os.Ejected {
				ejected++
			}
		}
		s := &b.Stats
		counter(c.backendRequests, b.Requests(), name)
		counter(c.backendFailures, b.Failures(), name)
		for k := 1; k <= 5; k++ {
			counter(c.backendResponses, s.Responses[k].Load(), name, statusClasses[k])
		}
		counter(c.backendConnectErrors, s.ConnectErrors.Load(), name)
		counter(c.backendTimeouts, s.Timeouts.Load(), name)
		counter(c.backendReset, s.Resets.Load(), name)
		counter(c.backendRetries, s.Retries.Load(), name)
		counter(c.backendBytesIn, s.BytesIn.Load(), name)
		counter(c.backendBytesOut, s.BytesOut.Load(), name)
		gauge(c.backendHealthy, b2f(!b.Sick()), name)
		for _, st := range []directors.AdminState{directors.AdminAuto, directors.AdminHealthy, directors.AdminSick} {
			gauge(c.backendAdmin, b2f(b.AdminState() == st), name, st.String())
		}
		gauge(c.backendInflight, float64(b.Inflight()), name)
		gauge(c.backendOpen, float64(b.OpenConns()), name)
		gauge(c.backendIdle, float64(b.IdleConns()), name)
		if ps, ok := v.Probe(b); ok {
			gauge(c.probeHealthy, b2f(ps.Healthy), name)
			gauge(c.probeGood, float64(ps.Good), name)
			gauge(c.probeWindow, float64(ps.Window), name)
			gauge(c.probeThreshold, float64(ps.Threshold), name)
			counter(c.probeProbes, ps.Probes, name)
			if ps.Probes > 0 {
				gauge(c.probeLastDuration, ps.LastDuration.Seconds(), name)
				gauge(c.probeLastOK, b2f(ps.LastOutcome == health.OutcomeGood), name)
			}
		}
	}
	now := time.Now().UnixNano()
	for name, d := range v.Table.Directors {
		typ := ""
		if dc := v.Config.Directors[name]; dc != nil {
			typ = dc.Type
		}
		gauge(c.directorHealthy, b2f(d.Healthy(nil)), name, typ)
		n := 1
		if sl, ok := d.(setLoader); ok {
			n = len(sl.Load().Members)
		}
		gauge(c.directorMembers, float64(n), name, typ)
		if sm, ok := d.(*directors.Saintmode); ok {
			st := sm.Status(now)
			gauge(c.saintBlacklisted, float64(st.Count), name, st.Backend)
			gauge(c.saintThreshold, float64(st.Threshold), name, st.Backend)
		}
	}
	gauge(c.backendsEjected, float64(ejected))
	counter(c.retries, v.Proxy.Retries)
	counter(c.retryBudgetRefused, v.Proxy.RetryBudgetRefused)
	gauge(c.clientConns, float64(v.ClientConns))
	counter(c.clientRefused, v.Proxy.RefusedMax, "max_connections")
	counter(c.clientRefused, v.Proxy.RefusedPerIP, "max_connections_per_ip")
	counter(c.clientHalfClosed, v.Proxy.HalfClosed)
	ts := v.Proxy.TLS
	counter(c.tlsHandshakes, ts.Handshakes-ts.Resumed, "full")
	counter(c.tlsHandshakes, ts.Resumed, "resumed")
	counter(c.tlsHandshakes, ts.Failed, "failed")
	counter(c.tlsHandshakes, ts.Refused, "refused")
	gauge(c.tlsInFlight, float64(ts.InFlight))
	counter(c.tlsBackendHandshakes, ts.BackendHandshakes-ts.BackendResumed, "full")
	counter(c.tlsBackendHandshakes, ts.BackendResumed, "resumed")
	for _, d := range v.Discovery {
		counter(c.discLookups, d.Lookups, d.Backend)
		counter(c.discFailures, d.Failures, d.Backend)
		counter(c.discEmpty, d.Empty, d.Backend)
		gauge(c.discEndpoints, float64(len(d.Endpoints)), d.Backend)
	}
	counter(c.discErrors, v.DiscoveryErrors)
	for place, lim := range v.Table.Limiters() {
		counter(c.rateLimited, lim.Limited(), place)
		counter(c.rateEvictions, lim.Evictions(), place)
	}
	counter(c.accessDropped, v.AccessLogDropped)
	counter(c.reloads, v.Reloads, "success")
	counter(c.reloads, v.ReloadFailures, "failure")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var _ prometheus.Collector = (*collector)(nil)
