package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/shellac-lb/shellac/internal/certgen"
)

// cert is shellac cert [-hosts H,H] [-cert FILE] [-key FILE] [-days N]:
// a self-signed ECDSA P-256 certificate and its key, for trying HTTPS.
func cert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hosts := fs.String("hosts", "localhost,127.0.0.1,::1", "comma-separated DNS names and IP addresses the certificate covers")
	certFile := fs.String("cert", "cert.pem", "where to write the certificate (PEM, mode 0644)")
	keyFile := fs.String("key", "key.pem", "where to write the private key (PEM, mode 0600)")
	days := fs.Int("days", 30, "days the certificate is valid")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: shellac cert [-hosts localhost,127.0.0.1] [-cert cert.pem] [-key key.pem] [-days 30]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	names := strings.Split(*hosts, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	if err := certgen.Write(*certFile, *keyFile, names, *days); err != nil {
		fmt.Fprintf(stderr, "shellac cert: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s and %s (self-signed for %s, %d days)\nclients trust it with: curl --cacert %s https://%s:PORT/\n",
		*certFile, *keyFile, strings.Join(names, ", "), *days, *certFile, names[0])
	return 0
}
