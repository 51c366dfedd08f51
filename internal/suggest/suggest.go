// Package suggest finds the known name closest to a mistyped one, for
// "did you mean …?" hints in configuration errors.
package suggest

import "strings"

// maxDistance is the largest edit distance still worth suggesting.
const maxDistance = 2

// Closest returns the candidate nearest to name (compared case-
// insensitively, candidates being lower case) within a small edit
// distance, the alphabetically first on ties, or "" when none is close.
func Closest(name string, candidates func(yield func(string) bool)) string {
	name = strings.ToLower(name)
	best, bestD := "", maxDistance+1
	for c := range candidates {
		if d := Distance(name, c); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
