package http1

import (
	"math/rand/v2"
	"testing"
)

// TestSkipValueWords checks the word-at-a-time scan against the byte
// table: it must stop at the word holding the first byte that is not
// field-vchar or SP, and never before.
func TestSkipValueWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64)
	for iter := 0; iter < 200000; iter++ {
		for j := range buf {
			switch rng.IntN(4) {
			case 0:
				buf[j] = byte(rng.IntN(256))
			default:
				buf[j] = byte(0x20 + rng.IntN(0x5f)) // mostly plain text
			}
		}
		// Make long runs of good bytes likely.
		for j := 0; j < rng.IntN(len(buf)); j++ {
			buf[j] = 'a'
		}
		first := len(buf)
		for j, c := range buf {
			if chars[c]&cValue == 0 || c == '\t' {
				first = j
				break
			}
		}
		got := skipValueWords(buf, 0)
		if want := first &^ 7; got != want {
			t.Fatalf("skipValueWords(%q) = %d; want %d", buf, got, want)
		}
	}
	// Every single byte value in every position.
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			w := []byte("aaaaaaaaaaaaaaaa")
			w[pos] = byte(c)
			good := chars[byte(c)]&cValue != 0 && c != '\t'
			got := skipValueWords(w, 0)
			if good && got != 16 || !good && got != 0 {
				t.Fatalf("byte %#x at %d: skipped to %d", c, pos, got)
			}
		}
	}
}

func TestValidHost(t *testing.T) {
	for _, h := range []string{"", "a", "a.b-c_d~e", "a:80", "a:", ":80", "[::1]", "[::1]:443", "[v1.x:y]", "a%41b", "127.0.0.1:65535"} {
		if !validHost([]byte(h)) {
			t.Errorf("validHost(%q) = false", h)
		}
	}
	for _, h := range []string{"a b", "a@b", "a/b", "a?b", "a#b", "[::1", "[]", "[::1]x", "a:1:2", "a:b", "a:123456", "a%4", "a%zz", "\x00", "é"} {
		if validHost([]byte(h)) {
			t.Errorf("validHost(%q) = true", h)
		}
	}
}
