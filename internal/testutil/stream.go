package testutil

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
)

// Stream returns n pseudo-random bytes determined by seed (ChaCha8): a
// large body a test can send or check without holding it in memory.
func Stream(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// StreamSum is the SHA-256 of Stream(seed, n), in hex.
func StreamSum(seed uint64, n int64) string {
	h := sha256.New()
	_, _ = io.Copy(h, Stream(seed, n))
	return hex.EncodeToString(h.Sum(nil))
}

// BodyHandler serves large bodies both ways: a request with
// ?size=N[&seed=S] is answered with Stream(S, N) (Content-Length N), and
// every request's body is read and answered, when no size is asked for,
// with "LENGTH SHA256HEX".
func BodyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if size := r.URL.Query().Get("size"); size != "" {
			sz, err1 := strconv.ParseInt(size, 10, 64)
			seed, err2 := strconv.ParseUint(r.URL.Query().Get("seed"), 10, 64)
			if err1 != nil || (err2 != nil && r.URL.Query().Has("seed")) {
				http.Error(w, "bad size or seed", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Length", size)
			_, _ = io.Copy(w, Stream(seed, sz))
			return
		}
		fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
	})
}
