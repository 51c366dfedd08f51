package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"
)

// TLS is one [[server.tls]] table: listen addresses that speak TLS and
// the certificates and protocol policy they use (docs/tls.md).
type TLS struct {
	// Listen holds "host:port" or "unix:/path" addresses, none also in
	// server.listen.
	Listen []string `toml:"listen"`
	// Certificates are chosen by the client's SNI (wildcards included);
	// the first is the default for a client that sends none or an unknown
	// name.
	Certificates []*Certificate `toml:"certificates"`
	// MinVersion is "1.2" (the default) or "1.3".
	MinVersion string `toml:"min_version"`
	// Ciphers lists TLS 1.2 cipher suites by their IANA names (TLS 1.3's
	// are not configurable); empty keeps Go's modern default.
	Ciphers []string `toml:"ciphers"`
	// Curves lists key exchanges in order of preference ("X25519MLKEM768",
	// "X25519", "P256", "P384", "P521"); empty keeps Go's default.
	Curves []string `toml:"curves"`
	// SessionTickets turns session resumption by ticket on (the default).
	SessionTickets bool `toml:"session_tickets"`
	// ClientAuth asks clients for a certificate: "none" (the default),
	// "request" (verified against ClientCA when one is sent) or "require"
	// (a handshake without a valid one fails).
	ClientAuth string `toml:"client_auth"`
	// ClientCA is the PEM bundle client certificates are verified
	// against; required unless ClientAuth is "none".
	ClientCA string `toml:"client_ca"`
}

var clientAuths = map[string]tls.ClientAuthType{
	"none":    tls.NoClientCert,
	"request": tls.VerifyClientCertIfGiven,
	"require": tls.RequireAndVerifyClientCert,
}

// Certificate is a certificate chain and its key, PEM files, with an
// optional OCSP response to staple (DER, as openssl ocsp -respout writes).
type Certificate struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	OCSP string `toml:"ocsp"`
}

var tlsVersions = map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

var tlsCurves = map[string]tls.CurveID{
	"X25519MLKEM768": tls.X25519MLKEM768,
	"X25519":         tls.X25519,
	"P256":           tls.CurveP256,
	"P384":           tls.CurveP384,
	"P521":           tls.CurveP521,
}

// TLSConfig builds the crypto/tls configuration t describes, reading its
// certificate files. Errors name the file and the reason.
func (t *TLS) TLSConfig() (*tls.Config, error) {
	cfg, err := t.policy()
	if err != nil {
		return nil, err
	}
	if len(t.Certificates) == 0 {
		return nil, fmt.Errorf("no certificates")
	}
	for i, c := range t.Certificates {
		cert, err := c.load()
		if err != nil {
			return nil, fmt.Errorf("certificates[%d]: %v", i, err)
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	if err := t.clientAuth(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// clientAuth sets up client certificates in cfg, reading client_ca.
func (t *TLS) clientAuth(cfg *tls.Config) error {
	if t.ClientAuth == "" || t.ClientAuth == "none" {
		if t.ClientCA != "" {
			return fmt.Errorf("client_ca without client_auth = \"request\" or \"require\"")
		}
		return nil
	}
	auth, ok := clientAuths[t.ClientAuth]
	if !ok {
		return fmt.Errorf("client_auth %q is not one of \"none\", \"request\", \"require\"", t.ClientAuth)
	}
	if t.ClientCA == "" {
		return fmt.Errorf("client_auth = %q needs client_ca, the CA bundle client certificates are verified against", t.ClientAuth)
	}
	pem, err := os.ReadFile(t.ClientCA)
	if err != nil {
		return fmt.Errorf("client_ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("client_ca: %s: no PEM certificate in it", t.ClientCA)
	}
	cfg.ClientAuth, cfg.ClientCAs = auth, pool
	return nil
}

// policy returns the configuration without its certificates.
func (t *TLS) policy() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, SessionTicketsDisabled: !t.SessionTickets}
	if t.MinVersion != "" {
		v, ok := tlsVersions[t.MinVersion]
		if !ok {
			return nil, fmt.Errorf("min_version %q is not one of \"1.2\", \"1.3\"", t.MinVersion)
		}
		cfg.MinVersion = v
	}
	for _, name := range t.Ciphers {
		id, ok := cipherID(name)
		if !ok {
			return nil, fmt.Errorf("cipher %q is not a supported TLS 1.2 cipher suite (insecure ones are refused)", name)
		}
		cfg.CipherSuites = append(cfg.CipherSuites, id)
	}
	for _, name := range t.Curves {
		id, ok := tlsCurves[name]
		if !ok {
			return nil, fmt.Errorf("curve %q is not one of X25519MLKEM768, X25519, P256, P384, P521", name)
		}
		cfg.CurvePreferences = append(cfg.CurvePreferences, id)
	}
	return cfg, nil
}

// load reads the certificate's files.
func (c *Certificate) load() (tls.Certificate, error) {
	if c.Cert == "" || c.Key == "" {
		return tls.Certificate{}, fmt.Errorf("a certificate needs both cert and key")
	}
	cp, err := os.ReadFile(c.Cert)
	if err != nil {
		return tls.Certificate{}, err
	}
	kp, err := os.ReadFile(c.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(cp, kp)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s, %s: %v", c.Cert, c.Key, err)
	}
	if c.OCSP != "" {
		if cert.OCSPStaple, err = os.ReadFile(c.OCSP); err != nil {
			return tls.Certificate{}, err
		}
	}
	return cert, nil
}

func cipherID(name string) (uint16, bool) {
	for _, cs := range tls.CipherSuites() {
		if cs.Name == name && !slices.Contains(cs.SupportedVersions, tls.VersionTLS13) {
			return cs.ID, true
		}
	}
	return 0, false
}

// validateTLS checks the [[server.tls]] tables, loading their files.
func (p *parser) validateTLS(c *Config) {
	seen := map[string]bool{}
	for _, a := range c.Server.Listen {
		seen[a] = true
	}
	for i, t := range c.Server.TLS {
		path := []string{"server", "tls", index(i)}
		if len(t.Listen) == 0 {
			p.errorf(sub(path, "listen"), "no address to listen on")
		}
		for j, a := range t.Listen {
			lp := sub(path, "listen", index(j))
			if why := checkAddr(a, false); why != "" {
				p.errorf(lp, "%q %s", a, why)
			} else if seen[a] {
				p.errorf(lp, "%q is listed twice (in server.listen or another [[server.tls]])", a)
			}
			seen[a] = true
		}
		if _, err := t.policy(); err != nil {
			msg := err.Error()
			key := sub(path, "min_version")
			switch {
			case strings.HasPrefix(msg, "cipher"):
				key = sub(path, "ciphers")
			case strings.HasPrefix(msg, "curve"):
				key = sub(path, "curves")
			}
			p.errorf(key, "%s", msg)
		}
		if len(t.Certificates) == 0 {
			p.errorf(path, "no certificates: add a [[server.tls.certificates]] with cert and key")
		}
		for j, cert := range t.Certificates {
			if _, err := cert.load(); err != nil {
				p.errorf(sub(path, "certificates", index(j)), "%v", err)
			}
		}
		if err := t.clientAuth(&tls.Config{}); err != nil {
			key := "client_auth"
			if strings.HasPrefix(err.Error(), "client_ca") {
				key = "client_ca"
			}
			p.errorf(sub(path, key), "%v", err)
		}
	}
}
