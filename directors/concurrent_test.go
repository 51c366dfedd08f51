package directors

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentChanges resolves from 8 goroutines through every director
// type while another goroutine adds and removes members, flips health and
// blacklists objects. Run it with -race.
func TestConcurrentChanges(t *testing.T) {
	bs := testBackends("s", 6)
	sms := make([]Member, len(bs))
	for i, b := range bs {
		sms[i] = NewSaintmode(fmt.Sprint("sm", i), b, 50)
	}
	shard, _ := NewShard("shard", ShardOptions{By: ByURL, Bound: 1.25, Warmup: 0.1, Rampup: time.Second})
	_ = shard.Replace(sms, nil)
	rr, fb, fbs := NewRoundRobin("rr"), NewFallback("fb", false), NewFallback("fbs", true)
	rnd, hash := NewRandom("rnd"), NewHash("hash", Key{}, DigestSHA256)
	top := NewFallback("top", false)
	for _, d := range []interface {
		Replace([]Member, []float64) error
	}{rr, fb, fbs, rnd, hash} {
		_ = d.Replace(asMembers(bs), nil)
	}
	_ = top.Replace([]Member{shard, rr, fb, fbs, rnd, hash}, nil)
	targets := []Member{shard, rr, fb, fbs, rnd, hash, top}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var resolved atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Request{}
			for i := 0; !stop.Load(); i++ {
				r.Reset()
				r.Head = head(fmt.Sprintf("/obj/%d", i%100), "h")
				r.Now = time.Now().UnixNano()
				if b := Resolve(targets[(g+i)%len(targets)], r); b != nil {
					b.Begin()
					if i%10 == 0 {
						Blacklist(r, b, time.Millisecond, r.Now)
					}
					b.End(false)
					resolved.Add(1)
				}
				Explain(targets[i%len(targets)], r)
			}
		}()
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		b := bs[i%len(bs)]
		b.SetProbeHealthy(i%3 != 0)
		for _, d := range []*Set{&rr.Set, &fb.Set, &fbs.Set, &rnd.Set, &hash.Set} {
			if i%2 == 0 {
				d.Remove(b.Name())
			} else {
				_ = d.Add(b, float64(1+i%3))
			}
		}
		if i%2 == 0 {
			shard.Remove(sms[i%len(sms)].Name())
		} else {
			_ = shard.Add(sms[i%len(sms)], 1)
		}
		time.Sleep(100 * time.Microsecond)
	}
	stop.Store(true)
	wg.Wait()
	if resolved.Load() == 0 {
		t.Error("nothing resolved")
	}
	for _, b := range bs {
		if n := b.Inflight(); n != 0 {
			t.Errorf("%s: %d in flight after the run", b.Name(), n)
		}
	}
}
