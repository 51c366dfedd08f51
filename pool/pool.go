// Package pool keeps idle keep-alive connections to backends. Each event
// loop owns one Idle: a LIFO stack per backend (the most recently used
// connection is the warmest), so the request path takes a connection
// without any lock. Idle holds connections of any comparable type; proxy
// stores its gnet-backed backend connections here.
package pool

import (
	"github.com/shellac-lb/shellac/directors"
)

type entry[C comparable] struct {
	c     C
	since int64 // when it became idle, Unix nanos
}

// stack is one backend's idle connections, oldest first.
type stack[C comparable] struct {
	b     *directors.Backend
	items []entry[C]
}

// Idle is one event loop's idle connections, per backend. It is not safe
// for concurrent use: it is owned and used by one event loop only.
type Idle[C comparable] struct {
	stacks []stack[C] // indexed by Backend.ID()
	// Share divides each backend's max_idle among the event loops: a loop
	// keeps at most ceil(MaxIdle/Share) idle connections per backend.
	Share int
}

func (p *Idle[C]) stack(b *directors.Backend) *stack[C] {
	id := b.ID()
	if id >= len(p.stacks) {
		n := make([]stack[C], id+1+id/2)
		copy(n, p.stacks)
		p.stacks = n
	}
	s := &p.stacks[id]
	s.b = b
	return s
}

// Limit returns how many idle connections to b this loop keeps.
func (p *Idle[C]) Limit(b *directors.Backend) int {
	m := b.Config().MaxIdle
	if m <= 0 {
		return 0
	}
	share := p.Share
	if share <= 1 {
		return m
	}
	return (m + share - 1) / share
}

// Get takes the most recently idled connection to b, if any.
func (p *Idle[C]) Get(b *directors.Backend) (c C, ok bool) {
	if b.ID() >= len(p.stacks) {
		return c, false
	}
	s := &p.stacks[b.ID()]
	n := len(s.items)
	if n == 0 {
		return c, false
	}
	c = s.items[n-1].c
	s.items[n-1] = entry[C]{}
	s.items = s.items[:n-1]
	b.ConnIdle(-1)
	return c, true
}

// Put makes c an idle connection to b, idle since now. It reports false,
// keeping nothing, when b keeps no idle connections (max_idle = 0), was
// removed, or this loop already holds burstFactor × Limit(b) idle
// connections; the caller then closes c.
//
// Between those bounds Put keeps c even above Limit(b): connections come
// back in bursts when many requests finish together, and closing them only
// to dial again a moment later costs far more than holding them. Expire
// trims each backend back to Limit(b), oldest first, on its next sweep
// (HAProxy purges its idle pools gradually in the same way).
func (p *Idle[C]) Put(b *directors.Backend, c C, now int64) bool {
	if b.Gone() {
		return false
	}
	limit := p.Limit(b)
	s := p.stack(b)
	if limit == 0 || len(s.items) >= burstFactor*limit {
		return false
	}
	s.items = append(s.items, entry[C]{c: c, since: now})
	b.ConnIdle(1)
	return true
}

// burstFactor bounds how far above its limit a loop's idle pool may grow
// between two sweeps.
const burstFactor = 8

// Remove drops c from b's idle connections (the backend closed it, or it
// misbehaved) and reports whether it was there.
func (p *Idle[C]) Remove(b *directors.Backend, c C) bool {
	if b.ID() >= len(p.stacks) {
		return false
	}
	s := &p.stacks[b.ID()]
	for i := len(s.items) - 1; i >= 0; i-- {
		if s.items[i].c == c {
			copy(s.items[i:], s.items[i+1:])
			s.items[len(s.items)-1] = entry[C]{}
			s.items = s.items[:len(s.items)-1]
			b.ConnIdle(-1)
			return true
		}
	}
	return false
}

// Len returns how many idle connections to b this loop holds.
func (p *Idle[C]) Len(b *directors.Backend) int {
	if b.ID() >= len(p.stacks) {
		return 0
	}
	return len(p.stacks[b.ID()].items)
}

// Expire removes the connections idle for longer than their backend's
// idle_timeout, every idle connection of a removed backend, and the oldest
// ones beyond Limit(b), calling drop for each (the caller closes it; drop
// must not call back into p). Call it periodically (about once a second)
// from the owning loop; it looks only at the oldest entries.
func (p *Idle[C]) Expire(now int64, drop func(b *directors.Backend, c C)) {
	for i := range p.stacks {
		s := &p.stacks[i]
		if len(s.items) == 0 {
			continue
		}
		ttl := int64(s.b.Config().IdleTimeout)
		gone := s.b.Gone()
		excess := len(s.items) - p.Limit(s.b)
		k := 0
		for k < len(s.items) && (gone || k < excess || (ttl > 0 && now-s.items[k].since >= ttl)) {
			k++
		}
		if k == 0 {
			continue
		}
		// Compact before calling drop so drop never sees a stale slice;
		// take at most len(dropped) per call (the rest go on the next).
		var dropped [64]C
		k = min(k, len(dropped))
		for j := 0; j < k; j++ {
			dropped[j] = s.items[j].c
		}
		n := copy(s.items, s.items[k:])
		clear(s.items[n:])
		s.items = s.items[:n]
		for j := 0; j < k; j++ {
			s.b.ConnIdle(-1)
			drop(s.b, dropped[j])
		}
	}
}

// Clear empties the pool, calling drop for every idle connection (used at
// shutdown); the caller closes them.
func (p *Idle[C]) Clear(drop func(b *directors.Backend, c C)) {
	for i := range p.stacks {
		s := &p.stacks[i]
		items := s.items
		s.items = nil
		for _, e := range items {
			s.b.ConnIdle(-1)
			drop(s.b, e.c)
		}
	}
}
