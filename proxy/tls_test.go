package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
	"github.com/shellac-lb/shellac/rules"
)

// tlsFixture is a proxy with a cleartext and a TLS listener in front of
// one backend that echoes what it saw.
type tlsFixture struct {
	p        *proxy
	tlsAddr  string
	certA    *testutil.Cert // a.test, the default
	certB    *testutil.Cert // *.b.test
	pool     *x509.CertPool
	backend  *testBackend
	received chan http.Header
}

func newTLSFixture(t *testing.T, opts Options) *tlsFixture {
	t.Helper()
	f := &tlsFixture{
		certA:    testutil.NewCert(t, "a.test", "127.0.0.1"),
		certB:    testutil.NewCert(t, "*.b.test"),
		received: make(chan http.Header, 1000),
	}
	f.pool = x509.NewCertPool()
	f.pool.AppendCertsFromPEM(f.certA.CertPEM)
	f.pool.AppendCertsFromPEM(f.certB.CertPEM)
	f.backend = newTestBackend(t, "b1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case f.received <- r.Header.Clone():
		default:
		}
		n, _ := io.Copy(io.Discard, r.Body)
		if size := r.URL.Query().Get("size"); size != "" {
			var sz int
			fmt.Sscan(size, &sz)
			_, _ = w.Write(bytes.Repeat([]byte("x"), sz))
			return
		}
		fmt.Fprintf(w, "%s %s %d proto=%s", r.Method, r.URL.RequestURI(), n, r.Header.Get("X-Forwarded-Proto"))
	}))
	f.tlsAddr = testutil.FreeAddr(t)
	opts.XForwardedFor = true
	opts.TLS = append(opts.TLS, TLSListener{Listen: f.tlsAddr, Config: &tls.Config{
		Certificates: []tls.Certificate{f.certA.TLS, f.certB.TLS},
	}})
	f.p = startProxy(t, opts, rrTable(f.backend.backend(directors.BackendConfig{})))
	return f
}

// client returns an HTTPS client that trusts the fixture's certificates
// and sends serverName.
func (f *tlsFixture) client(serverName string) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: f.pool, ServerName: serverName},
			MaxIdleConnsPerHost: 4,
			DisableCompression:  true,
		},
	}
}

func (f *tlsFixture) url(path string) string { return "https://" + f.tlsAddr + path }

// requestRules compiles rs as request rules and puts them in the proxy's
// table.
func (f *tlsFixture) requestRules(t *testing.T, rs ...*rules.Rule) {
	t.Helper()
	list, errs := rules.Compile(rs, rules.PhaseRequest, &rules.Env{})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	tbl := *f.p.Table()
	tbl.Request = list
	f.p.SetTable(&tbl)
}

// dial opens a TLS connection to the proxy.
func (f *tlsFixture) dial(t *testing.T, cfg *tls.Config) *tls.Conn {
	t.Helper()
	if cfg.RootCAs == nil {
		cfg.RootCAs = f.pool
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", f.tlsAddr, cfg)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTLSKeepAlive(t *testing.T) {
	f := newTLSFixture(t, Options{})
	cl := f.client("a.test")
	for i := range 50 {
		resp, err := cl.Get(f.url(fmt.Sprintf("/k/%d", i)))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body := bodyOf(t, resp)
		if want := fmt.Sprintf("GET /k/%d 0 proto=https", i); resp.StatusCode != 200 || body != want {
			t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
		}
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 || resp.TLS.NegotiatedProtocol == "h2" {
			t.Fatalf("request %d: TLS state %+v", i, resp.TLS)
		}
	}
	if c := f.backend.conns.Load(); c > 2 {
		t.Errorf("backend saw %d connections for 50 keep-alive requests", c)
	}
	// The cleartext listener still speaks cleartext, and says so.
	resp, err := newClient().Get(f.p.url("/plain"))
	if err != nil {
		t.Fatal(err)
	}
	if body := bodyOf(t, resp); body != "GET /plain 0 proto=http" {
		t.Fatalf("cleartext: %q", body)
	}
	st := f.p.TLSStats()
	if st.Handshakes != 1 || st.Failed != 0 || st.InFlight != 0 {
		t.Errorf("stats %+v, want one handshake", st)
	}
}

func TestTLSCertificateBySNI(t *testing.T) {
	f := newTLSFixture(t, Options{})
	// A third certificate for three names.
	certC := testutil.NewCert(t, "c.test", "d.test", "e.test")
	if err := f.p.SetTLSConfig(f.tlsAddr, &tls.Config{Certificates: []tls.Certificate{f.certA.TLS, f.certB.TLS, certC.TLS}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sni    string
		serial string
	}{
		{"a.test", f.certA.Serial.String()},
		{"www.b.test", f.certB.Serial.String()},
		{"c.test", certC.Serial.String()},
		{"d.test", certC.Serial.String()},
		{"e.test", certC.Serial.String()},
		{"E.TEST", certC.Serial.String()},       // names are case-insensitive
		{"x.y.b.test", f.certA.Serial.String()}, // a wildcard covers one label (RFC 6125): the default
		{"", f.certA.Serial.String()},           // no SNI: the default
		{"unknown.test", f.certA.Serial.String()},
	} {
		c, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("sni %q: %v", tc.sni, err)
		}
		got := c.ConnectionState().PeerCertificates[0].SerialNumber.String()
		c.Close()
		if got != tc.serial {
			t.Errorf("sni %q: certificate %s, want %s", tc.sni, got, tc.serial)
		}
	}
	// A verifying client gets through with the wildcard certificate.
	resp, err := f.client("api.b.test").Get(f.url("/w"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestTLSRefusesH2OnlyClients(t *testing.T) {
	f := newTLSFixture(t, Options{})
	_, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{RootCAs: f.pool, ServerName: "a.test", NextProtos: []string{"h2"}})
	if err == nil || !strings.Contains(err.Error(), "no application protocol") {
		t.Fatalf("h2-only client: %v, want a no_application_protocol alert", err)
	}
	// A client offering h2 and http/1.1 gets http/1.1.
	c := f.dial(t, &tls.Config{ServerName: "a.test", NextProtos: []string{"h2", "http/1.1"}})
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("negotiated %q", p)
	}
	if !waitFor(2*time.Second, func() bool { return f.p.TLSStats().Failed == 1 }) {
		t.Errorf("stats %+v, want one failed handshake", f.p.TLSStats())
	}
	if f.backend.requests.Load() != 0 {
		t.Error("a request reached the backend")
	}
}

func TestTLSLargeBodiesAndPipelining(t *testing.T) {
	f := newTLSFixture(t, Options{})
	cl := f.client("a.test")
	// A 3 MiB upload and a 5 MiB download, through the fill bound and the
	// backpressure of both directions.
	up := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
	resp, err := cl.Post(f.url("/up"), "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	if body := bodyOf(t, resp); body != fmt.Sprintf("POST /up %d proto=https", len(up)) {
		t.Fatalf("upload: %q", body)
	}
	const size = 5 << 20
	resp, err = cl.Get(f.url(fmt.Sprintf("/down?size=%d", size)))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	if want := sha256.Sum256(bytes.Repeat([]byte("x"), size)); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("download corrupted")
	}

	// Five pipelined requests in one write: five responses, in order.
	c := f.dial(t, &tls.Config{ServerName: "a.test"})
	var reqs strings.Builder
	for i := range 5 {
		fmt.Fprintf(&reqs, "GET /p/%d HTTP/1.1\r\nHost: a.test\r\n\r\n", i)
	}
	if _, err := io.WriteString(c, reqs.String()); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i, r := range readResponses(t, br, 5, "GET") {
		if body := bodyOf(t, r); body != fmt.Sprintf("GET /p/%d 0 proto=https", i) {
			t.Fatalf("pipelined %d: %q", i, body)
		}
	}
	// Connection: close ends with a close_notify: a clean EOF.
	if _, err := io.WriteString(c, "GET /last HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := readResponses(t, br, 1, "GET")[0]
	if body := bodyOf(t, r); body != "GET /last 0 proto=https" {
		t.Fatalf("last: %q", body)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after Connection: close: %q, %v (want a clean close_notify EOF)", rest, err)
	}
}

func TestTLSResumptionAcrossLoops(t *testing.T) {
	f := newTLSFixture(t, Options{EventLoops: 2})
	cache := tls.NewLRUClientSessionCache(8)
	resumed := 0
	for range 6 {
		c := f.dial(t, &tls.Config{ServerName: "a.test", ClientSessionCache: cache})
		// TLS 1.3 tickets arrive after the handshake: one exchange reads them.
		if _, err := io.WriteString(c, "GET /r HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		readResponses(t, bufio.NewReader(c), 1, "GET")
		if c.ConnectionState().DidResume {
			resumed++
		}
		c.Close()
	}
	// Connections go to the loops in turn: the five after the first are
	// resumed on both loops.
	if resumed != 5 {
		t.Fatalf("%d of 6 connections resumed, want 5", resumed)
	}
	if st := f.p.TLSStats(); st.Resumed != 5 || st.Handshakes != 6 {
		t.Errorf("stats %+v", st)
	}
	// A new configuration (a reload) keeps the ticket keys.
	if err := f.p.SetTLSConfig(f.tlsAddr, &tls.Config{Certificates: []tls.Certificate{f.certA.TLS}}); err != nil {
		t.Fatal(err)
	}
	c := f.dial(t, &tls.Config{ServerName: "a.test", ClientSessionCache: cache})
	if !c.ConnectionState().DidResume {
		t.Error("a session was not resumed after SetTLSConfig")
	}
}

func TestTLSSetConfigKeepsEstablished(t *testing.T) {
	f := newTLSFixture(t, Options{})
	old := f.dial(t, &tls.Config{ServerName: "a.test"})
	fresh := testutil.NewCert(t, "a.test")
	if err := f.p.SetTLSConfig(f.tlsAddr, &tls.Config{Certificates: []tls.Certificate{fresh.TLS}}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.SetTLSConfig("127.0.0.1:1", &tls.Config{}); err == nil {
		t.Error("SetTLSConfig of an unknown listener succeeded")
	}
	c := f.dial(t, &tls.Config{ServerName: "a.test", RootCAs: fresh.Pool})
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(fresh.Serial) != 0 {
		t.Fatalf("new connection got certificate %s, want the new one", got)
	}
	// The connection made before still works, with the old certificate.
	if _, err := io.WriteString(old, "GET /old HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = old.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := readResponses(t, bufio.NewReader(old), 1, "GET")[0]
	if body := bodyOf(t, r); body != "GET /old 0 proto=https" {
		t.Fatalf("old connection: %q", body)
	}
}

func TestTLSHandshakeLimits(t *testing.T) {
	f := newTLSFixture(t, Options{TLSHandshakeTimeout: 300 * time.Millisecond, MaxTLSHandshakes: 1})
	// A client that connects and says nothing holds the one handshake
	// slot until the timeout.
	silent, err := net.Dial("tcp", f.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if !waitFor(2*time.Second, func() bool { return f.p.TLSStats().InFlight == 1 }) {
		t.Fatalf("stats %+v, want one handshake in flight", f.p.TLSStats())
	}
	// Meanwhile a new connection is refused at once.
	second, err := net.Dial("tcp", f.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := second.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("second connection: read %d, %v; want it closed", n, err)
	}
	if st := f.p.TLSStats(); st.Refused != 1 {
		t.Errorf("stats %+v, want one refused", st)
	}
	// The silent one is closed by the handshake timeout.
	start := time.Now()
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("silent connection got bytes")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("silent connection was not closed by the handshake timeout")
	}
	t.Logf("silent client closed %v after the second connection", time.Since(start))
	if !waitFor(2*time.Second, func() bool { st := f.p.TLSStats(); return st.Failed == 1 && st.InFlight == 0 }) {
		t.Errorf("stats %+v, want one failed handshake and none in flight", f.p.TLSStats())
	}
	// The slot is free again.
	c := f.dial(t, &tls.Config{ServerName: "a.test"})
	if _, err := io.WriteString(c, "GET /after HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	readResponses(t, bufio.NewReader(c), 1, "GET")
}

func TestTLSGarbageNeverReachesBackend(t *testing.T) {
	f := newTLSFixture(t, Options{})
	for _, junk := range []string{
		"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",      // cleartext on the TLS port
		"\x16\x03\x01\x00\x05hello",                   // a handshake record that is no ClientHello
		strings.Repeat("\x16\x03\x01\xff\xff", 20000), // more than a handshake may send
	} {
		c, err := net.Dial("tcp", f.tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, junk)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		c.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%q...: connection left open", junk[:5])
		}
		if len(b) > 0 && b[0] != 0x15 { // at most an alert record
			t.Fatalf("%q...: answered %q", junk[:5], b)
		}
	}
	if n := f.backend.requests.Load(); n != 0 {
		t.Fatalf("backend got %d requests", n)
	}
	// After the handshake, a corrupted record closes the connection.
	c := f.dial(t, &tls.Config{ServerName: "a.test"})
	raw := c.NetConn()
	_, _ = raw.Write([]byte("\x17\x03\x03\x00\x20" + strings.Repeat("Z", 32))) // application data that fails authentication
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection survived a forged record")
	}
	if n := f.backend.requests.Load(); n != 0 {
		t.Fatalf("backend got %d requests", n)
	}
}

func TestTLSRulesSeeSNIAndScheme(t *testing.T) {
	tru := true
	ft := newTLSFixture(t, Options{})
	ft.requestRules(t,
		&rules.Rule{When: &rules.Match{TLS: &tru, SNI: []string{"*.b.test"}}, SetHeader: map[string]string{"X-Via-SNI": "b %{scheme}"}},
		&rules.Rule{When: &rules.Match{Not: &rules.Match{TLS: &tru}}, Redirect: "https://%{host}%{uri}", Code: 308},
	)
	resp, err := ft.client("www.b.test").Get(ft.url("/s"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case h := <-ft.received:
		if got := h.Get("X-Via-Sni"); got != "b https" {
			t.Fatalf("X-Via-SNI %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("backend got nothing")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(ft.p.url("/x?y=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 308 || loc != "https://"+ft.p.addr+"/x?y=1" {
		t.Fatalf("cleartext: %d %q", resp.StatusCode, loc)
	}
}

func TestTLSAfterProxyProtocol(t *testing.T) {
	f := newTLSFixture(t, Options{ProxyProtocol: true})
	for _, hdr := range []string{
		"PROXY TCP4 203.0.113.9 192.0.2.1 40000 443\r\n",
		"PROXY TCP6 2001:db8::9 2001:db8::1 40000 443\r\n",
	} {
		raw, err := net.Dial("tcp", f.tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(raw, hdr); err != nil {
			t.Fatal(err)
		}
		c := tls.Client(raw, &tls.Config{RootCAs: f.pool, ServerName: "a.test"})
		if _, err := io.WriteString(c, "GET /pp HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
			t.Fatalf("%q: %v", hdr, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := readResponses(t, bufio.NewReader(c), 1, "GET")[0]
		if body := bodyOf(t, r); body != "GET /pp 0 proto=https" {
			t.Fatalf("%q: %q", hdr, body)
		}
		c.Close()
		want := strings.Fields(hdr)[2]
		select {
		case h := <-f.received:
			if got := h.Get("X-Forwarded-For"); got != want {
				t.Fatalf("X-Forwarded-For %q, want the PROXY source %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("backend got nothing")
		}
	}
	// Without the header, a TLS ClientHello is refused as a bad PROXY header.
	c, err := net.Dial("tcp", f.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := tls.Client(c, &tls.Config{RootCAs: f.pool, ServerName: "a.test"}).Handshake(); err == nil {
		t.Fatal("a handshake without the PROXY header succeeded")
	}
}
