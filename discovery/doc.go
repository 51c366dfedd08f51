// Package discovery resolves DNS-discovered backends: a target such as
// "dns+srv://_http._tcp.api.service.consul" or "dns+a://api.internal:8080"
// is looked up on its own resolvers (github.com/miekg/dns), re-resolved
// on the answer's TTL bounded by a minimum and a maximum, and a Watcher
// reports each change of the set of endpoints. When DNS fails, or answers
// with nothing, the last good set is kept (for a configurable grace) and
// the failure is counted; the Watcher never reports an empty set because
// of a failure.
//
// The package knows nothing of shellac's configuration or data plane: app
// turns the endpoints into backends and director members.
package discovery
