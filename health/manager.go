package health

import (
	"fmt"
	"sync"

	"github.com/shellac-lb/shellac/directors"
)

// Options configures a Manager.
type Options struct {
	// OnChange, when set, is called on every flip of a probed backend's
	// verdict, for logging and metrics: from the backend's probing
	// goroutine, or from Set for the initial verdict. It must return
	// quickly and must not call Set, Remove or Stop (they wait for the
	// probing goroutine); Status is fine.
	OnChange func(Change)

	// Restore, when set, is asked for a saved window each time a prober
	// is created (a new probed backend, or a changed probe); a window of
	// the probe's size is used in place of the Initial results. It is how
	// a process that replaces another keeps its backends' health (see
	// Window). It must not call the Manager.
	Restore func(b *directors.Backend) (WindowState, bool)
}

// Manager runs one prober per probed backend. It is used by configuration
// loading and the admin API, never on the request path; all its methods are
// safe for concurrent use.
type Manager struct {
	onChange func(Change)
	restore  func(*directors.Backend) (WindowState, bool)

	// ops serialises Set, Remove and Stop. It is held while a replaced
	// prober's goroutine exits, so Status does not take it.
	ops sync.Mutex

	mu      sync.Mutex // guards the fields below; held briefly
	probers map[*directors.Backend]*prober
	stopped bool
}

// NewManager returns a Manager with no probers.
func NewManager(opts Options) *Manager {
	return &Manager{onChange: opts.OnChange, restore: opts.Restore, probers: make(map[*directors.Backend]*prober)}
}

// Set starts probing b with spec, or replaces b's probe. Setting the same
// spec again (after Provision) keeps the running prober and its window, so a
// reload that does not change a backend's probe keeps its health. A changed
// spec starts over from spec.Initial, as a new probe in Varnish does. A nil
// spec is Remove.
//
// spec is provisioned and validated first; the error names the bad field.
// Set writes the initial verdict to b before it returns. Takes m.ops, and
// waits for a replaced prober to stop.
func (m *Manager) Set(b *directors.Backend, spec *ProbeSpec) error {
	if spec == nil {
		m.Remove(b)
		return nil
	}
	s := spec.Provision()
	if err := s.Validate(); err != nil {
		return fmt.Errorf("backend %q: %w", b.Name(), err)
	}
	if b.Config().Network == "" || b.Config().Address == "" {
		return fmt.Errorf("backend %q: %w", b.Name(), ErrNoAddress)
	}

	m.ops.Lock()
	defer m.ops.Unlock()
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return ErrStopped
	}
	old := m.probers[b]
	if old != nil && old.spec.equal(&s) && !old.exited() {
		m.mu.Unlock()
		return nil
	}
	p := newProber(b, s, m.onChange)
	if m.restore != nil {
		if ws, ok := m.restore(b); ok {
			if w, ok := windowFrom(ws, s.Window); ok {
				p.win = w
			}
		}
	}
	m.probers[b] = p
	m.mu.Unlock()

	if old != nil {
		old.stop()
	}
	b.SetProbeGate(true)
	p.start()
	return nil
}

// Remove stops probing b and, as Varnish does when a probe goes away, marks
// it healthy: without a probe a backend is healthy unless an operator set it
// sick. Removing a backend that is not probed does nothing. Takes m.ops, and
// waits for b's prober to stop.
func (m *Manager) Remove(b *directors.Backend) {
	m.ops.Lock()
	defer m.ops.Unlock()
	m.mu.Lock()
	p := m.probers[b]
	delete(m.probers, b)
	m.mu.Unlock()
	if p == nil {
		return
	}
	p.stop()
	b.SetProbeGate(false)
	if !b.ProbeHealthy() {
		b.SetProbeHealthy(true)
		if m.onChange != nil {
			st := p.status()
			st.Healthy = true
			m.onChange(Change{Backend: b, Healthy: true, Status: st})
		}
	}
}

// Status returns a snapshot of b's probe, and false when b is not probed.
// It stays available after b's prober stopped because b was marked gone,
// until Remove. Takes m.mu and the prober's lock briefly.
func (m *Manager) Status(b *directors.Backend) (Status, bool) {
	m.mu.Lock()
	p := m.probers[b]
	m.mu.Unlock()
	if p == nil {
		return Status{}, false
	}
	return p.status(), true
}

// Window returns b's probe window, for saving, and false when b is not
// probed. Takes m.mu and the prober's lock briefly.
func (m *Manager) Window(b *directors.Backend) (WindowState, bool) {
	m.mu.Lock()
	p := m.probers[b]
	m.mu.Unlock()
	if p == nil {
		return WindowState{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.win.state(), true
}

// Probed returns the probed backends, in no particular order.
func (m *Manager) Probed() []*directors.Backend {
	m.mu.Lock()
	defer m.mu.Unlock()
	bs := make([]*directors.Backend, 0, len(m.probers))
	for b := range m.probers {
		bs = append(bs, b)
	}
	return bs
}

// Stop stops every prober and waits for them; verdicts stay as they were.
// Set fails with ErrStopped afterwards. Takes m.ops.
func (m *Manager) Stop() {
	m.ops.Lock()
	defer m.ops.Unlock()
	m.mu.Lock()
	m.stopped = true
	ps := m.probers
	m.probers = make(map[*directors.Backend]*prober)
	m.mu.Unlock()
	for _, p := range ps {
		p.cancel()
	}
	for _, p := range ps {
		<-p.done
	}
}
