package vclimport

import "strings"

// maxAlternatives bounds how many literal strings a pattern may expand
// to (alternations multiply).
const maxAlternatives = 64

// expandLiteral expands a regular expression made only of literal
// characters, escaped punctuation, and groups of alternatives ((a|b),
// (?:a|b), optional (x)?) into the strings it matches. It returns
// false for anything else (classes, repetition, anchors inside). With
// dotIsLiteral, an unescaped . stands for itself (host patterns such as
// "^example.com$", written without the escape, mean the dot).
func expandLiteral(re string, dotIsLiteral bool) ([]string, bool) {
	alts, rest, ok := expandAlt(re, dotIsLiteral, 0)
	if !ok || rest != "" {
		return nil, false
	}
	return alts, true
}

// expandAlt parses alternatives up to an unmatched ) or the end.
func expandAlt(re string, dot bool, depth int) ([]string, string, bool) {
	if depth > 10 {
		return nil, "", false
	}
	var all []string
	for {
		seq, rest, ok := expandSeq(re, dot, depth)
		if !ok {
			return nil, "", false
		}
		all = append(all, seq...)
		if len(all) > maxAlternatives {
			return nil, "", false
		}
		if rest == "" || rest[0] != '|' {
			return all, rest, true
		}
		re = rest[1:]
	}
}

// expandSeq parses a sequence of literals and groups up to | or ) or
// the end.
func expandSeq(re string, dot bool, depth int) ([]string, string, bool) {
	out := []string{""}
	appendAll := func(parts []string) bool {
		var next []string
		for _, o := range out {
			for _, p := range parts {
				next = append(next, o+p)
			}
		}
		out = next
		return len(out) <= maxAlternatives
	}
	for re != "" {
		c := re[0]
		switch {
		case c == '|' || c == ')':
			return out, re, true
		case c == '\\':
			if len(re) < 2 {
				return nil, "", false
			}
			e := re[1]
			if e >= 'a' && e <= 'z' || e >= 'A' && e <= 'Z' || e >= '0' && e <= '9' {
				return nil, "", false // \d, \w, \s, \1 …: not a literal
			}
			if !appendAll([]string{string(e)}) {
				return nil, "", false
			}
			re = re[2:]
		case c == '(':
			inner := re[1:]
			inner = strings.TrimPrefix(inner, "?:")
			alts, rest, ok := expandAlt(inner, dot, depth+1)
			if !ok || rest == "" || rest[0] != ')' {
				return nil, "", false
			}
			re = rest[1:]
			if strings.HasPrefix(re, "?") {
				alts = append(alts, "")
				re = re[1:]
			}
			if !appendAll(alts) {
				return nil, "", false
			}
		case c == '.' && dot:
			if !appendAll([]string{"."}) {
				return nil, "", false
			}
			re = re[1:]
		case strings.IndexByte(".^$*+?[]{}", c) >= 0:
			return nil, "", false
		default:
			if len(re) > 1 && strings.IndexByte("*+?{", re[1]) >= 0 {
				return nil, "", false // a repeated character
			}
			if !appendAll([]string{string(c)}) {
				return nil, "", false
			}
			re = re[1:]
		}
	}
	return out, "", true
}

// hostPatterns translates a regular expression matched against the Host
// header into shellac host patterns ("example.com", "*.example.com"),
// or returns why it cannot.
func hostPatterns(re string) ([]string, string) {
	const cannot = "shellac routes match a host name, or *.domain for its subdomains"
	re = strings.TrimPrefix(re, "(?i)") // host matching is case-insensitive anyway
	if !strings.HasSuffix(re, "$") || strings.HasSuffix(re, `\$`) {
		return nil, "the pattern is not anchored with $: " + cannot
	}
	re = re[:len(re)-1]
	exactAndSubs := false
	subsOnly := false
	for _, p := range []string{`(^|\.)`, `^(.*\.)?`, `(.*\.)?`, `^(.+\.)?`, `^([^.]+\.)?`} {
		if strings.HasPrefix(re, p) {
			re, exactAndSubs = re[len(p):], true
			break
		}
	}
	if !exactAndSubs {
		for _, p := range []string{`^.*\.`, `^.+\.`, `.*\.`, `.+\.`, `\.`} {
			if strings.HasPrefix(re, p) {
				re, subsOnly = re[len(p):], true
				break
			}
		}
	}
	if !exactAndSubs && !subsOnly {
		if !strings.HasPrefix(re, "^") {
			return nil, "the pattern is not anchored with ^: " + cannot
		}
		re = re[1:]
	}
	alts, ok := expandLiteral(re, true)
	if !ok {
		return nil, "the pattern is not a literal host name (with alternatives): " + cannot
	}
	var hosts []string
	for _, a := range alts {
		a = strings.ToLower(a)
		if !validHost(a) {
			return nil, "the pattern matches " + `"` + a + `"` + ", which is not a host name: " + cannot
		}
		if !subsOnly {
			hosts = append(hosts, a)
		}
		if subsOnly || exactAndSubs {
			hosts = append(hosts, "*."+a)
		}
	}
	return hosts, ""
}

// validHost reports whether h is a host name shellac routes accept
// (letters, digits, - and dots; an optional :port).
func validHost(h string) bool {
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	if hasPort {
		if port == "" {
			return false
		}
		for i := 0; i < len(port); i++ {
			if !isDigit(port[i]) {
				return false
			}
		}
	}
	return true
}

// pathPrefixes translates a regular expression matched against the URL
// into path prefixes, or returns why it cannot.
func pathPrefixes(re string) ([]string, string) {
	const cannot = "shellac routes match a path prefix"
	if strings.HasPrefix(re, "(?i)") {
		return nil, "a case-insensitive URL pattern: " + cannot + ", case-sensitively"
	}
	if !strings.HasPrefix(re, "^") {
		return nil, "the pattern is not anchored with ^: " + cannot
	}
	re = strings.TrimSuffix(re[1:], ".*")
	if strings.HasSuffix(re, "$") && !strings.HasSuffix(re, `\$`) {
		return nil, "the pattern matches whole URLs (anchored with $): " + cannot
	}
	alts, ok := expandLiteral(re, false)
	if !ok {
		return nil, "the pattern is not a literal prefix (with alternatives): " + cannot
	}
	for _, a := range alts {
		if !strings.HasPrefix(a, "/") {
			return nil, `the pattern matches "` + a + `", which does not start with /: ` + cannot
		}
		if strings.ContainsAny(a, "? \t#") {
			return nil, `the prefix "` + a + `" reaches into the query: ` + cannot
		}
	}
	return alts, ""
}
