package http1

import (
	"bytes"
	"encoding/binary"
	"net/netip"
)

// PROXY protocol, versions 1 and 2 (haproxy.org/download/2.9/doc/proxy-protocol.txt).

// proxyV2Sig is the 12-byte signature that starts a version 2 header.
const proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// maxProxyV1 is the longest version 1 header, CRLF included.
const maxProxyV1 = 107

// ParseProxyHeader parses the PROXY protocol header (version 1, text, or
// version 2, binary) at the start of buf. It returns n, the header's
// length, and the source and destination addresses it carries. A LOCAL
// (v2) or UNKNOWN (v1) header, or one for a family other than TCP/UDP over
// IPv4 or IPv6 (v2 UNSPEC or UNIX), is valid with zero addresses. It
// returns ErrNeedMore for a valid but incomplete header and an *Error
// (400) for anything else. Version 2 TLVs are skipped. It allocates only
// for version 1 addresses.
func ParseProxyHeader(buf []byte) (n int, src, dst netip.AddrPort, err error) {
	if len(buf) == 0 {
		return 0, src, dst, ErrNeedMore
	}
	if buf[0] == '\r' {
		return parseProxyV2(buf)
	}
	return parseProxyV1(buf)
}

func parseProxyV2(buf []byte) (n int, src, dst netip.AddrPort, err error) {
	for j := 0; j < len(proxyV2Sig); j++ {
		if j == len(buf) {
			return 0, src, dst, ErrNeedMore
		}
		if buf[j] != proxyV2Sig[j] {
			return 0, src, dst, errProxy
		}
	}
	if len(buf) < 16 {
		return 0, src, dst, ErrNeedMore
	}
	verCmd, fam := buf[12], buf[13]
	if verCmd>>4 != 2 || verCmd&0xf > 1 || fam>>4 > 3 || fam&0xf > 2 {
		return 0, src, dst, errProxy
	}
	n = 16 + int(binary.BigEndian.Uint16(buf[14:16]))
	if len(buf) < n {
		return 0, src, dst, ErrNeedMore
	}
	if verCmd&0xf == 0 { // LOCAL: the sender's own connection (health check)
		return n, src, dst, nil
	}
	a := buf[16:n]
	switch fam >> 4 {
	case 1: // AF_INET
		if len(a) < 12 {
			return 0, src, dst, errProxy
		}
		src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:10]))
		dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:12]))
	case 2: // AF_INET6
		if len(a) < 36 {
			return 0, src, dst, errProxy
		}
		src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:34]))
		dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:36]))
	case 3: // AF_UNIX: no IP addresses to report
		if len(a) < 216 {
			return 0, src, dst, errProxy
		}
	}
	return n, src, dst, nil
}

func parseProxyV1(buf []byte) (n int, src, dst netip.AddrPort, err error) {
	const prefix = "PROXY "
	for j := 0; j < len(prefix); j++ {
		if j == len(buf) {
			return 0, src, dst, ErrNeedMore
		}
		if buf[j] != prefix[j] {
			return 0, src, dst, errProxy
		}
	}
	cr := -1
	for j := len(prefix); j < len(buf) && j < maxProxyV1-1; j++ {
		if buf[j] == '\r' {
			cr = j
			break
		}
		if buf[j] < ' ' || buf[j] > '~' {
			return 0, src, dst, errProxy
		}
	}
	switch {
	case cr < 0 && len(buf) >= maxProxyV1-1:
		return 0, src, dst, errProxy
	case cr < 0 || cr+1 == len(buf):
		return 0, src, dst, ErrNeedMore
	case buf[cr+1] != '\n':
		return 0, src, dst, errProxy
	}
	n = cr + 2
	// "PROXY" SP ( "UNKNOWN" [ SP anything ] / proto SP src SP dst SP sport SP dport ) CRLF
	line := buf[len(prefix):cr]
	var f [5][]byte
	nf := 0
	for {
		if nf == len(f) {
			return 0, src, dst, errProxy
		}
		j := bytes.IndexByte(line, ' ')
		if j < 0 {
			f[nf] = line
			nf++
			break
		}
		f[nf] = line[:j]
		nf++
		line = line[j+1:]
		if nf == 1 && string(f[0]) == "UNKNOWN" {
			break
		}
	}
	if string(f[0]) == "UNKNOWN" {
		return n, src, dst, nil
	}
	if nf != len(f) {
		return 0, src, dst, errProxy
	}
	v6 := string(f[0]) == "TCP6"
	if !v6 && string(f[0]) != "TCP4" {
		return 0, src, dst, errProxy
	}
	sa, ok1 := parseProxyAddr(f[1], v6)
	da, ok2 := parseProxyAddr(f[2], v6)
	sp, ok3 := parsePort(f[3])
	dp, ok4 := parsePort(f[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, src, dst, errProxy
	}
	return n, netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp), nil
}

// parseProxyAddr parses a v1 address of the family announced.
func parseProxyAddr(b []byte, v6 bool) (netip.Addr, bool) {
	for _, c := range b {
		if c == '%' { // no zones
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Is6() != v6 {
		return netip.Addr{}, false
	}
	return a, true
}

// parsePort parses a decimal port, 0 to 65535.
func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if chars[c]&cDigit == 0 {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v > 65535 {
		return 0, false
	}
	return uint16(v), true
}

// AppendProxyHeader appends a PROXY protocol header to dst: version 2
// (binary) when version is 2, else version 1 (text). Addresses are sent as
// IPv4 when both are IPv4 (or IPv4-mapped), else both as IPv6; zones are
// dropped. When either address is invalid it appends "PROXY UNKNOWN" CRLF
// (v1) or a LOCAL header (v2).
func AppendProxyHeader(dst []byte, version int, src, dstAddr netip.AddrPort) []byte {
	if !src.IsValid() || !dstAddr.IsValid() {
		if version != 2 {
			return append(dst, "PROXY UNKNOWN\r\n"...)
		}
		dst = append(dst, proxyV2Sig...)
		return append(dst, 0x20, 0x00, 0, 0) // LOCAL, UNSPEC, no addresses
	}
	sa, da := src.Addr().Unmap().WithZone(""), dstAddr.Addr().Unmap().WithZone("")
	v4 := sa.Is4() && da.Is4()
	if !v4 {
		sa, da = netip.AddrFrom16(sa.As16()), netip.AddrFrom16(da.As16())
	}
	if version != 2 {
		if v4 {
			dst = append(dst, "PROXY TCP4 "...)
		} else {
			dst = append(dst, "PROXY TCP6 "...)
		}
		dst = sa.AppendTo(dst)
		dst = append(dst, ' ')
		dst = da.AppendTo(dst)
		dst = append(dst, ' ')
		dst = appendUint(dst, uint64(src.Port()))
		dst = append(dst, ' ')
		dst = appendUint(dst, uint64(dstAddr.Port()))
		return append(dst, "\r\n"...)
	}
	dst = append(dst, proxyV2Sig...)
	if v4 {
		dst = append(dst, 0x21, 0x11, 0, 12) // PROXY, TCP over IPv4
		a, b := sa.As4(), da.As4()
		dst = append(dst, a[:]...)
		dst = append(dst, b[:]...)
	} else {
		dst = append(dst, 0x21, 0x21, 0, 36) // PROXY, TCP over IPv6
		a, b := sa.As16(), da.As16()
		dst = append(dst, a[:]...)
		dst = append(dst, b[:]...)
	}
	dst = binary.BigEndian.AppendUint16(dst, src.Port())
	return binary.BigEndian.AppendUint16(dst, dstAddr.Port())
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}
