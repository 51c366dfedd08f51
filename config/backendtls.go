package config

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// backendTLSKeys are the keys that only mean something with tls = true.
var backendTLSKeys = []string{"tls_sni", "tls_verify", "tls_ca", "tls_cert", "tls_key"}

// TLSServerName returns the name a TLS backend is sent as SNI and
// verified against: tls_sni, else the host of host_header, else the
// address's host ("" for a UNIX socket).
func (b *Backend) TLSServerName() string {
	if b.TLSSNI != "" {
		return b.TLSSNI
	}
	if b.HostHeader != "" {
		if h, _, err := net.SplitHostPort(b.HostHeader); err == nil {
			return h
		}
		return b.HostHeader
	}
	if b.Network() == "tcp" {
		if h, _, err := net.SplitHostPort(b.Address); err == nil {
			return h
		}
	}
	return ""
}

// TLSClientConfig builds the crypto/tls client configuration of a TLS
// backend (nil, "" for a cleartext one), reading its files, and a stamp
// of everything it was built from (settings and file contents), so that
// a reload can tell a changed CA or client certificate from an unchanged
// one. Errors name the file and the reason.
func (b *Backend) TLSClientConfig() (*tls.Config, string, error) {
	if !b.TLS {
		return nil, "", nil
	}
	name := b.TLSServerName()
	cfg := &tls.Config{
		ServerName:         name,
		InsecureSkipVerify: !b.TLSVerify,
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"http/1.1"},
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q %t %q %q %q\n", name, b.TLSVerify, b.TLSCA, b.TLSCert, b.TLSKey)
	if b.TLSVerify && name == "" {
		return nil, "", fmt.Errorf("tls_verify needs a name to verify: set tls_sni")
	}
	if b.TLSCA != "" {
		pem, err := os.ReadFile(b.TLSCA)
		if err != nil {
			return nil, "", err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("%s: no PEM certificate in it", b.TLSCA)
		}
		cfg.RootCAs = pool
		h.Write(pem)
	}
	switch {
	case b.TLSCert != "" && b.TLSKey != "":
		cp, err := os.ReadFile(b.TLSCert)
		if err != nil {
			return nil, "", err
		}
		kp, err := os.ReadFile(b.TLSKey)
		if err != nil {
			return nil, "", err
		}
		cert, err := tls.X509KeyPair(cp, kp)
		if err != nil {
			return nil, "", fmt.Errorf("%s, %s: %v", b.TLSCert, b.TLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
		h.Write(cp)
		h.Write(kp)
	case b.TLSCert != "" || b.TLSKey != "":
		return nil, "", fmt.Errorf("a client certificate needs both tls_cert and tls_key")
	}
	return cfg, hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// validateBackendTLS checks a backend's TLS keys, loading its files.
func (p *parser) validateBackendTLS(b *Backend, path []string) {
	at := func(key string) []string { return sub(path, key) }
	if !b.TLS {
		for _, k := range backendTLSKeys {
			if p.has(at(k)...) {
				p.errorf(at(k), "needs tls = true")
			}
		}
		return
	}
	if strings.ContainsAny(b.TLSSNI, " \t\r\n\x00/:") {
		p.errorf(at("tls_sni"), "%q is not a host name", b.TLSSNI)
		return
	}
	if _, _, err := b.TLSClientConfig(); err != nil {
		msg := err.Error()
		key := "tls"
		switch {
		case strings.HasPrefix(msg, "tls_verify"):
			key = "tls_verify"
		case b.TLSCA != "" && strings.Contains(msg, b.TLSCA):
			key = "tls_ca"
		case strings.Contains(msg, "tls_cert"),
			b.TLSCert != "" && strings.Contains(msg, b.TLSCert),
			b.TLSKey != "" && strings.Contains(msg, b.TLSKey):
			key = "tls_cert"
		}
		p.errorf(at(key), "%s", msg)
	}
}

// encodeTLS writes a backend's TLS keys, when it speaks TLS.
func (b *Backend) encodeTLS(e *encoder) {
	if !b.TLS {
		return
	}
	e.bool("tls", true)
	if b.TLSSNI != "" {
		e.str("tls_sni", b.TLSSNI)
	}
	e.bool("tls_verify", b.TLSVerify)
	for _, kv := range [][2]string{{"tls_ca", b.TLSCA}, {"tls_cert", b.TLSCert}, {"tls_key", b.TLSKey}} {
		if kv[1] != "" {
			e.str(kv[0], kv[1])
		}
	}
}
