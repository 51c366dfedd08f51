package discovery

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Endpoint is one discovered address.
type Endpoint struct {
	// Address is "host:port" (an IPv6 host in brackets); it names the
	// endpoint, so that its identity (and its health) is kept across
	// refreshes.
	Address string
	// Weight is the SRV weight (0 for A/AAAA answers).
	Weight uint16
}

// Resolver looks targets up on a fixed set of DNS servers, over UDP and
// again over TCP when an answer is truncated.
type Resolver struct {
	// Servers are "host:port" of the DNS servers, tried in order.
	Servers []string
	// Timeout bounds each query (default 2s).
	Timeout time.Duration
}

// SystemServers returns the name servers of /etc/resolv.conf, or
// 127.0.0.1:53 when it cannot be read.
func SystemServers() []string {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return []string{"127.0.0.1:53"}
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out
}

// Lookup resolves t: the endpoints, sorted by address, and the smallest
// TTL of the records used. A name error, a server failure or an answer
// with no usable record is an error (ErrRcode, ErrEmpty).
func (r *Resolver) Lookup(ctx context.Context, t Target) ([]Endpoint, time.Duration, error) {
	switch t.Kind {
	case SRV:
		return r.srv(ctx, t)
	case A:
		return r.ips(ctx, t, dns.TypeA)
	case AAAA:
		return r.ips(ctx, t, dns.TypeAAAA)
	case AnyIP:
		eps4, ttl4, err4 := r.ips(ctx, t, dns.TypeA)
		eps6, ttl6, err6 := r.ips(ctx, t, dns.TypeAAAA)
		if err4 != nil && err6 != nil {
			return nil, 0, err4
		}
		eps := sortEndpoints(append(eps4, eps6...))
		ttl := ttl4
		if err4 != nil || (err6 == nil && ttl6 < ttl) {
			ttl = ttl6
		}
		return eps, ttl, nil
	}
	return nil, 0, fmt.Errorf("%w: kind %d", ErrTarget, t.Kind)
}

func (r *Resolver) srv(ctx context.Context, t Target) ([]Endpoint, time.Duration, error) {
	m, err := r.query(ctx, t.Name, dns.TypeSRV)
	if err != nil {
		return nil, 0, err
	}
	var eps []Endpoint
	ttl := uint32(0)
	first := true
	// Addresses of the SRV targets given in the additional section.
	glue := map[string][]string{}
	for _, rr := range m.Extra {
		switch a := rr.(type) {
		case *dns.A:
			glue[strings.ToLower(a.Hdr.Name)] = append(glue[strings.ToLower(a.Hdr.Name)], a.A.String())
		case *dns.AAAA:
			glue[strings.ToLower(a.Hdr.Name)] = append(glue[strings.ToLower(a.Hdr.Name)], a.AAAA.String())
		}
	}
	for _, rr := range m.Answer {
		s, ok := rr.(*dns.SRV)
		if !ok || s.Target == "." || s.Port == 0 {
			continue
		}
		if first || s.Hdr.Ttl < ttl {
			ttl, first = s.Hdr.Ttl, false
		}
		port := strconv.Itoa(int(s.Port))
		hosts := glue[strings.ToLower(s.Target)]
		if len(hosts) == 0 {
			hosts = []string{strings.TrimSuffix(s.Target, ".")}
		}
		for _, h := range hosts {
			eps = append(eps, Endpoint{Address: net.JoinHostPort(h, port), Weight: s.Weight})
		}
	}
	if len(eps) == 0 {
		return nil, 0, fmt.Errorf("%w: no SRV record for %s", ErrEmpty, t.Name)
	}
	return sortEndpoints(eps), time.Duration(ttl) * time.Second, nil
}

func (r *Resolver) ips(ctx context.Context, t Target, qtype uint16) ([]Endpoint, time.Duration, error) {
	m, err := r.query(ctx, t.Name, qtype)
	if err != nil {
		return nil, 0, err
	}
	var eps []Endpoint
	ttl := uint32(0)
	first := true
	port := strconv.Itoa(int(t.Port))
	for _, rr := range m.Answer {
		var ip net.IP
		switch a := rr.(type) {
		case *dns.A:
			ip = a.A
		case *dns.AAAA:
			ip = a.AAAA
		default:
			continue // a CNAME on the way
		}
		if first || rr.Header().Ttl < ttl {
			ttl, first = rr.Header().Ttl, false
		}
		eps = append(eps, Endpoint{Address: net.JoinHostPort(ip.String(), port)})
	}
	if len(eps) == 0 {
		return nil, 0, fmt.Errorf("%w: no %s record for %s", ErrEmpty, dns.TypeToString[qtype], t.Name)
	}
	return sortEndpoints(eps), time.Duration(ttl) * time.Second, nil
}

// query asks the servers in turn for name, over UDP, and over TCP when
// the UDP answer is truncated.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(1232, false)
	var last error = fmt.Errorf("%w: no DNS server", ErrRcode)
	for _, srv := range r.Servers {
		c := &dns.Client{Net: "udp", Timeout: timeout}
		m, _, err := c.ExchangeContext(ctx, q, srv)
		if err == nil && m.Truncated {
			c.Net = "tcp"
			m, _, err = c.ExchangeContext(ctx, q, srv)
		}
		if err != nil {
			last = fmt.Errorf("discovery: %s %s at %s: %w", dns.TypeToString[qtype], name, srv, err)
			continue
		}
		if m.Rcode != dns.RcodeSuccess {
			last = fmt.Errorf("%w: %s for %s %s at %s", ErrRcode, dns.RcodeToString[m.Rcode], dns.TypeToString[qtype], name, srv)
			if m.Rcode == dns.RcodeNameError {
				return nil, last // authoritative: no other server knows better
			}
			continue
		}
		return m, nil
	}
	return nil, last
}

// sortEndpoints sorts eps by address and drops repeats (two SRV records
// to one host:port are one endpoint).
func sortEndpoints(eps []Endpoint) []Endpoint {
	slices.SortFunc(eps, func(a, b Endpoint) int { return strings.Compare(a.Address, b.Address) })
	return slices.CompactFunc(eps, func(a, b Endpoint) bool { return a.Address == b.Address })
}
