package directors

import (
	"fmt"
	"time"
)

// By is what a shard director hashes to place a request on its ring.
type By uint8

// Shard key modes (Varnish's by=).
const (
	// ByHash uses the object hash (URL, then Host) as Varnish's by=HASH on
	// the backend side: the first 4 bytes of Request.Digest, big-endian.
	// With DigestFNV1a, the FNV-1a key of url ‖ 0 ‖ host ‖ 0 instead.
	ByHash By = iota
	// ByURL hashes the request target as received, through the digest.
	ByURL
	// ByKey hashes the director's key sources, through the digest.
	ByKey
)

// HealthyPolicy is how a shard director's ring walk treats health
// (Varnish's healthy=).
type HealthyPolicy uint8

// Health policies.
const (
	// HealthyChosen: alt counts every member in ring order, health
	// ignored, then the next healthy member is chosen.
	HealthyChosen HealthyPolicy = iota
	// HealthyIgnore: the alt-th member is chosen whatever its health; no
	// rampup or warmup. A sick backend chosen so is still not used:
	// Resolve returns nil for it, as Varnish refuses to fetch from it.
	HealthyIgnore
	// HealthyAll: alt counts healthy members only.
	HealthyAll
)

// DefaultReplicas is the number of ring points per member of weight 1
// when ShardOptions.Replicas is 0: Varnish's default.
const DefaultReplicas = 67

// DefaultSaintmodeThreshold is Varnish's default saintmode threshold: with
// that many (backend, object) pairs blacklisted at once, the whole member
// is sick. NewSaintmode takes 0 as "no limit"; the configuration's default
// is this.
const DefaultSaintmodeThreshold = 10

// ShardOptions configure a shard director. The zero value is Varnish's
// default shard: 67 replicas, by=HASH, alt 0, healthy=CHOSEN, no rampup,
// no warmup, SHA-256.
type ShardOptions struct {
	Replicas int           // ring points per member of weight 1; 0 means DefaultReplicas
	By       By            // what is hashed
	Key      Key           // the key sources, with By == ByKey
	Alt      int           // 0: first choice; n: n-th alternative (clamped to members-1)
	Healthy  HealthyPolicy // how the walk treats health
	Rampup   time.Duration // a member that became healthy this recently gets a growing share
	Warmup   float64       // probability 0..1 a request goes to the key's next healthy member; <= 0 off
	Digest   Digest        // key hash; SHA-256 is Varnish's
	// Bound, when >= 1, skips members during the ring walk whose in-flight
	// requests reach ceil(Bound × (in-flight total + 1) × their ring share):
	// consistent hashing with bounded loads. 0 is off.
	Bound float64
	// Idents are ring identities by member name; a member without one uses
	// its name. Members with the same ident are one ring member (the one
	// whose name sorts first).
	Idents map[string]string
}

// ParseBy returns the By named s: "hash", "url" or "key". "" is "key" when
// the director has key sources (hasKey), else "hash" (Varnish's default).
func ParseBy(s string, hasKey bool) (By, error) {
	switch s {
	case "":
		if hasKey {
			return ByKey, nil
		}
		return ByHash, nil
	case "hash":
		return ByHash, nil
	case "url":
		return ByURL, nil
	case "key":
		return ByKey, nil
	}
	return 0, fmt.Errorf("directors: unknown shard by %q (want url, hash or key)", s)
}

// String returns "hash", "url" or "key".
func (b By) String() string { return [...]string{"hash", "url", "key"}[b] }

// ParseHealthy returns the HealthyPolicy named s: "" or "chosen",
// "ignore", or "all".
func ParseHealthy(s string) (HealthyPolicy, error) {
	switch s {
	case "", "chosen":
		return HealthyChosen, nil
	case "ignore":
		return HealthyIgnore, nil
	case "all":
		return HealthyAll, nil
	}
	return 0, fmt.Errorf("directors: unknown shard healthy %q (want chosen, ignore or all)", s)
}

// String returns "chosen", "ignore" or "all".
func (p HealthyPolicy) String() string { return [...]string{"chosen", "ignore", "all"}[p] }
