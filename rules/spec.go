// Package rules is the data plane's request policy: matchers (host, path,
// method, header, query, client address, response status, combined with
// all/any/not) and ordered rules that edit headers, redirect, rewrite the
// path, answer by themselves, set a request id, choose a director and
// throttle by key (docs/rules.md). A List is compiled once from its Spec
// and evaluated per request on the event loop: the matchers other than
// the regular expressions, and every action but a regexp rewrite,
// allocate nothing.
//
// The Spec types carry the TOML names the configuration uses; this
// package knows nothing of the configuration file itself.
package rules

// Match is a matcher: a request matches when every condition given
// holds (an empty Match matches everything). Lists within one condition
// are alternatives: host = ["a", "b"] matches either.
type Match struct {
	// Host patterns: "example.com" or "*.example.com" (any subdomain),
	// case-insensitive; the request's port is ignored unless the pattern
	// has one.
	Host []string `toml:"host"`
	// Path matches the path exactly; PathPrefix its start; PathRegex is a
	// Go regular expression (RE2 syntax) searched in the path.
	Path       []string `toml:"path"`
	PathPrefix []string `toml:"path_prefix"`
	PathRegex  string   `toml:"path_regex"`
	// Method lists methods, exactly as sent (upper case).
	Method []string `toml:"method"`
	// Header: each named header's first value equals the given value;
	// HeaderPresent: each named header is present; HeaderRegex: each named
	// header's first value matches the expression.
	Header        map[string]string `toml:"header"`
	HeaderPresent []string          `toml:"header_present"`
	HeaderRegex   map[string]string `toml:"header_regex"`
	// Query: each named query parameter's first raw value equals the given
	// value; QueryPresent: each is present.
	Query        map[string]string `toml:"query"`
	QueryPresent []string          `toml:"query_present"`
	// Src lists client addresses and CIDR prefixes, IPv4 and IPv6; the
	// client address is the PROXY protocol source where one was received.
	Src []string `toml:"src"`
	// TLS, when set, matches connections that speak TLS (true) or
	// cleartext (false); SNI lists server-name patterns as Host does,
	// matched against the name the client sent in its TLS handshake (a
	// cleartext request, or one without SNI, matches none).
	TLS *bool    `toml:"tls"`
	SNI []string `toml:"sni"`
	// Status lists response statuses (response rules only); a value below
	// 10 stands for its class: 5 matches 500-599.
	Status []int `toml:"status"`
	// All, Any and Not combine matchers: every one of All, at least one of
	// Any, and not Not.
	All []*Match `toml:"all"`
	Any []*Match `toml:"any"`
	Not *Match   `toml:"not"`
}

// Rule is one request or response rule: an optional matcher (When) and
// one action. The header actions (SetHeader, AddHeader, DelHeader) may be
// combined in one rule; every other action stands alone.
type Rule struct {
	// Name labels the rule in /explain and logs; optional.
	Name string `toml:"name"`
	// When selects the requests (or responses) the rule applies to; nil
	// applies it to all.
	When *Match `toml:"when"`

	// SetHeader replaces every field of each name with one field of the
	// given value (a template, see docs/rules.md); AddHeader appends a
	// field; DelHeader removes every field of each name.
	SetHeader map[string]string `toml:"set_header"`
	AddHeader map[string]string `toml:"add_header"`
	DelHeader []string          `toml:"del_header"`

	// Redirect answers with a redirect to the Location this template
	// builds; Code is 301, 302 (the default), 303, 307 or 308.
	Redirect string `toml:"redirect"`
	Code     int    `toml:"code"`

	// StripPrefix removes a prefix from the path; Rewrite replaces a
	// prefix or a regular expression's match. Both happen before the
	// director is resolved, so hash keys see the new path.
	StripPrefix string   `toml:"strip_prefix"`
	Rewrite     *Rewrite `toml:"rewrite"`

	// Respond answers with this status itself (deny, maintenance), with
	// Body and ContentType (default "text/plain; charset=utf-8").
	Respond     int    `toml:"respond"`
	Body        string `toml:"body"`
	ContentType string `toml:"content_type"`

	// RequestID names a header that is set to a fresh random id when the
	// request has none; the id is logged either way.
	RequestID string `toml:"request_id"`

	// Director sends the request to this director or backend instead of
	// the route's.
	Director string `toml:"director"`

	// RateLimit throttles matching requests per key, answering 429.
	RateLimit *RateLimit `toml:"rate_limit"`
}

// Rewrite is a path rewrite: Prefix (replaced by To when the path starts
// with it) or Regex (every match replaced by To, which may refer to
// groups as $1 or ${name}).
type Rewrite struct {
	Prefix string `toml:"prefix"`
	Regex  string `toml:"regex"`
	To     string `toml:"to"`
}

// RateLimit is a token bucket per key: Rate requests per Per (default one
// second) on average, bursts of up to Burst (default Rate, at least 1).
// Key lists key sources as a director's key does ("client_ip",
// "header:NAME", "cookie:NAME", "query:NAME", "host", "url"); the default
// is the client address. MaxKeys bounds the keys tracked per event loop
// (default 65536).
type RateLimit struct {
	Key     []string `toml:"key"`
	Rate    float64  `toml:"rate"`
	Per     string   `toml:"per"`
	Burst   int      `toml:"burst"`
	MaxKeys int      `toml:"max_keys"`
}
