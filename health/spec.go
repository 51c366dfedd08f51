package health

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// Defaults applied by ProbeSpec.Provision, those of varnishd
// (vbp_set_defaults).
const (
	DefaultURL            = "/"
	DefaultInterval       = 5 * time.Second
	DefaultTimeout        = 2 * time.Second
	DefaultWindow         = 8
	DefaultThreshold      = 3
	DefaultExpectedStatus = 200

	// MaxWindow is the largest window: the results fit in a uint64.
	MaxWindow = 64

	// InitialDefault, as ProbeSpec.Initial, asks for the default initial
	// count, Threshold-1. (Zero is a valid Initial: start with no good
	// result.)
	InitialDefault = -1
)

// ProbeSpec describes a probe, as a `[probes.NAME]` table or Varnish's
// `probe` object. Zero fields take Varnish's defaults in Provision.
type ProbeSpec struct {
	// URL is the path of a "GET <URL> HTTP/1.1" request with Host and
	// "Connection: close". Default "/" when Request is empty too.
	URL string
	// Request, when set, is sent as-is instead: the lines joined by CRLF,
	// followed by an empty line. It should ask the backend to close.
	Request []string
	// ExpectedStatus is the status code of a good response. Default 200.
	ExpectedStatus int
	// Interval is the time between the end of a probe and the start of
	// the next. Default 5s.
	Interval time.Duration
	// Timeout bounds a whole probe: connect, write and status line.
	// Default 2s.
	Timeout time.Duration
	// Window is how many of the latest results are kept, at most 64.
	// Default 8, or Threshold+1 when only Threshold is set (as VCC does).
	Window int
	// Threshold is how many good results in the window make the backend
	// healthy. Default 3.
	Threshold int
	// Initial is how many good results the window holds at start; capped
	// at Threshold. InitialDefault (or any negative value) means
	// Threshold-1.
	Initial int
}

// Provision returns s with defaults filled in and Initial capped at
// Threshold, as varnishd does before it starts a probe.
func (s ProbeSpec) Provision() ProbeSpec {
	if s.URL == "" && len(s.Request) == 0 {
		s.URL = DefaultURL
	}
	if s.ExpectedStatus == 0 {
		s.ExpectedStatus = DefaultExpectedStatus
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Window == 0 {
		if s.Threshold > 0 {
			s.Window = min(s.Threshold+1, MaxWindow)
		} else {
			s.Window = DefaultWindow
		}
	}
	if s.Threshold == 0 {
		s.Threshold = DefaultThreshold
	}
	if s.Initial < 0 {
		s.Initial = s.Threshold - 1
	}
	s.Initial = min(s.Initial, s.Threshold)
	return s
}

// Validate reports the first problem of a provisioned spec, naming the
// field. Errors wrap ErrInvalidSpec.
func (s ProbeSpec) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSpec}, args...)...)
	}
	switch {
	case s.URL != "" && len(s.Request) > 0:
		return bad("url and request are exclusive")
	case strings.ContainsFunc(s.URL, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return bad("url %q contains whitespace or control characters", s.URL)
	case s.ExpectedStatus < 100 || s.ExpectedStatus > 999:
		return bad("expected_status %d must have three digits", s.ExpectedStatus)
	case s.Interval <= 0:
		return bad("interval %v must be positive", s.Interval)
	case s.Timeout <= 0:
		return bad("timeout %v must be positive", s.Timeout)
	case s.Window < 1 || s.Window > MaxWindow:
		return bad("window %d must be between 1 and %d", s.Window, MaxWindow)
	case s.Threshold < 1 || s.Threshold > s.Window:
		return bad("threshold %d must be between 1 and window (%d)", s.Threshold, s.Window)
	case s.Initial < 0 || s.Initial > s.Threshold:
		return bad("initial %d must be between 0 and threshold (%d)", s.Initial, s.Threshold)
	}
	return nil
}

// equal reports whether s and t describe the same probe.
func (s *ProbeSpec) equal(t *ProbeSpec) bool {
	return s.URL == t.URL && slices.Equal(s.Request, t.Request) &&
		s.ExpectedStatus == t.ExpectedStatus &&
		s.Interval == t.Interval && s.Timeout == t.Timeout &&
		s.Window == t.Window && s.Threshold == t.Threshold && s.Initial == t.Initial
}

// appendRequest appends the probe request for a backend configured as cfg
// to dst, as vbp_build_req: the raw Request lines, or a GET of URL.
func (s *ProbeSpec) appendRequest(dst []byte, cfg *directors.BackendConfig) []byte {
	if len(s.Request) > 0 {
		for _, l := range s.Request {
			dst = append(dst, l...)
			dst = append(dst, "\r\n"...)
		}
		return append(dst, "\r\n"...)
	}
	dst = append(dst, "GET "...)
	dst = append(dst, s.URL...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, probeHost(cfg)...)
	return append(dst, "\r\nConnection: close\r\n\r\n"...)
}

// probeHost returns the Host of a URL probe: the backend's host_header,
// else the host part of its TCP address, else "0.0.0.0" for a UNIX socket
// (what VCC sets for a .path backend).
func probeHost(cfg *directors.BackendConfig) string {
	if cfg.HostHeader != "" {
		return cfg.HostHeader
	}
	if cfg.Network == "unix" {
		return "0.0.0.0"
	}
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return cfg.Address
	}
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]" // IPv6 literal, RFC 3986 section 3.2.2
	}
	return host
}
