package proxy

import (
	"unsafe"

	"github.com/panjf2000/gnet/v2"
)

// s2b returns the bytes of s without copying. The result must not be
// modified (it may point into read-only memory).
func s2b(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// discard drops the first n buffered bytes of c. n <= 0 drops nothing
// (gnet's Discard treats n <= 0 as "everything"); pass discardAll for that.
func discard(c gnet.Conn, n int) {
	if n > 0 {
		_, _ = c.Discard(n)
	} else if n == discardAll {
		_, _ = c.Discard(-1)
	}
}

// discardAll makes discard drop every buffered byte.
const discardAll = -1 << 62
