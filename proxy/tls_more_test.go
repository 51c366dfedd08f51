package proxy

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// bodyTLSFixture is a proxy whose TLS listener serves a certificate for
// a.test and 127.0.0.1, in front of a backend that hashes what it is sent
// and streams what it is asked for (testutil.BodyHandler).
type bodyTLSFixture struct {
	p       *proxy
	addr    string
	port    string
	cert    *testutil.Cert
	backend *testBackend
}

// newBodyTLSFixture starts one; cfg (nil: the defaults) gets the
// certificate.
func newBodyTLSFixture(t *testing.T, opts Options, cfg *tls.Config) *bodyTLSFixture {
	t.Helper()
	f := &bodyTLSFixture{cert: testutil.NewCert(t, "a.test", "127.0.0.1"), addr: testutil.FreeAddr(t)}
	_, f.port, _ = net.SplitHostPort(f.addr)
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.Certificates = []tls.Certificate{f.cert.TLS}
	f.backend = newTestBackend(t, "b", testutil.BodyHandler())
	opts.TLS = append(opts.TLS, TLSListener{Listen: f.addr, Config: cfg})
	f.p = startProxy(t, opts, rrTable(f.backend.backend(directors.BackendConfig{})))
	return f
}

// client returns a keep-alive HTTPS client trusting the fixture's
// certificate; cfg (nil: the defaults) sets the protocol policy.
func (f *bodyTLSFixture) client(cfg *tls.Config) *http.Client {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.RootCAs, cfg.ServerName = f.cert.Pool, "a.test"
	return &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg, MaxIdleConnsPerHost: 1, DisableCompression: true,
	}}
}

func (f *bodyTLSFixture) url(path string) string { return "https://" + f.addr + path }

// upload posts size bytes of Stream(seed) and checks the backend got
// exactly them.
func (f *bodyTLSFixture) upload(t *testing.T, cl *http.Client, seed uint64, size int64) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", f.url("/up"), testutil.Stream(seed, size))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("upload of %d bytes: %v", size, err)
	}
	if got, want := bodyOf(t, resp), fmt.Sprintf("%d %s", size, testutil.StreamSum(seed, size)); resp.StatusCode != 200 || got != want {
		t.Fatalf("upload of %d bytes: %d %q, want %q", size, resp.StatusCode, got, want)
	}
	return resp
}

// download gets size bytes of Stream(seed) and checks them.
func (f *bodyTLSFixture) download(t *testing.T, cl *http.Client, seed uint64, size int64) *http.Response {
	t.Helper()
	resp, err := cl.Get(f.url(fmt.Sprintf("/down?size=%d&seed=%d", size, seed)))
	if err != nil {
		t.Fatalf("download of %d bytes: %v", size, err)
	}
	defer resp.Body.Close()
	checkStream(t, resp.Body, sha256.New(), 0, seed, size)
	return resp
}

// checkStream reads r to its end into h, which already holds the first
// done bytes, and checks the whole is Stream(seed, size).
func checkStream(t *testing.T, r io.Reader, h hash.Hash, done int64, seed uint64, size int64) {
	t.Helper()
	n, err := io.Copy(h, r)
	if err != nil || done+n != size {
		t.Fatalf("stream of %d bytes: got %d, %v", size, done+n, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != testutil.StreamSum(seed, size) {
		t.Fatalf("stream of %d bytes: corrupted", size)
	}
}

// TestTLSCurl: curl, verifying the certificate with --cacert and sending
// the SNI name through --resolve, downloads 4 MiB and uploads 8 MiB on
// one keep-alive connection (checksums), over TLS 1.3 and over TLS 1.2
// with ECDHE-ECDSA-AES256-GCM.
func TestTLSCurl(t *testing.T) {
	f := newBodyTLSFixture(t, Options{}, nil)
	dir := t.TempDir()
	const upSize, downSize = 8 << 20, 4 << 20
	upFile, downFile := filepath.Join(dir, "up.bin"), filepath.Join(dir, "down.bin")
	up, err := os.Create(upFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(up, testutil.Stream(5, upSize)); err != nil {
		t.Fatal(err)
	}
	up.Close()
	site := "https://a.test:" + f.port
	for _, tc := range testutil.CurlTLSVersions("ECDHE-ECDSA-AES256-GCM-SHA384") {
		t.Run(tc.Name, func(t *testing.T) {
			common := append([]string{"--cacert", f.cert.CertFile, "--resolve", "a.test:" + f.port + ":127.0.0.1", "-w", "%{http_code} %{num_connects}\n"}, tc.Args...)
			args := append([]string{"-v"}, common...)
			args = append(args, "-o", downFile, fmt.Sprintf("%s/down?size=%d&seed=4", site, downSize), "--next")
			args = append(args, common...)
			args = append(args, "--data-binary", "@"+upFile, "-H", "Content-Type: application/octet-stream", site+"/up")
			out, stderr, err := testutil.CurlVerbose(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			// One connection (num_connects 1, then 0: reused), both 200.
			if want := fmt.Sprintf("200 1\n%d %s200 0\n", upSize, testutil.StreamSum(5, upSize)); out != want {
				t.Fatalf("curl printed %q, want %q", out, want)
			}
			if !strings.Contains(stderr, tc.Says) {
				t.Fatalf("curl -v does not say %q:\n%s", tc.Says, stderr)
			}
			down, err := os.Open(downFile)
			if err != nil {
				t.Fatal(err)
			}
			defer down.Close()
			checkStream(t, down, sha256.New(), 0, 4, downSize)
		})
	}
}

// TestTLS12 runs keep-alive exchanges (a 1 MiB upload and download) over
// TLS 1.2 with ECDHE-ECDSA AEAD suites, chosen by the client or by the
// server's cipher list, and checks that min_version refuses older clients
// with a protocol_version alert before anything reaches the backend.
func TestTLS12(t *testing.T) {
	for _, tc := range []struct {
		name           string
		server, client *tls.Config
		suite          uint16
		refused        bool
	}{
		{"client picks ECDHE-ECDSA-AES128-GCM", nil,
			&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, false},
		{"server allows only ECDHE-ECDSA-AES256-GCM", &tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}},
			&tls.Config{MaxVersion: tls.VersionTLS12},
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, false},
		{"client picks ECDHE-ECDSA-CHACHA20-POLY1305", nil,
			&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, false},
		{"min_version 1.3 refuses TLS 1.2", &tls.Config{MinVersion: tls.VersionTLS13}, &tls.Config{MaxVersion: tls.VersionTLS12}, 0, true},
		{"min_version 1.2 refuses TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS12}, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newBodyTLSFixture(t, Options{}, tc.server)
			if tc.refused {
				cfg := tc.client.Clone()
				cfg.RootCAs, cfg.ServerName = f.cert.Pool, "a.test"
				c, err := tls.Dial("tcp", f.addr, cfg)
				if err == nil {
					c.Close()
					t.Fatalf("handshake succeeded with %s", tls.VersionName(c.ConnectionState().Version))
				}
				if !strings.Contains(err.Error(), "protocol version") {
					t.Fatalf("handshake: %v, want a protocol_version alert", err)
				}
				if !waitFor(2*time.Second, func() bool { st := f.p.TLSStats(); return st.Failed == 1 && st.InFlight == 0 }) {
					t.Errorf("stats %+v, want one failed handshake", f.p.TLSStats())
				}
				if n := f.backend.requests.Load(); n != 0 {
					t.Errorf("backend got %d requests", n)
				}
				return
			}
			cl := f.client(tc.client)
			for i, resp := range []*http.Response{
				f.upload(t, cl, 1, 1<<20),
				f.download(t, cl, 2, 1<<20),
				f.upload(t, cl, 3, 100),
			} {
				if st := resp.TLS; st.Version != tls.VersionTLS12 || st.CipherSuite != tc.suite {
					t.Fatalf("exchange %d: %s %s, want TLS 1.2 %s", i, tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(tc.suite))
				}
			}
			if st := f.p.TLSStats(); st.Handshakes != 1 {
				t.Errorf("stats %+v, want one handshake for three keep-alive exchanges", st)
			}
		})
	}
}

// TestTLSSetConfigDuringDownload: SetTLSConfig in the middle of a 64 MiB
// download; a new connection gets the new certificate (and uploads on
// it), the download completes intact on the old one.
func TestTLSSetConfigDuringDownload(t *testing.T) {
	f := newBodyTLSFixture(t, Options{}, nil)
	size := int64(64 << 20)
	if testing.Short() {
		size = 16 << 20 // the race detector's run
	}
	resp, err := f.client(nil).Get(f.url(fmt.Sprintf("/down?size=%d&seed=9", size)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	fresh := testutil.NewCert(t, "a.test")
	if err := f.p.SetTLSConfig(f.addr, &tls.Config{Certificates: []tls.Certificate{fresh.TLS}}); err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: fresh.Pool, ServerName: "a.test"},
	}}
	after := f.upload(t, cl, 10, 2<<20)
	if got := after.TLS.PeerCertificates[0].SerialNumber; got.Cmp(fresh.Serial) != 0 {
		t.Fatalf("new connection: certificate %s, want the new one", got)
	}
	checkStream(t, resp.Body, h, 1<<20, 9, size)
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(f.cert.Serial) != 0 {
		t.Fatalf("download: certificate %s, want the first", got)
	}
}

// TestTLSHundredMiBBoundedMemory uploads and downloads 100 MiB over TLS
// (checksums) and samples the heap meanwhile: the proxy, the backend and
// the client all live in this process, so a body held whole anywhere would
// show as 100 MiB of growth; streaming keeps it far below the 64 MiB bound.
func TestTLSHundredMiBBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MiB through TLS")
	}
	f := newBodyTLSFixture(t, Options{}, nil)
	cl := f.client(nil)
	f.upload(t, cl, 20, 1<<10) // connect first: the handshake is not measured

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	peak.Store(base)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	const size = 100 << 20
	start := time.Now()
	f.upload(t, cl, 21, size)
	upTime := time.Since(start)
	f.download(t, cl, 22, size)
	downTime := time.Since(start) - upTime
	close(stop)
	<-done
	growth := int64(peak.Load()) - int64(base)
	t.Logf("100 MiB up in %v, down in %v (checksums included); heap in use %d MiB before, peak %d MiB (growth %d MiB)",
		upTime.Round(time.Millisecond), downTime.Round(time.Millisecond), base>>20, peak.Load()>>20, growth>>20)
	if growth > 64<<20 {
		t.Fatalf("heap grew by %d MiB moving 100 MiB bodies: not streaming", growth>>20)
	}
}

// splitConn writes the bytes of the stream from offset 0 (counted from
// when armed) as written, except that it cuts them at offset cut, pausing
// between the two writes so that the proxy reads them apart (TCP_NODELAY
// is on, Go's default). With record set it notes each write's size.
type splitConn struct {
	net.Conn
	armed  bool
	cut    int
	sent   int
	record []int
}

func (c *splitConn) Write(p []byte) (int, error) {
	if !c.armed {
		return c.Conn.Write(p)
	}
	c.record = append(c.record, len(p))
	at := c.cut - c.sent
	c.sent += len(p)
	if at <= 0 || at >= len(p) {
		return c.Conn.Write(p)
	}
	n, err := c.Conn.Write(p[:at])
	if err != nil {
		return n, err
	}
	time.Sleep(time.Millisecond)
	m, err := c.Conn.Write(p[at:])
	return n + m, err
}

// TestTLSRecordSplitsOverTCP sends a keep-alive sequence once per byte
// boundary of the first write's ciphertext (two pipelined requests in one
// record, header included), cut there on the wire, and checks every
// response of the sequence. Whether the proxy's read really falls at the
// cut depends on the pause; the adapter-level TestTLSAdapterSplits cuts
// exactly. Under -short every fourth boundary (and the header's) is run.
func TestTLSRecordSplitsOverTCP(t *testing.T) {
	f := newBodyTLSFixture(t, Options{}, nil)
	first := "POST /first HTTP/1.1\r\nHost: a.test\r\nContent-Length: 11\r\n\r\nhello world" +
		"GET /second?size=100&seed=2 HTTP/1.1\r\nHost: a.test\r\n\r\n"
	sequence := func(cut int) []int {
		raw, err := net.DialTimeout("tcp", f.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sc := &splitConn{Conn: raw, cut: cut}
		c := tls.Client(sc, &tls.Config{RootCAs: f.cert.Pool, ServerName: "a.test"})
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if err := c.Handshake(); err != nil {
			t.Fatalf("cut %d: handshake: %v", cut, err)
		}
		sc.armed = true
		if _, err := io.WriteString(c, first); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		sizes := slices.Clone(sc.record)
		br := bufio.NewReader(c)
		rs := readResponses(t, br, 2, "GET")
		if got, want := bodyOf(t, rs[0]), "11 "+hexSHA256("hello world"); got != want {
			t.Fatalf("cut %d: first response %q, want %q", cut, got, want)
		}
		checkStream(t, rs[1].Body, sha256.New(), 0, 2, 100)
		// The rest of the sequence on the same connection: a body of
		// several records, and a download.
		body := strings.Repeat("0123456789", 4000)
		fmt.Fprintf(c, "POST /third HTTP/1.1\r\nHost: a.test\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		fmt.Fprintf(c, "GET /fourth?size=50000&seed=3 HTTP/1.1\r\nHost: a.test\r\n\r\n")
		rs = readResponses(t, br, 2, "GET")
		if got, want := bodyOf(t, rs[0]), fmt.Sprintf("%d %s", len(body), hexSHA256(body)); got != want {
			t.Fatalf("cut %d: third response %q, want %q", cut, got, want)
		}
		checkStream(t, rs[1].Body, sha256.New(), 0, 3, 50000)
		return sizes
	}
	sizes := sequence(0)
	if len(sizes) != 1 {
		t.Fatalf("the first write went out in %d writes %v, want one record", len(sizes), sizes)
	}
	runs := 0
	for cut := 1; cut < sizes[0]; cut++ {
		if testing.Short() && cut > 6 && cut%4 != 0 {
			continue
		}
		sequence(cut)
		runs++
	}
	t.Logf("%d-byte first record, cut at %d boundaries; %d handshakes", sizes[0], runs, f.p.TLSStats().Handshakes)
}

func hexSHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// clientHello returns the first record a crypto/tls client sends.
func clientHello(t *testing.T) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _ = tls.Client(a, &tls.Config{ServerName: "a.test"}).Handshake() }()
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 5+(int(hdr[3])<<8|int(hdr[4])))
	copy(rec, hdr)
	if _, err := io.ReadFull(b, rec[5:]); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestTLSHandshakeFlood: while 12 flooders open connections that say
// nothing, send half a ClientHello or send garbage — far past
// max_tls_handshakes (4) — a keep-alive TLS client made before the flood
// gets every one of its 300 exchanges answered. Its latencies are logged,
// not asserted.
func TestTLSHandshakeFlood(t *testing.T) {
	f := newBodyTLSFixture(t, Options{MaxTLSHandshakes: 4, TLSHandshakeTimeout: 300 * time.Millisecond}, nil)
	cl := f.client(nil)
	f.download(t, cl, 1, 10)
	hello := clientHello(t)
	junk := []string{"", string(hello[:len(hello)/2]), "\x16\x03\x01\x00\x05hello", "GET / HTTP/1.1\r\n\r\n"}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var flood atomic.Int64
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", f.addr, time.Second)
				if err != nil {
					continue
				}
				flood.Add(1)
				_, _ = io.WriteString(c, junk[i%len(junk)])
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, _ = io.Copy(io.Discard, c) // until the proxy closes it
				c.Close()
			}
		}()
	}
	if !waitFor(5*time.Second, func() bool { return f.p.TLSStats().Refused > 0 }) {
		t.Fatalf("stats %+v: the flood never went past the handshake limit", f.p.TLSStats())
	}
	lat := make([]time.Duration, 0, 300)
	for i := range 300 {
		start := time.Now()
		if i%2 == 0 {
			f.download(t, cl, uint64(i), 4<<10)
		} else {
			f.upload(t, cl, uint64(i), 4<<10)
		}
		lat = append(lat, time.Since(start))
	}
	close(stop)
	wg.Wait()
	st := f.p.TLSStats()
	slices.Sort(lat)
	t.Logf("flood: %d connections; stats %+v; keep-alive client: 300 exchanges, p50 %v, p99 %v, max %v",
		flood.Load(), st, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	if st.Handshakes != 1 {
		t.Errorf("%d handshakes completed, want the client's one (its connection was kept)", st.Handshakes)
	}
	if st.Failed == 0 {
		t.Errorf("stats %+v: no flood handshake failed", st)
	}
	// Once the flood is over, the slots are free for new clients.
	if !waitFor(5*time.Second, func() bool { return f.p.TLSStats().InFlight == 0 }) {
		t.Fatalf("stats %+v: handshakes still in flight after the flood", f.p.TLSStats())
	}
	f.download(t, f.client(nil), 5, 100)
}
