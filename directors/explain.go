package directors

// explainer is a director that can tell, without changing any state (a
// round-robin or sticky cursor), what it would pick for a request and in
// which order it would try its members. Every built-in director is one.
type explainer interface {
	// explain returns the member Resolve would choose for r now (nil if
	// none) and all members in the order the director would try them.
	explain(r *Request) (chosen Member, order []Member)
}

// Explainer is a director that can tell, without changing any state (a
// round-robin cursor, a random draw it would remember), what it would
// pick for r now and in which order it would try its members. The admin
// API's /explain asks it. A director that is not an Explainer is resolved
// instead (which may move its cursor), and its Members, if it has them,
// are the order. Explain may allocate: it is not on the request path.
type Explainer interface {
	Explain(r *Request) (chosen Member, order []Member)
}

// Explain tells what resolving r from m would give, for the admin API's
// /explain: the chosen leaf (nil when none is healthy), the other leaves in
// the order the directors would fall back to them (for shard, the ring
// walk order of the key; health is not considered), and the names from m
// down to the chosen leaf. It changes no director's state; r may carry a
// bare key (Request.Key, HasKey) instead of a head. Explain allocates: it
// is not for the request path.
func Explain(m Member, r *Request) (chosen *Backend, alternatives []*Backend, path []string) {
	if r == nil {
		r = &Request{}
	}
	for depth := 0; m != nil && depth < maxDepth; depth++ {
		path = append(path, m.Name())
		if b, ok := m.(*Backend); ok {
			if b.Healthy(r) {
				chosen = b
			}
			break
		}
		var order []Member
		m, order = explainOf(m, r)
		if depth == 0 {
			for _, o := range order {
				alternatives = appendLeaves(alternatives, o, r, 0)
			}
		}
	}
	out := alternatives[:0]
	for i, b := range alternatives {
		if b != chosen && indexOf(alternatives[:i], b) < 0 {
			out = append(out, b)
		}
	}
	return chosen, out, path
}

// explainOf asks d what it would choose; a Director that is not an
// explainer (built-in) or an Explainer is resolved (which may change its state) and its members, if
// it lists them, are the order.
func explainOf(d Member, r *Request) (Member, []Member) {
	switch v := d.(type) {
	case explainer:
		return v.explain(r)
	case Explainer:
		return v.Explain(r)
	case Director:
		var order []Member
		if p, ok := v.(parent); ok {
			order = p.Members()
		}
		return v.Resolve(r), order
	}
	return nil, nil
}

// appendLeaves appends the leaves below m to out: its chosen leaf first,
// then those of its members in order.
func appendLeaves(out []*Backend, m Member, r *Request, depth int) []*Backend {
	if b, ok := m.(*Backend); ok {
		return append(out, b)
	}
	if m == nil || depth >= maxDepth {
		return out
	}
	c, order := explainOf(m, r)
	if c != nil {
		out = appendLeaves(out, c, r, depth+1)
	}
	for _, o := range order {
		out = appendLeaves(out, o, r, depth+1)
	}
	return out
}

func indexOf(bs []*Backend, b *Backend) int {
	for i, x := range bs {
		if x == b {
			return i
		}
	}
	return -1
}

// firstHealthy returns the first member of order healthy for r.
func firstHealthy(order []Member, r *Request) Member {
	for _, m := range order {
		if m.Healthy(r) {
			return m
		}
	}
	return nil
}

// rotate returns ms starting at index i, wrapping around.
func rotate(ms []Member, i int) []Member {
	return append(append([]Member(nil), ms[i:]...), ms[:i]...)
}

func (d *RoundRobin) explain(r *Request) (Member, []Member) {
	ms := d.Load().Members
	if len(ms) == 0 {
		return nil, nil
	}
	order := rotate(ms, int(d.next.Load()%uint64(len(ms))))
	return firstHealthy(order, r), order
}

func (d *Fallback) explain(r *Request) (Member, []Member) {
	ms := d.Load().Members
	order := rotate(ms, d.cursor(len(ms)))
	return firstHealthy(order, r), order
}

// explain for Random: the draw is random, so the chosen member is one
// draw; the order is the members', heaviest first.
func (d *Random) explain(r *Request) (Member, []Member) {
	sn := d.Load()
	order := append([]Member(nil), sn.Members...)
	w := append([]float64(nil), sn.Weights...)
	for i := 1; i < len(order); i++ { // stable insertion sort by weight, descending
		for j := i; j > 0 && w[j] > w[j-1]; j-- {
			order[j], order[j-1], w[j], w[j-1] = order[j-1], order[j], w[j-1], w[j]
		}
	}
	return d.Resolve(r), order
}

// explain for Hash: the chosen member, then the others in order.
func (d *Hash) explain(r *Request) (Member, []Member) {
	c := d.Resolve(r)
	order := []Member{}
	if c != nil {
		order = append(order, c)
	}
	for _, m := range d.Load().Members {
		if m != c {
			order = append(order, m)
		}
	}
	return c, order
}

// explain for Shard: the chosen member (warmup and rampup dice included),
// then the ring walk from the key, every member once.
func (d *Shard) explain(r *Request) (Member, []Member) {
	rg := d.ring.Load()
	var order []Member
	for _, h := range rg.order(d.KeyOf(r)) {
		order = append(order, rg.members[h])
	}
	return d.Resolve(r), order
}

func (d *Saintmode) explain(r *Request) (Member, []Member) {
	return d.Resolve(r), d.members
}
