package proxy

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
	"github.com/shellac-lb/shellac/rules"
)

// TestTLSClientCertificates: with client certificates required, a client
// without one (or with one client_ca did not sign) is refused in the
// handshake and never reaches the backend; one with a valid certificate
// gets through, and rules see its subject (%{client_cert}). With them
// requested only, a client without one gets through too, with an empty
// subject.
func TestTLSClientCertificates(t *testing.T) {
	f := newTLSFixture(t, Options{})
	f.requestRules(t, &rules.Rule{SetHeader: map[string]string{"X-Client-Cert": "[%{client_cert}]"}})
	client, stranger := testutil.NewCert(t, "alice"), testutil.NewCert(t, "mallory")
	set := func(auth tls.ClientAuthType) {
		t.Helper()
		err := f.p.SetTLSConfig(f.tlsAddr, &tls.Config{
			Certificates: []tls.Certificate{f.certA.TLS}, ClientAuth: auth, ClientCAs: client.Pool,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// get sends one request with cert (nil: none) and returns the
	// X-Client-Cert the backend saw, or the error.
	get := func(cert *tls.Certificate) (string, error) {
		t.Helper()
		cfg := &tls.Config{RootCAs: f.pool, ServerName: "a.test"}
		if cert != nil {
			// Sent whatever the CAs the proxy names (Go's client would
			// send none that they did not sign).
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", f.tlsAddr, cfg)
		if err != nil {
			return "", err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("GET /m HTTP/1.1\r\nHost: a.test\r\n\r\n")); err != nil {
			return "", err
		}
		// TLS 1.3: a refused certificate shows up on the first read.
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil {
			return "", err
		}
		select {
		case h := <-f.received:
			return h.Get("X-Client-Cert"), nil
		case <-time.After(5 * time.Second):
			t.Fatal("backend got nothing")
		}
		return "", nil
	}

	set(tls.RequireAndVerifyClientCert)
	if _, err := get(nil); err == nil {
		t.Fatal("required: a client without a certificate got through")
	}
	if _, err := get(&stranger.TLS); err == nil {
		t.Fatal("required: a certificate client_ca did not sign got through")
	}
	if got, err := get(&client.TLS); err != nil || got != "[CN=alice]" {
		t.Fatalf("required, valid certificate: %q, %v; want [CN=alice]", got, err)
	}
	if n := len(f.received); n != 0 {
		t.Fatalf("%d refused requests reached the backend", n)
	}

	set(tls.VerifyClientCertIfGiven)
	if got, err := get(nil); err != nil || got != "[]" {
		t.Fatalf("requested, none given: %q, %v; want []", got, err)
	}
	if got, err := get(&client.TLS); err != nil || got != "[CN=alice]" {
		t.Fatalf("requested, valid certificate: %q, %v", got, err)
	}
	if _, err := get(&stranger.TLS); err == nil {
		t.Fatal("requested: an unverifiable certificate got through")
	}
}
