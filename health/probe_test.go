package health

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
)

func TestProbeGood(t *testing.T) {
	s := startHTTP(t, "tcp", statusHandler(200))
	r := probeOnce(t, s.backend("a"), ProbeSpec{URL: "/healthz", Timeout: 2 * time.Second})
	if r.outcome != OutcomeGood || r.status != 200 || r.err != nil {
		t.Fatalf("probe = %v, %d, %v; want good, 200, nil", r.outcome, r.status, r.err)
	}
}

func TestProbeURLRequest(t *testing.T) {
	type seen struct {
		method, path, host string
		close              bool
	}
	got := make(chan seen, 1)
	s := startHTTP(t, "tcp", func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Method, r.URL.RequestURI(), r.Host, r.Close}
	})
	probeOnce(t, s.backend("a"), ProbeSpec{URL: "/healthz?deep=1"})
	want := seen{"GET", "/healthz?deep=1", "127.0.0.1", true}
	if g := <-got; g != want {
		t.Errorf("server saw %+v; want %+v", g, want)
	}
}

func TestProbeExpectedStatusMismatch(t *testing.T) {
	s := startHTTP(t, "tcp", statusHandler(503))
	r := probeOnce(t, s.backend("a"), ProbeSpec{URL: "/"})
	if r.outcome != OutcomeBadStatus || r.status != 503 || !errors.Is(r.err, ErrUnexpectedStatus) {
		t.Fatalf("probe = %v, %d, %v; want bad status, 503, ErrUnexpectedStatus", r.outcome, r.status, r.err)
	}
	t.Log(r.err)

	r = probeOnce(t, s.backend("a"), ProbeSpec{URL: "/", ExpectedStatus: 503})
	if r.outcome != OutcomeGood {
		t.Fatalf("probe expecting 503 = %v, %v; want good", r.outcome, r.err)
	}
}

func TestProbeNoAnswerTimesOut(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // accepts, never answers
	const timeout = 100 * time.Millisecond
	r := probeOnce(t, tcpBackend("a", addr), ProbeSpec{Timeout: timeout})
	if r.outcome != OutcomeRecvError || !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("probe = %v, %v; want receive error, ErrTimeout", r.outcome, r.err)
	}
	if r.dur < timeout || r.dur > timeout+2*time.Second {
		t.Errorf("probe took %v; want about %v", r.dur, timeout)
	}
	t.Logf("timed out after %v (%v)", r.dur, r.err)
}

func TestProbeConnectRefused(t *testing.T) {
	r := probeOnce(t, tcpBackend("a", deadAddress(t)), ProbeSpec{})
	if r.outcome != OutcomeConnectError || r.err == nil {
		t.Fatalf("probe = %v, %v; want connect error", r.outcome, r.err)
	}
	t.Log(r.err)
}

func TestProbeClosedBeforeStatusLine(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { readHead(bufio.NewReader(c)) })
	r := probeOnce(t, tcpBackend("a", addr), ProbeSpec{})
	if r.outcome != OutcomeRecvError || !errors.Is(r.err, ErrNoStatusLine) {
		t.Fatalf("probe = %v, %v; want receive error, ErrNoStatusLine", r.outcome, r.err)
	}
}

func TestProbeMalformedStatusLine(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		readHead(bufio.NewReader(c))
		io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
	})
	r := probeOnce(t, tcpBackend("a", addr), ProbeSpec{})
	if r.outcome != OutcomeBadStatus || !errors.Is(r.err, ErrMalformedStatusLine) {
		t.Fatalf("probe = %v, %v; want bad status, ErrMalformedStatusLine", r.outcome, r.err)
	}
}

// TestProbeReadsOnlyStatusLine: a backend that sends its status line and
// then stalls is judged at once, not after the timeout.
func TestProbeReadsOnlyStatusLine(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		readHead(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n")
		io.Copy(io.Discard, c) // never finishes the response
	})
	r := probeOnce(t, tcpBackend("a", addr), ProbeSpec{Timeout: 10 * time.Second})
	if r.outcome != OutcomeGood {
		t.Fatalf("probe = %v, %v; want good", r.outcome, r.err)
	}
}

func TestProbeRawRequestVerbatim(t *testing.T) {
	got := make(chan string, 1)
	addr := rawServer(t, func(c net.Conn) {
		head, _ := readHead(bufio.NewReader(c))
		got <- head
		io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
	})
	spec := ProbeSpec{
		Request:        []string{"OPTIONS * HTTP/1.1", "Host: probe.internal", "x-odd-CASE:  two  spaces", "Connection: close"},
		ExpectedStatus: 204,
	}
	b := directors.NewBackend("a", directors.BackendConfig{Network: "tcp", Address: addr, HostHeader: "not-sent"})
	r := probeOnce(t, b, spec)
	if r.outcome != OutcomeGood {
		t.Fatalf("probe = %v, %v; want good", r.outcome, r.err)
	}
	want := "OPTIONS * HTTP/1.1\r\nHost: probe.internal\r\nx-odd-CASE:  two  spaces\r\nConnection: close\r\n\r\n"
	if g := <-got; g != want {
		t.Errorf("server received %q; want %q", g, want)
	}
}

func TestProbeUnixSocket(t *testing.T) {
	hosts := make(chan string, 1)
	s := startHTTP(t, "unix", func(w http.ResponseWriter, r *http.Request) {
		hosts <- r.Host
		w.WriteHeader(200)
	})
	r := probeOnce(t, s.backend("sock"), ProbeSpec{URL: "/"})
	if r.outcome != OutcomeGood {
		t.Fatalf("probe over %s = %v, %v; want good", s.addr, r.outcome, r.err)
	}
	if h := <-hosts; h != "0.0.0.0" {
		t.Errorf("Host = %q; want %q", h, "0.0.0.0")
	}
}

func TestProbeProxyHeader(t *testing.T) {
	tests := []struct {
		version int
		check   func(t *testing.T, br *bufio.Reader, peer net.Addr)
	}{
		{1, func(t *testing.T, br *bufio.Reader, peer net.Addr) {
			line, _ := br.ReadString('\n')
			p := peer.(*net.TCPAddr)
			want := "PROXY TCP4 127.0.0.1 127.0.0.1 " + itoa(p.Port) + " " + itoa(p.Port) + "\r\n"
			if line != want {
				t.Errorf("PROXY line = %q; want %q", line, want)
			}
		}},
		{2, func(t *testing.T, br *bufio.Reader, _ net.Addr) {
			hdr := make([]byte, 16)
			io.ReadFull(br, hdr)
			if string(hdr) != string(proxyV2Local) {
				t.Errorf("PROXY v2 header = %q; want %q", hdr, proxyV2Local)
			}
		}},
	}
	for _, tt := range tests {
		t.Run("v"+itoa(tt.version), func(t *testing.T) {
			heads := make(chan string, 1)
			addr := rawServer(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				tt.check(t, br, c.RemoteAddr())
				head, _ := readHead(br)
				heads <- head
				io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
			})
			b := directors.NewBackend("a", directors.BackendConfig{Network: "tcp", Address: addr, ProxyHeader: tt.version})
			if r := probeOnce(t, b, ProbeSpec{}); r.outcome != OutcomeGood {
				t.Fatalf("probe = %v, %v; want good", r.outcome, r.err)
			}
			if h := <-heads; !strings.HasPrefix(h, "GET / HTTP/1.1\r\n") {
				t.Errorf("request after the PROXY header = %q", h)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestProbeTLS(t *testing.T) {
	cert := testutil.NewCert(t, "backend.test")
	other := testutil.NewCert(t, "backend.test")
	sni := make(chan string, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sni <- r.TLS.ServerName
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	cases := []struct {
		name string
		cfg  *tls.Config
		want Outcome
	}{
		{"verified", &tls.Config{RootCAs: cert.Pool, ServerName: "backend.test"}, OutcomeGood},
		{"unknown CA", &tls.Config{RootCAs: other.Pool, ServerName: "backend.test"}, OutcomeConnectError},
		{"cleartext to a TLS port", nil, OutcomeBadStatus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := directors.NewBackend("tls", directors.BackendConfig{Network: "tcp", Address: addr, TLS: tc.cfg})
			r := probeOnce(t, b, ProbeSpec{URL: "/healthz", Timeout: 2 * time.Second})
			if r.outcome != tc.want {
				t.Fatalf("probe = %v, %d, %v; want %v", r.outcome, r.status, r.err, tc.want)
			}
			if tc.want == OutcomeGood {
				if got := <-sni; got != "backend.test" {
					t.Fatalf("SNI %q, want backend.test", got)
				}
			}
			t.Log(r.err)
		})
	}
}
