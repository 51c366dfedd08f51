package directors

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// This file is the extension API's registry: how a Go program adds a
// director type or a backend type that the configuration file then names
// in type = "...". See docs/writing-a-director.md.
//
// The registry sits here, below the configuration, so that nothing
// imports in a circle: package config asks it which types exist and has
// each type's factory check its options while it parses (so `shellac
// check` reports a bad option at its FILE:LINE), and package topology asks
// it again to build the live director. This package never imports config.

// Cluster is a director whose members are given by the configuration's
// members = [...] list, and changed at run time by the admin API. Every
// method but Name, Healthy and Resolve comes from embedding a Set, so a
// custom director type is a struct that embeds Set and adds those three.
type Cluster interface {
	Director
	// Members returns the current members in order; do not modify.
	Members() []Member
	// Add adds m with weight w, or updates the member of that name.
	Add(m Member, w float64) error
	// Remove removes the member named name and reports whether it was there.
	Remove(name string) bool
	// Replace swaps the whole membership; weights may be nil (all 1).
	Replace(members []Member, weights []float64) error
}

// DirectorFactory makes a director named name of a registered type, with
// no members yet, from its options: the keys of its [directors.NAME]
// table other than type, members and weights. It validates them, returning
// *OptionError values (Options.Errorf) so that the configuration can point
// at the offending key. It should read every option it knows before it
// returns, and report all the problems at once with errors.Join: an
// option it never asked for is reported as unknown, even when it fails.
//
// A factory is called once when the configuration is checked and once
// more when it is built, and the first director is thrown away: it must
// have no side effect beyond allocating the director (no goroutine, no
// file, no socket). A director must not start goroutines at all: a reload
// that changes a director's configuration or members drops the old one
// without telling it (an unchanged director is kept, with its state).
type DirectorFactory func(name string, opts *Options) (Cluster, error)

// BackendFactory makes the Responder of a custom leaf backend named name
// of a registered type from its options: the keys of its [backends.NAME]
// table other than type. The rules of DirectorFactory apply.
type BackendFactory func(name string, opts *Options) (Responder, error)

// coreDirectorTypes are the director types of this package, which the
// configuration knows natively; Register refuses their names.
var coreDirectorTypes = []string{"round_robin", "fallback", "random", "hash", "shard", "saintmode"}

var registry struct {
	mu        sync.RWMutex
	directors map[string]DirectorFactory
	backends  map[string]BackendFactory
}

// Register makes the director type typ available to configuration files
// (type = "typ"), built by f. Call it from an init function, before the
// configuration is parsed. It panics if typ is empty, is a core type
// (round_robin, fallback, random, hash, shard, saintmode) or is already
// registered, or if f is nil: like database/sql.Register, a clash is a
// programming error. Takes the registry lock.
func Register(typ string, f DirectorFactory) {
	if typ == "" || f == nil {
		panic("directors: Register with an empty type or a nil factory")
	}
	if slices.Contains(coreDirectorTypes, typ) {
		panic(fmt.Sprintf("directors: Register(%q): a core director type has that name", typ))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.directors[typ]; dup {
		panic(fmt.Sprintf("directors: Register(%q) called twice", typ))
	}
	if registry.directors == nil {
		registry.directors = map[string]DirectorFactory{}
	}
	registry.directors[typ] = f
}

// RegisterBackend makes the custom backend type typ available to
// configuration files ([backends.NAME] with type = "typ"), its Responder
// built by f. It panics as Register does. Takes the registry lock.
func RegisterBackend(typ string, f BackendFactory) {
	if typ == "" || f == nil {
		panic("directors: RegisterBackend with an empty type or a nil factory")
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.backends[typ]; dup {
		panic(fmt.Sprintf("directors: RegisterBackend(%q) called twice", typ))
	}
	if registry.backends == nil {
		registry.backends = map[string]BackendFactory{}
	}
	registry.backends[typ] = f
}

// DirectorTypes returns the registered director types, sorted. The core
// types are not included.
func DirectorTypes() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	return sortedKeys(registry.directors)
}

// BackendTypes returns the registered backend types, sorted.
func BackendTypes() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	return sortedKeys(registry.backends)
}

// IsRegistered reports whether typ is a registered director type.
func IsRegistered(typ string) bool {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	_, ok := registry.directors[typ]
	return ok
}

// IsRegisteredBackend reports whether typ is a registered backend type.
func IsRegisteredBackend(typ string) bool {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	_, ok := registry.backends[typ]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ErrUnknownType is returned for a type nobody registered.
var ErrUnknownType = errors.New("directors: unknown type")

// NewRegistered makes a director of the registered type typ named name,
// from its options (raw TOML values; nil means none). Its error joins the
// factory's errors and one *OptionError wrapping ErrUnknownOption per
// option the factory never asked for, so a misspelt option is an error
// rather than a silent default. Packages config and topology call it; a
// Go program can too.
func NewRegistered(typ, name string, options map[string]any) (Cluster, error) {
	registry.mu.RLock()
	f := registry.directors[typ]
	registry.mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%w %q (registered: %s)", ErrUnknownType, typ, strings.Join(DirectorTypes(), ", "))
	}
	o := NewOptions(options)
	d, err := f(name, o)
	if err = errors.Join(err, o.unasked(typ+" directors")); err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("directors: the factory of %s directors returned nil", typ)
	}
	return d, nil
}

// NewRegisteredBackend makes a custom backend of the registered type typ
// named name, from its options, as NewRegistered does for directors. The
// backend answers every request through the factory's Responder.
func NewRegisteredBackend(typ, name string, options map[string]any) (*Backend, error) {
	registry.mu.RLock()
	f := registry.backends[typ]
	registry.mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%w %q (registered: %s)", ErrUnknownType, typ, strings.Join(BackendTypes(), ", "))
	}
	o := NewOptions(options)
	resp, err := f(name, o)
	if err = errors.Join(err, o.unasked(typ+" backends")); err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("directors: the factory of %s backends returned nil", typ)
	}
	return NewResponderBackend(name, resp), nil
}
