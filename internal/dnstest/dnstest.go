// Package dnstest is a real DNS server on loopback for tests, built with
// github.com/miekg/dns: UDP and TCP on one port, answers set and changed
// while it runs, failures and truncation on demand.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server answers from a zone the test changes at will.
type Server struct {
	// Addr is "127.0.0.1:port", for UDP and TCP.
	Addr string

	udp, tcp *dns.Server

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case name and type, "name/TYPE"
	rcode    map[string]int      // forced answer codes by name
	truncate map[string]bool     // names answered truncated over UDP
	queries  map[string]int      // "udp"/"tcp" counts
}

// Start starts a server on a free loopback port, stopped when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	// The UDP port may be taken for TCP by another process: try again
	// with another port (bounded).
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatal(err)
		}
	}
	s := &Server{Addr: pc.LocalAddr().String(), records: map[string][]dns.RR{}, rcode: map[string]int{}, truncate: map[string]bool{}, queries: map[string]int{}}
	s.udp = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.serve(w, r, "udp") })}
	s.tcp = &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.serve(w, r, "tcp") })}
	started := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(func() { _ = s.udp.Shutdown(); _ = s.tcp.Shutdown() })
	return s
}

func key(name string, qtype uint16) string {
	return strings.ToLower(dns.Fqdn(name)) + "/" + dns.TypeToString[qtype]
}

// Set replaces the records of rr's names and types with rr, each written
// in zone-file syntax ("api. 30 IN A 127.0.0.2"). Set(name, qtype) with no
// records empties that name and type.
func (s *Server) Set(t testing.TB, records ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cleared := map[string]bool{}
	for _, text := range records {
		rr, err := dns.NewRR(text)
		if err != nil {
			t.Fatalf("record %q: %v", text, err)
		}
		k := key(rr.Header().Name, rr.Header().Rrtype)
		if !cleared[k] {
			s.records[k], cleared[k] = nil, true
		}
		s.records[k] = append(s.records[k], rr)
	}
}

// Clear removes every record of name of type qtype.
func (s *Server) Clear(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, key(name, qtype))
}

// Fail makes every query for name answer rcode (dns.RcodeServerFailure,
// dns.RcodeNameError…); dns.RcodeSuccess returns to the records.
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode[strings.ToLower(dns.Fqdn(name))] = rcode
}

// Truncate makes UDP answers for name empty and truncated, so that a
// client must ask again over TCP.
func (s *Server) Truncate(name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate[strings.ToLower(dns.Fqdn(name))] = on
}

// Queries returns how many queries came over net ("udp" or "tcp").
func (s *Server) Queries(net string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[net]
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg, network string) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	s.mu.Lock()
	s.queries[network]++
	if len(r.Question) == 1 {
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		switch rc := s.rcode[name]; {
		case rc != dns.RcodeSuccess:
			m.Rcode = rc
		case network == "udp" && s.truncate[name]:
			m.Truncated = true
		default:
			m.Answer = append(m.Answer, s.records[key(q.Name, q.Qtype)]...)
			if q.Qtype == dns.TypeSRV {
				for _, rr := range m.Answer {
					if srv, ok := rr.(*dns.SRV); ok {
						m.Extra = append(m.Extra, s.records[key(srv.Target, dns.TypeA)]...)
						m.Extra = append(m.Extra, s.records[key(srv.Target, dns.TypeAAAA)]...)
					}
				}
			}
		}
	}
	s.mu.Unlock()
	_ = w.WriteMsg(m)
}
