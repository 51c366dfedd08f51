package directors

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Digest selects the function hash and shard directors turn key bytes
// into a 32-bit key with.
type Digest uint8

// Digests.
const (
	// DigestSHA256 is Varnish's VRT_HashStrands32: SHA-256 of the bytes,
	// the last four octets of the sum read little-endian. The default, and
	// the only one that maps keys as Varnish does.
	DigestSHA256 Digest = iota
	// DigestFNV1a is FNV-1a 64 of the bytes, avalanched and folded to 32
	// bits (see fnvSum). It is computed inline without allocation, is the
	// same in every process and on every platform, and is several times
	// faster than SHA-256 — but keys map differently from Varnish.
	DigestFNV1a
)

// ParseDigest returns the Digest named s: "" or "sha256", or "fnv1a".
func ParseDigest(s string) (Digest, error) {
	switch s {
	case "", "sha256":
		return DigestSHA256, nil
	case "fnv1a":
		return DigestFNV1a, nil
	}
	return 0, fmt.Errorf("directors: unknown digest %q (want sha256 or fnv1a)", s)
}

// String returns "sha256" or "fnv1a".
func (d Digest) String() string {
	if d == DigestFNV1a {
		return "fnv1a"
	}
	return "sha256"
}

// HashKey returns the 32-bit key of b under d. With DigestSHA256 it is
// exactly Varnish's shard.key(b) and the value hash.backend(b) scales onto
// the weights.
func HashKey(b []byte, d Digest) uint32 {
	if d == DigestFNV1a {
		return fnvSum(fnvAdd(fnvOffset, b))
	}
	return sha32(b)
}

// sha32 is VRT_HashStrands32 over one string: SHA-256, then the last four
// bytes of the sum read little-endian (the shard director has always
// depended on that byte order).
func sha32(b []byte) uint32 {
	d := sha256.Sum256(b)
	return binary.LittleEndian.Uint32(d[28:])
}

// FNV-1a 64 parameters (http://www.isthe.com/chongo/tech/comp/fnv/).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvAdd folds b into the running FNV-1a 64 state h.
func fnvAdd(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// fnvSum finishes an FNV-1a 64 state into a 32-bit key. Plain FNV-1a
// barely moves its top bits when only the last bytes differ ("key-1000",
// "key-1001"), and the top bits are what places a key on the shard ring,
// so the state goes through the murmur3 64-bit finaliser (xor-shift and
// multiply) before the halves are xor-folded. TestFNVSpread pins this.
func fnvSum(h uint64) uint32 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h ^ h>>32)
}
