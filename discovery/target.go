package discovery

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Kind is the record type a target is resolved with.
type Kind uint8

// Kinds of target.
const (
	// SRV: the targets and ports of SRV records (weights kept).
	SRV Kind = iota + 1
	// A: IPv4 addresses, with the target's port.
	A
	// AAAA: IPv6 addresses, with the target's port.
	AAAA
	// AnyIP: A and AAAA records both, with the target's port.
	AnyIP
)

// Target is a parsed discovery target.
type Target struct {
	Kind Kind
	// Name is the fully qualified name looked up (with its final dot).
	Name string
	// Port is the port for A/AAAA targets (SRV records carry their own).
	Port uint16
}

// ParseTarget parses "dns+srv://NAME", "dns+a://NAME:PORT",
// "dns+aaaa://NAME:PORT" or "dns+ip://NAME:PORT" (A and AAAA).
func ParseTarget(s string) (Target, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || rest == "" {
		return Target{}, fmt.Errorf("%w %q: want dns+srv://NAME or dns+a://NAME:PORT", ErrTarget, s)
	}
	var t Target
	switch strings.ToLower(scheme) {
	case "dns+srv":
		t.Kind = SRV
		if strings.ContainsAny(rest, ":/") {
			return Target{}, fmt.Errorf("%w %q: an SRV name has no port (its records carry them)", ErrTarget, s)
		}
		t.Name = rest
	case "dns+a", "dns+aaaa", "dns+ip":
		t.Kind = map[string]Kind{"dns+a": A, "dns+aaaa": AAAA, "dns+ip": AnyIP}[strings.ToLower(scheme)]
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return Target{}, fmt.Errorf("%w %q: %v", ErrTarget, s, err)
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return Target{}, fmt.Errorf("%w %q: port %q", ErrTarget, s, port)
		}
		t.Name, t.Port = host, uint16(p)
	default:
		return Target{}, fmt.Errorf("%w %q: scheme %q (dns+srv, dns+a, dns+aaaa or dns+ip)", ErrTarget, s, scheme)
	}
	if !validName(t.Name) {
		return Target{}, fmt.Errorf("%w %q: %q is not a DNS name", ErrTarget, s, t.Name)
	}
	if !strings.HasSuffix(t.Name, ".") {
		t.Name += "."
	}
	return t, nil
}

// validName reports whether s looks like a DNS name: labels of letters,
// digits, "-" and "_", 1 to 63 bytes each, 253 in all.
func validName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
