package directors

import (
	"fmt"
	"strings"
)

// sourceKind is where a key source takes its bytes from.
type sourceKind uint8

const (
	srcURL      sourceKind = iota // the request target as received (path and query)
	srcHost                       // the Host header
	srcClientIP                   // the client address in text form
	srcHeader                     // the first value of a header
	srcCookie                     // the value of a cookie
	srcQuery                      // the first value of a query parameter
	srcSNI                        // the TLS server name the client sent
)

// keySource is one compiled key source.
type keySource struct {
	kind sourceKind
	name string // header, cookie or query parameter name
}

// Key is a compiled list of key sources (docs/spec.md section 2, "key"): per request, the
// sources' bytes are concatenated and hashed as Varnish's shard.key() and
// hash.backend() hash their strings. Compile it once with ParseKey; the
// zero Key has no sources and hashes the empty string.
type Key struct {
	srcs   []keySource
	intKey bool // one "int:" source: its value is the key itself
}

// ParseKey compiles key source specs: "url", "host", "client_ip", "sni",
// "header:NAME", "cookie:NAME", "query:NAME", or one "int:" source alone
// ("int:header:NAME"), whose decimal value 0..4294967295 is the key itself
// as VSLP's integer keys were (anything else, or a missing value, is 0).
func ParseKey(specs []string) (Key, error) {
	var k Key
	for _, spec := range specs {
		s := spec
		if rest, ok := strings.CutPrefix(s, "int:"); ok {
			if len(specs) != 1 {
				return Key{}, fmt.Errorf("directors: key %q: an int: source must be the only one", spec)
			}
			k.intKey, s = true, rest
		}
		src, err := parseSource(s)
		if err != nil {
			return Key{}, fmt.Errorf("directors: key %q: %w", spec, err)
		}
		k.srcs = append(k.srcs, src)
	}
	return k, nil
}

func parseSource(s string) (keySource, error) {
	switch s {
	case "url":
		return keySource{kind: srcURL}, nil
	case "host":
		return keySource{kind: srcHost}, nil
	case "client_ip":
		return keySource{kind: srcClientIP}, nil
	case "sni":
		return keySource{kind: srcSNI}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return keySource{}, fmt.Errorf("want url, host, client_ip, sni, header:NAME, cookie:NAME or query:NAME")
	}
	switch kind {
	case "header":
		return keySource{kind: srcHeader, name: name}, nil
	case "cookie":
		return keySource{kind: srcCookie, name: name}, nil
	case "query":
		return keySource{kind: srcQuery, name: name}, nil
	}
	return keySource{}, fmt.Errorf("unknown source %q", kind)
}

// String returns the sources as given to ParseKey, comma separated.
func (k Key) String() string {
	var b strings.Builder
	for i, s := range k.srcs {
		if i > 0 {
			b.WriteByte(',')
		}
		if k.intKey {
			b.WriteString("int:")
		}
		b.WriteString([]string{"url", "host", "client_ip", "header:", "cookie:", "query:", "sni"}[s.kind])
		b.WriteString(s.name)
	}
	return b.String()
}

// bytes returns the source's value in r, nil when absent. The slice aliases
// the request buffer (valid only during Resolve). client_ip has no bytes in
// the request; see appendTo.
func (s *keySource) bytes(r *Request) []byte {
	if s.kind == srcSNI {
		return r.SNI
	}
	h := r.Head
	if h == nil {
		return nil
	}
	switch s.kind {
	case srcURL:
		return h.Target
	case srcHost:
		return h.Host
	case srcHeader:
		return h.Header(s.name)
	case srcCookie:
		return h.Cookie(s.name)
	case srcQuery:
		return h.QueryValue(s.name)
	}
	return nil
}

// appendTo appends the source's value in r to dst.
func (s *keySource) appendTo(dst []byte, r *Request) []byte {
	if s.kind == srcClientIP {
		if !r.ClientIP.IsValid() {
			return dst
		}
		return r.ClientIP.Unmap().AppendTo(dst)
	}
	return append(dst, s.bytes(r)...)
}

// Sum returns r's 32-bit key under d: r.Key when r.HasKey is set, the
// hash of r.KeyText when it is not nil (its value for an int: source),
// else the hash of the concatenated sources (for an int: source, its
// value). It allocates nothing once r.Scratch has grown to fit the key.
func (k Key) Sum(r *Request, d Digest) uint32 {
	if r.HasKey {
		return r.Key
	}
	if r.KeyText != nil {
		if k.intKey {
			return parseKeyInt(r.KeyText)
		}
		return HashKey(r.KeyText, d)
	}
	if k.intKey {
		b := r.Scratch[:0]
		b = k.srcs[0].appendTo(b, r)
		r.Scratch = b[:0]
		return parseKeyInt(b)
	}
	if len(k.srcs) == 1 && k.srcs[0].kind != srcClientIP {
		return HashKey(k.srcs[0].bytes(r), d) // no copy for the usual single source
	}
	if d == DigestFNV1a {
		h := uint64(fnvOffset)
		for i := range k.srcs {
			if s := &k.srcs[i]; s.kind == srcClientIP {
				b := s.appendTo(r.Scratch[:0], r)
				r.Scratch = b[:0]
				h = fnvAdd(h, b)
			} else {
				h = fnvAdd(h, s.bytes(r))
			}
		}
		return fnvSum(h)
	}
	b := r.Scratch[:0]
	for i := range k.srcs {
		b = k.srcs[i].appendTo(b, r)
	}
	r.Scratch = b[:0]
	return sha32(b)
}

// parseKeyInt reads b as a decimal uint32; anything else is 0.
func parseKeyInt(b []byte) uint32 {
	if len(b) == 0 || len(b) > 10 {
		return 0
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<32-1 {
		return 0
	}
	return uint32(n)
}
