// Package health runs shellac's backend probes, with the semantics of
// varnishd's backend probes (bin/varnishd/cache/cache_backend_probe.c).
//
// # Probing
//
// Every Interval, a probe opens a new connection to the backend
// (Backend.Config().Network and Address, so TCP or a UNIX socket), sends a
// PROXY header first when the backend has proxy_header set (as Varnish does),
// then the request, and reads the response's status line. The probe is good
// when the connection opens, the status line arrives within Timeout of the
// probe's start, and its status code equals ExpectedStatus. Only the status
// line is read; the connection is closed right after. (Varnish reads until
// the backend closes; with "Connection: close" the verdict is the same.)
//
// The request is either ProbeSpec.Request, raw lines joined by CRLF and ended
// by an empty line (Varnish's .request), or, from ProbeSpec.URL:
//
//	GET <URL> HTTP/1.1
//	Host: <host_header, else the address's host, else 0.0.0.0 for a UNIX socket>
//	Connection: close
//
// # Window
//
// The last Window results (at most 64) are kept as a shift register, newest
// in bit 0, as Varnish's vt->happy. The backend is healthy when the number of
// good results in the window is at least Threshold. At start the register is
// pre-filled with Initial good results, as Varnish's vbp_reset does: a
// backend starts healthy when Initial ≥ Threshold, and with the default
// Initial = Threshold-1 it becomes healthy after its first good probe. Like
// Varnish, Initial is capped at Threshold. A healthy backend whose window is
// full of good results turns sick after Window-Threshold+1 bad probes, that
// is within about Interval × (Window-Threshold+1), plus Timeout per probe
// that times out.
//
// # Schedule
//
// Each probed backend has its own goroutine. Its first probe fires after a
// random offset within the first Interval, so probes to many backends do not
// fire in lockstep; after that, as in Varnish, the next probe fires Interval
// after the previous one ended. A prober stops when Manager.Remove or
// Manager.Stop is called, when Manager.Set replaces it, or when it notices
// that its backend was removed from the configuration (Backend.Gone).
//
// # Verdict
//
// The verdict is written with Backend.SetProbeHealthy, an atomic that
// directors read without a lock. Removing a probe makes the backend healthy
// again, as VBP_Remove does: without a probe a backend is healthy unless an
// operator set it sick.
//
// # Marks
//
// Status.Marks shows the window as one character per slot, oldest first,
// newest last (Varnish's backend.list -p order), the character telling how
// far the probe got:
//
//	H  good: the expected status arrived in time (or an Initial result)
//	R  a status line arrived, with another status or malformed
//	r  no status line: timeout, reset, or closed before it
//	x  the request could not be written
//	-  the connection could not be opened
//	.  no result yet (fewer than Window results since the start)
//
// For example "..HHHrrr" is a window of 8 holding two Initial results, one
// good probe and three timeouts.
package health
