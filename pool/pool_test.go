package pool

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

func testBackend(name string, maxIdle int, idle time.Duration) *directors.Backend {
	return directors.NewBackend(name, directors.BackendConfig{Network: "tcp", Address: "127.0.0.1:1", MaxIdle: maxIdle, IdleTimeout: idle})
}

func TestIdleLIFO(t *testing.T) {
	var p Idle[int]
	b := testBackend("a", 10, time.Minute)
	for i := 1; i <= 3; i++ {
		if !p.Put(b, i, int64(i)) {
			t.Fatalf("Put %d refused", i)
		}
	}
	if n := b.IdleConns(); n != 3 {
		t.Fatalf("backend idle count %d; want 3", n)
	}
	for _, want := range []int{3, 2, 1} {
		got, ok := p.Get(b)
		if !ok || got != want {
			t.Fatalf("Get = %d, %v; want %d (most recent first)", got, ok, want)
		}
	}
	if _, ok := p.Get(b); ok {
		t.Fatal("Get on empty pool succeeded")
	}
	if n := b.IdleConns(); n != 0 {
		t.Fatalf("backend idle count %d; want 0", n)
	}
}

// TestIdleLimitShare checks how a loop's share of max_idle bounds its pool:
// a burst may hold up to burstFactor × the share, and the next sweep trims
// back to the share, dropping the oldest connections first.
func TestIdleLimitShare(t *testing.T) {
	tests := []struct {
		maxIdle, share, limit int
	}{
		{64, 1, 64}, {64, 2, 32}, {5, 2, 3}, {1, 4, 1}, {0, 2, 0},
	}
	for _, tc := range tests {
		p := Idle[int]{Share: tc.share}
		b := testBackend("a", tc.maxIdle, time.Minute)
		if got := p.Limit(b); got != tc.limit {
			t.Errorf("max_idle %d over %d loops: limit %d; want %d", tc.maxIdle, tc.share, got, tc.limit)
		}
		kept := 0
		for i := 0; i < 1000; i++ {
			if p.Put(b, i, int64(i)) {
				kept++
			}
		}
		if want := burstFactor * tc.limit; kept != want || p.Len(b) != want {
			t.Errorf("max_idle %d over %d loops: a burst kept %d; want %d", tc.maxIdle, tc.share, kept, want)
		}
		var dropped []int
		for i := 0; i < 20 && p.Len(b) > tc.limit; i++ {
			p.Expire(2000, func(_ *directors.Backend, c int) { dropped = append(dropped, c) })
		}
		if p.Len(b) != tc.limit || int64(p.Len(b)) != b.IdleConns() {
			t.Errorf("max_idle %d over %d loops: %d left after sweeps (backend counts %d); want %d",
				tc.maxIdle, tc.share, p.Len(b), b.IdleConns(), tc.limit)
		}
		for i, c := range dropped {
			if c != i {
				t.Errorf("sweep dropped %v; want the oldest first", dropped)
				break
			}
		}
	}
}

func TestIdleRemoveAndExpire(t *testing.T) {
	var p Idle[int]
	a := testBackend("a", 10, 10*time.Second)
	b := testBackend("b", 10, 0) // no idle timeout
	sec := int64(time.Second)
	p.Put(a, 1, 0)
	p.Put(a, 2, 5*sec)
	p.Put(a, 3, 8*sec)
	p.Put(b, 4, 0)
	if !p.Remove(a, 2) || p.Remove(a, 2) {
		t.Fatal("Remove should succeed once")
	}
	var dropped []int
	p.Expire(12*sec, func(_ *directors.Backend, c int) { dropped = append(dropped, c) })
	if len(dropped) != 1 || dropped[0] != 1 {
		t.Fatalf("expired %v; want [1] (idle 12s > 10s)", dropped)
	}
	if got, ok := p.Get(a); !ok || got != 3 {
		t.Fatalf("left in a: %d %v; want 3", got, ok)
	}
	if p.Len(b) != 1 {
		t.Fatal("backend without idle_timeout lost its connection")
	}
	b.SetGone()
	dropped = nil
	p.Expire(13*sec, func(_ *directors.Backend, c int) { dropped = append(dropped, c) })
	if len(dropped) != 1 || dropped[0] != 4 {
		t.Fatalf("removed backend: dropped %v; want [4]", dropped)
	}
	if p.Put(b, 5, 0) {
		t.Fatal("Put accepted a connection to a removed backend")
	}
}

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
	}()
	b := directors.NewBackend("a", directors.BackendConfig{Network: "tcp", Address: ln.Addr().String()})
	c, err := Dial(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	// A port nothing listens on is refused.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln2.Addr().String()
	ln2.Close()
	_, err = Dial(context.Background(), directors.NewBackend("d", directors.BackendConfig{Network: "tcp", Address: dead}))
	if err == nil || errors.Is(err, ErrConnectTimeout) {
		t.Fatalf("dial to closed port: %v; want a refused error", err)
	}
}
