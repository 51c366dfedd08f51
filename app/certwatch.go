package app

import (
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/shellac-lb/shellac/config"
)

// certPoll is how often the TLS certificate files are checked for
// changes.
const certPoll = 2 * time.Second

// certStamp identifies a version of a file: its size and modification
// time ("" when it cannot be read).
func certStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}

// certStamps returns the stamps of every certificate, key, OCSP and
// client CA file cfg names, keyed by path.
func certStamps(cfg *config.Config) map[string]string {
	m := map[string]string{}
	for _, t := range cfg.Server.TLS {
		if t.ClientCA != "" {
			m[t.ClientCA] = certStamp(t.ClientCA)
		}
		for _, c := range t.Certificates {
			for _, p := range []string{c.Cert, c.Key, c.OCSP} {
				if p != "" {
					m[p] = certStamp(p)
				}
			}
		}
	}
	return m
}

// runCertWatch reloads the TLS certificates when one of their files
// changes (a renewal writing new ones): new handshakes use them,
// established connections keep theirs. A change that does not load (a
// key written before its certificate, a broken file) is logged and the
// certificates in use stay; it is tried again on the next change.
func (a *App) runCertWatch(stop, done chan struct{}) {
	defer close(done)
	a.mu.Lock()
	seen := certStamps(a.cfg)
	a.mu.Unlock()
	t := time.NewTicker(certPoll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		a.mu.Lock()
		now := certStamps(a.cfg)
		if !maps.Equal(now, seen) {
			seen = now
			a.refreshCertificates()
		}
		a.mu.Unlock()
	}
}

// refreshCertificates re-reads the running configuration's certificate
// files into the proxy. Called with a.mu held.
func (a *App) refreshCertificates() {
	tlsl, err := tlsListeners(a.cfg, a.path)
	if err != nil {
		a.certFailures.Add(1)
		a.Log.Error("TLS certificate change not applied: the certificates in use stay", "err", err)
		return
	}
	for _, tl := range tlsl {
		_ = a.srv.SetTLSConfig(tl.Listen, tl.Config)
	}
	a.certReloads.Add(1)
	a.Log.Info("TLS certificates reloaded after a file changed")
}
