package http1

import (
	"net/netip"
	"strings"
	"testing"
)

func TestProxyHeaderRoundTrip(t *testing.T) {
	cases := []struct {
		name             string
		src, dst         string
		wantSrc, wantDst string // after the trip (IPv4-mapped when the families differ)
		wantV1           string
	}{
		{"IPv4", "192.0.2.1:56324", "198.51.100.2:443", "192.0.2.1:56324", "198.51.100.2:443",
			"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"},
		{"IPv6", "[2001:db8::1]:1", "[2001:db8::2]:65535", "[2001:db8::1]:1", "[2001:db8::2]:65535",
			"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n"},
		{"IPv4-mapped unmapped", "[::ffff:192.0.2.1]:80", "[::ffff:192.0.2.2]:81", "192.0.2.1:80", "192.0.2.2:81",
			"PROXY TCP4 192.0.2.1 192.0.2.2 80 81\r\n"},
		{"mixed families as IPv6", "192.0.2.1:80", "[2001:db8::2]:81", "[::ffff:192.0.2.1]:80", "[2001:db8::2]:81",
			"PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 80 81\r\n"},
		{"zone dropped", "[fe80::1%eth0]:80", "[fe80::2]:81", "[fe80::1]:80", "[fe80::2]:81",
			"PROXY TCP6 fe80::1 fe80::2 80 81\r\n"},
		{"port zero", "192.0.2.1:0", "192.0.2.2:0", "192.0.2.1:0", "192.0.2.2:0",
			"PROXY TCP4 192.0.2.1 192.0.2.2 0 0\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
			for _, v := range []int{1, 2} {
				h := AppendProxyHeader([]byte("x"), v, src, dst)[1:]
				if v == 1 && string(h) != tc.wantV1 {
					t.Errorf("v1 = %q; want %q", h, tc.wantV1)
				}
				buf := append(h, "GET / HTTP/1.1\r\n"...)
				n, s, d, err := ParseProxyHeader(buf)
				if err != nil || n != len(h) {
					t.Fatalf("v%d: n, err = %d, %v; want %d, nil", v, n, err, len(h))
				}
				if s.String() != tc.wantSrc || d.String() != tc.wantDst {
					t.Errorf("v%d: addresses %v %v; want %v %v", v, s, d, tc.wantSrc, tc.wantDst)
				}
				for k := 0; k < len(h); k++ {
					if _, _, _, err := ParseProxyHeader(h[:k]); err != ErrNeedMore {
						t.Fatalf("v%d prefix %d: err = %v; want ErrNeedMore", v, k, err)
					}
				}
			}
		})
	}
}

func TestProxyHeaderUnknown(t *testing.T) {
	var zero netip.AddrPort
	valid := netip.MustParseAddrPort("192.0.2.1:1")
	if got := string(AppendProxyHeader(nil, 1, zero, valid)); got != "PROXY UNKNOWN\r\n" {
		t.Errorf("v1 with an invalid address = %q", got)
	}
	v2 := AppendProxyHeader(nil, 2, valid, zero)
	if want := proxyV2Sig + "\x20\x00\x00\x00"; string(v2) != want {
		t.Errorf("v2 with an invalid address = %q; want %q", v2, want)
	}
	for _, h := range []string{
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
		string(v2),
		proxyV2Sig + "\x21\x00\x00\x00", // PROXY, UNSPEC
		proxyV2Sig + "\x21\x31\x00\xd8" + strings.Repeat("\x00", 216), // PROXY, UNIX stream
		proxyV2Sig + "\x20\x11\x00\x0c" + strings.Repeat("\x01", 12),  // LOCAL with addresses: ignored
	} {
		n, s, d, err := ParseProxyHeader([]byte(h + "GET"))
		if err != nil || n != len(h) || s.IsValid() || d.IsValid() {
			t.Errorf("%q: n %d, %v %v, err %v; want %d, zero addresses", h, n, s, d, err, len(h))
		}
	}
}

func TestProxyHeaderV2TLVs(t *testing.T) {
	h := proxyV2Sig + "\x21\x11\x00\x14" + "\xc0\x00\x02\x01" + "\xc6\x33\x64\x02" + "\x00\x50" + "\x01\xbb" +
		"\x04\x00\x05hello" // a NOOP TLV, skipped
	n, s, d, err := ParseProxyHeader([]byte(h))
	if err != nil || n != len(h) || s.String() != "192.0.2.1:80" || d.String() != "198.51.100.2:443" {
		t.Fatalf("n %d (want %d), %v %v, err %v", n, len(h), s, d, err)
	}
}

func TestProxyHeaderMalformed(t *testing.T) {
	cases := []struct{ name, in string }{
		{"HTTP request", "GET / HTTP/1.1\r\n"},
		{"lower-case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"},
		{"v1 bad proto", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"},
		{"v1 missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"},
		{"v1 extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"},
		{"v1 double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"},
		{"v1 trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"},
		{"v1 IPv6 in TCP4", "PROXY TCP4 ::1 ::2 1 2\r\n"},
		{"v1 IPv4 in TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"},
		{"v1 zone", "PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n"},
		{"v1 bad address", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"},
		{"v1 port too large", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"},
		{"v1 port not a number", "PROXY TCP4 1.2.3.4 5.6.7.8 1a 2\r\n"},
		{"v1 negative port", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"},
		{"v1 bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"},
		{"v1 CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"},
		{"v1 control byte", "PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\n"},
		{"v1 too long", "PROXY UNKNOWN " + strings.Repeat("a", 100) + "\r\n"},
		{"v1 empty", "PROXY \r\n"},
		{"v2 bad signature", "\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c"},
		{"v2 version 1", proxyV2Sig + "\x11\x11\x00\x0c" + strings.Repeat("\x01", 12)},
		{"v2 bad command", proxyV2Sig + "\x22\x11\x00\x0c" + strings.Repeat("\x01", 12)},
		{"v2 bad family", proxyV2Sig + "\x21\x41\x00\x0c" + strings.Repeat("\x01", 12)},
		{"v2 bad protocol", proxyV2Sig + "\x21\x13\x00\x0c" + strings.Repeat("\x01", 12)},
		{"v2 short IPv4", proxyV2Sig + "\x21\x11\x00\x0b" + strings.Repeat("\x01", 11)},
		{"v2 short IPv6", proxyV2Sig + "\x21\x21\x00\x0c" + strings.Repeat("\x01", 12)},
		{"v2 short UNIX", proxyV2Sig + "\x21\x31\x00\x0c" + strings.Repeat("\x01", 12)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, _, _, err := ParseProxyHeader([]byte(tc.in))
			if statusOf(err) != 400 || n != 0 {
				t.Fatalf("n, err = %d, %v; want 0, a 400 *Error", n, err)
			}
		})
	}
	// An incomplete but plausible v1 line waits; a full-length one fails.
	if _, _, _, err := ParseProxyHeader([]byte("PROXY TCP4 1.2.3.4")); err != ErrNeedMore {
		t.Errorf("partial v1: err = %v; want ErrNeedMore", err)
	}
	if _, _, _, err := ParseProxyHeader([]byte("PROXY TCP4 " + strings.Repeat("1", 200))); statusOf(err) != 400 {
		t.Errorf("unterminated v1: err = %v; want 400", err)
	}
	// A v2 header announcing more bytes than buffered waits.
	if _, _, _, err := ParseProxyHeader([]byte(proxyV2Sig + "\x21\x11\x00\x0c\x01")); err != ErrNeedMore {
		t.Errorf("partial v2: err = %v; want ErrNeedMore", err)
	}
}
