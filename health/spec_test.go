package health

import (
	"errors"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

func TestProvisionDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   ProbeSpec
		want ProbeSpec
	}{
		{"zero is Varnish's defaults with initial 0",
			ProbeSpec{},
			ProbeSpec{URL: "/", ExpectedStatus: 200, Interval: 5 * time.Second, Timeout: 2 * time.Second, Window: 8, Threshold: 3, Initial: 0}},
		{"InitialDefault is threshold-1",
			ProbeSpec{Initial: InitialDefault},
			ProbeSpec{URL: "/", ExpectedStatus: 200, Interval: 5 * time.Second, Timeout: 2 * time.Second, Window: 8, Threshold: 3, Initial: 2}},
		{"threshold alone gives window threshold+1",
			ProbeSpec{URL: "/h", Threshold: 5, Initial: InitialDefault},
			ProbeSpec{URL: "/h", ExpectedStatus: 200, Interval: 5 * time.Second, Timeout: 2 * time.Second, Window: 6, Threshold: 5, Initial: 4}},
		{"initial capped at threshold",
			ProbeSpec{Request: []string{"GET / HTTP/1.0"}, Window: 10, Threshold: 4, Initial: 9},
			ProbeSpec{Request: []string{"GET / HTTP/1.0"}, ExpectedStatus: 200, Interval: 5 * time.Second, Timeout: 2 * time.Second, Window: 10, Threshold: 4, Initial: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.Provision()
			if !got.equal(&tt.want) {
				t.Errorf("Provision() = %+v; want %+v", got, tt.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate() = %v; want nil", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := ProbeSpec{}.Provision()
	tests := []struct {
		name   string
		modify func(*ProbeSpec)
	}{
		{"url and request", func(s *ProbeSpec) { s.Request = []string{"GET / HTTP/1.1"} }},
		{"url with space", func(s *ProbeSpec) { s.URL = "/a b" }},
		{"status 2 digits", func(s *ProbeSpec) { s.ExpectedStatus = 20 }},
		{"negative interval", func(s *ProbeSpec) { s.Interval = -time.Second }},
		{"negative timeout", func(s *ProbeSpec) { s.Timeout = -time.Second }},
		{"window 65", func(s *ProbeSpec) { s.Window = 65 }},
		{"threshold over window", func(s *ProbeSpec) { s.Threshold = 9 }},
		{"initial over threshold", func(s *ProbeSpec) { s.Initial = 4 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.modify(&s)
			err := s.Validate()
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Validate() = %v; want an ErrInvalidSpec", err)
			}
			t.Log(err)
		})
	}
}

func TestAppendRequest(t *testing.T) {
	tests := []struct {
		name string
		spec ProbeSpec
		cfg  directors.BackendConfig
		want string
	}{
		{"url with address host", ProbeSpec{URL: "/healthz"},
			directors.BackendConfig{Network: "tcp", Address: "10.0.0.1:8080"},
			"GET /healthz HTTP/1.1\r\nHost: 10.0.0.1\r\nConnection: close\r\n\r\n"},
		{"url with host_header", ProbeSpec{URL: "/"},
			directors.BackendConfig{Network: "tcp", Address: "10.0.0.1:8080", HostHeader: "app.example"},
			"GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n"},
		{"url with IPv6 address", ProbeSpec{URL: "/"},
			directors.BackendConfig{Network: "tcp", Address: "[::1]:80"},
			"GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n"},
		{"url over a UNIX socket", ProbeSpec{URL: "/"},
			directors.BackendConfig{Network: "unix", Address: "/run/app.sock"},
			"GET / HTTP/1.1\r\nHost: 0.0.0.0\r\nConnection: close\r\n\r\n"},
		{"raw request lines", ProbeSpec{Request: []string{"HEAD /x HTTP/1.0", "X-Probe: 1"}},
			directors.BackendConfig{Network: "tcp", Address: "10.0.0.1:8080", HostHeader: "ignored"},
			"HEAD /x HTTP/1.0\r\nX-Probe: 1\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.spec.appendRequest(nil, &tt.cfg)); got != tt.want {
				t.Errorf("request = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestParseStatusLine(t *testing.T) {
	tests := []struct {
		line    string
		want    int
		wantErr bool
	}{
		{"HTTP/1.1 200 OK", 200, false},
		{"HTTP/1.0 503 Service Unavailable", 503, false},
		{"HTTP/1.1 204", 204, false},
		{"HTTP/2 200 ", 200, false},
		{"HTTP/1.1 2000 OK", 0, true},
		{"HTTP/1.1 20 OK", 0, true},
		{"HTTP/1.1  200 OK", 0, true},
		{"HTTP/1.x 200 OK", 0, true},
		{"HTTP/ 200 OK", 0, true},
		{"SSH-2.0-OpenSSH_9.6", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStatusLine([]byte(tt.line))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseStatusLine(%q) = %d, %v; want %d, error %v", tt.line, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrMalformedStatusLine) {
			t.Errorf("parseStatusLine(%q) error %v is not ErrMalformedStatusLine", tt.line, err)
		}
	}
}
