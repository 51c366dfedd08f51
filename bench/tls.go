package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/shellac-lb/shellac/internal/certgen"
)

// The TLS policy every peer is configured with, and that the harness
// checks each of them negotiates before loading it.
const (
	tlsPolicyVersion = tls.VersionTLS13
	tlsPolicySuite   = tls.TLS_AES_128_GCM_SHA256
	tlsPolicyCurve   = tls.X25519
)

// tlsPolicy describes the policy for the report.
const tlsPolicy = "TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ECDSA P-256 certificate"

// tlsFiles is the one certificate every peer serves.
type tlsFiles struct {
	certFile, keyFile, combined string
	pool                        *x509.CertPool // trusts the certificate
}

// writeTLSFiles makes a self-signed ECDSA P-256 certificate for
// 127.0.0.1 and localhost and writes it, its key, and both in one file
// into dir.
func writeTLSFiles(dir string) (*tlsFiles, error) {
	certPEM, keyPEM, err := certgen.Generate([]string{"127.0.0.1", "localhost"}, 7)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f := &tlsFiles{
		certFile: filepath.Join(dir, "cert.pem"),
		keyFile:  filepath.Join(dir, "key.pem"),
		combined: filepath.Join(dir, "cert+key.pem"),
		pool:     x509.NewCertPool(),
	}
	f.pool.AppendCertsFromPEM(certPEM)
	for _, w := range []struct {
		path string
		data []byte
	}{{f.certFile, certPEM}, {f.keyFile, keyPEM}, {f.combined, append(append([]byte{}, certPEM...), keyPEM...)}} {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// params returns the TLS listener parameters for a peer listening on addr.
func (f *tlsFiles) params(addr string) *tlsParams {
	return &tlsParams{Listen: addr, CertFile: f.certFile, KeyFile: f.keyFile, Combined: f.combined}
}

// checkTLSPolicy makes one TLS connection to addr, verifying the
// certificate against pool, sends one GET and reads the response, and
// returns an error unless the server negotiated the policy. The client
// offers more than the policy (Go's default suites and groups, X25519MLKEM768
// first, and TLS 1.2), so a server that is not restricted to the policy
// shows it here.
func checkTLSPolicy(ctx context.Context, addr string, pool *x509.CertPool) (tls.ConnectionState, error) {
	host, _ := splitHostPort(addr)
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second},
		Config: &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, fmt.Errorf("TLS handshake: %w", err)
	}
	defer c.Close()
	tc := c.(*tls.Conn)
	st := tc.ConnectionState()
	if st.Version != tlsPolicyVersion || st.CipherSuite != tlsPolicySuite || st.CurveID != tlsPolicyCurve {
		return st, fmt.Errorf("negotiated %s, %s, %v; want TLS 1.3, %s, %v", tls.VersionName(st.Version),
			tls.CipherSuiteName(st.CipherSuite), st.CurveID, tls.CipherSuiteName(tlsPolicySuite), tlsPolicyCurve)
	}
	var rr respReader
	if err := roundTripOn(tc, fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path1K, addr), &rr); err != nil {
		return st, fmt.Errorf("GET over TLS: %w", err)
	}
	return st, nil
}

// loadTLSConfig is the load generator's client configuration: the policy's
// version and group only (so the client does no extra key share), no
// certificate verification (checkTLSPolicy verified it once; the load
// side's CPU goes to the handshake itself), and with sessions, a ticket
// cache shared by every connection of the run.
func loadTLSConfig(sessions tls.ClientSessionCache) *tls.Config {
	return &tls.Config{
		MinVersion:         tlsPolicyVersion,
		CurvePreferences:   []tls.CurveID{tlsPolicyCurve},
		InsecureSkipVerify: true, //nolint:gosec // the certificate was verified by checkTLSPolicy
		ClientSessionCache: sessions,
	}
}
