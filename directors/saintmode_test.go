package directors

import (
	"fmt"
	"testing"
	"time"
)

// objReq returns a request for url at time now (object hash: url + host).
func objReq(url string, now int64) *Request {
	return &Request{Head: head(url, "example.com"), Now: now}
}

// TestSaintmodePerObject is vmod_saintmode's test02: fallback over sm1,
// sm2; /a blacklisted on s1 goes to s2 until the TTL passes, /b stays.
func TestSaintmodePerObject(t *testing.T) {
	bs := testBackends("s", 2)
	sm1, sm2 := NewSaintmode("sm1", bs[0], 3), NewSaintmode("sm2", bs[1], 3)
	d := NewFallback("fb", false)
	if err := d.Replace([]Member{sm1, sm2}, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	ttl := 500 * time.Millisecond

	r := objReq("/a", now)
	if b := Resolve(d, r); b != bs[0] {
		t.Fatalf("/a → %v; want s1", b)
	}
	Blacklist(r, bs[0], ttl, now) // the retry path: sm1 is on r's path
	if got := resolveName(d, objReq("/a", now)); got != "s2" {
		t.Errorf("/a blacklisted on s1 → %s; want s2", got)
	}
	if got := resolveName(d, objReq("/b", now)); got != "s1" {
		t.Errorf("/b → %s; want s1", got)
	}
	if got := sm1.Count(now); got != 1 {
		t.Errorf("sm1 count %d; want 1", got)
	}
	if sm2.Count(now) != 0 {
		t.Error("sm2 blacklisted an object it did not serve")
	}
	later := now + int64(ttl)
	if got := resolveName(d, objReq("/a", later)); got != "s1" {
		t.Errorf("/a after the TTL → %s; want s1", got)
	}
	if got := sm1.Count(later); got != 0 {
		t.Errorf("sm1 count after the TTL %d; want 0", got)
	}
}

// TestSaintmodeThreshold is test01/test05: at threshold live blacklisted
// objects the member is sick for everything, until enough entries expire.
func TestSaintmodeThreshold(t *testing.T) {
	b := NewBackend("s1", BackendConfig{})
	sm := NewSaintmode("sm", b, 3)
	now := time.Now().UnixNano()
	for i := range 2 {
		sm.Blacklist(objReq(fmt.Sprint("/sick-", i), now), b, time.Duration(i+1)*time.Second, now)
	}
	sm.Blacklist(objReq("/sick-0", now), b, time.Second, now) // the same object again: no new entry
	if !sm.Healthy(objReq("/foo", now)) || !sm.Healthy(nil) {
		t.Fatal("sick below the threshold")
	}
	if sm.Healthy(objReq("/sick-1", now)) {
		t.Fatal("healthy for a blacklisted object")
	}
	sm.Blacklist(objReq("/sick-2", now), b, 3*time.Second, now)
	if sm.Healthy(objReq("/foo", now)) || sm.Healthy(nil) || Resolve(sm, objReq("/foo", now)) != nil {
		t.Fatal("healthy with threshold objects blacklisted")
	}
	st := sm.Status(now)
	if want := (SaintmodeStatus{Name: "sm", Backend: "s1", Count: 3, Threshold: 3}); st != want {
		t.Errorf("status %+v; want %+v", st, want)
	}
	// /sick-0 expires at +1s: two objects left, below the threshold.
	at := now + int64(time.Second)
	if !sm.Healthy(objReq("/foo", at)) {
		t.Error("still sick after an entry expired")
	}
	if sm.Healthy(objReq("/sick-2", at)) {
		t.Error("healthy for /sick-2, blacklisted until +3s")
	}
	// Extending a live entry keeps the count and can make it sick again.
	sm.Blacklist(objReq("/sick-0", at), b, 5*time.Second, at)
	if sm.Healthy(objReq("/foo", at)) || sm.Count(at) != 3 {
		t.Errorf("re-blacklisting /sick-0: healthy %v, count %d; want sick, 3", sm.Healthy(objReq("/foo", at)), sm.Count(at))
	}
	if !sm.Healthy(objReq("/foo", now+int64(3*time.Second))) {
		t.Error("sick at +3s with one live entry")
	}
	// The member's own health still counts.
	b.SetAdminState(AdminSick)
	if sm.Healthy(objReq("/foo", now+int64(10*time.Second))) {
		t.Error("healthy over a sick backend")
	}
}

// TestSaintmodeNoThreshold checks that threshold 0 keeps per-object
// blacklisting without ever making the whole member sick.
func TestSaintmodeNoThreshold(t *testing.T) {
	b := NewBackend("s1", BackendConfig{})
	sm := NewSaintmode("sm", b, 0)
	now := time.Now().UnixNano()
	for i := range 100 {
		sm.Blacklist(objReq(fmt.Sprint("/", i), now), b, time.Second, now)
	}
	if !sm.Healthy(objReq("/x", now)) || sm.Healthy(objReq("/5", now)) {
		t.Error("threshold 0: want healthy for /x, sick for /5")
	}
}

// TestSaintmodeSweep checks that expired entries leave the map as new ones
// are added, without any sweep on the read path.
func TestSaintmodeSweep(t *testing.T) {
	b := NewBackend("s1", BackendConfig{})
	sm := NewSaintmode("sm", b, 0)
	now := time.Now().UnixNano()
	for i := range 1000 {
		at := now + int64(i)*int64(time.Millisecond)
		sm.Blacklist(objReq(fmt.Sprint("/", i), at), b, 10*time.Millisecond, at)
	}
	if n := sm.size.Load(); n > 30 {
		t.Errorf("%d entries kept for 1000 blacklisted, each live 10ms, one per ms", n)
	}
}

// TestSaintmodeIgnoresOthers checks that a saintmode over one backend does
// not blacklist for another, and that a zero TTL does nothing.
func TestSaintmodeIgnoresOthers(t *testing.T) {
	bs := testBackends("s", 2)
	sm := NewSaintmode("sm", bs[0], 1)
	now := time.Now().UnixNano()
	sm.Blacklist(objReq("/a", now), bs[1], time.Second, now)
	sm.Blacklist(objReq("/a", now), bs[0], 0, now)
	if !sm.Healthy(objReq("/a", now)) {
		t.Error("blacklisted for another backend or a zero TTL")
	}
}

// TestSaintmodeDistribution: a random director over two saintmode
// members keeps its weights, except for a blacklisted object, whose
// requests all go to the other member.
func TestSaintmodeDistribution(t *testing.T) {
	bs := testBackends("s", 2)
	sm1, sm2 := NewSaintmode("sm1", bs[0], 10), NewSaintmode("sm2", bs[1], 10)
	d := NewRandom("r")
	if err := d.Replace([]Member{sm1, sm2}, []float64{1, 3}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	sm1.Blacklist(objReq("/a", now), bs[0], time.Minute, now)
	ra, rb := objReq("/a", now), objReq("/b", now)
	checkShares(t, counts(d, 100000, func(int) *Request { return rb }), map[string]float64{"s1": 1, "s2": 3}, 0.02)
	checkShares(t, counts(d, 100000, func(int) *Request { return ra }), map[string]float64{"s2": 1}, 0)
}

// TestSaintmodeRestore: the entries of one director, handed to a new one
// (a process upgrade), blacklist the same objects until the same times,
// threshold included; expired entries are not carried.
func TestSaintmodeRestore(t *testing.T) {
	b := NewBackend("s1", BackendConfig{})
	old := NewSaintmode("sm", b, 2)
	now := time.Now().UnixNano()
	old.Blacklist(objReq("/a", now), b, time.Second, now)
	old.Blacklist(objReq("/b", now), b, 3*time.Second, now)
	old.Blacklist(objReq("/gone", now), b, time.Millisecond, now)
	later := now + int64(10*time.Millisecond)
	es := old.Entries(later)
	if len(es) != 2 {
		t.Fatalf("Entries = %d, want the 2 live ones", len(es))
	}

	nw := NewSaintmode("sm", b, 2)
	nw.Restore(append(es, SaintEntry{Expires: now}), later) // an expired one is skipped
	tests := []struct {
		url     string
		at      int64
		healthy bool
	}{
		{"/c", later, false}, // two live entries: the threshold holds
		{"/a", later, false},
		{"/c", now + int64(1500*time.Millisecond), true}, // /a expired
		{"/b", now + int64(1500*time.Millisecond), false},
		{"/b", now + int64(3*time.Second), true},
	}
	for _, tt := range tests {
		if got := nw.Healthy(objReq(tt.url, tt.at)); got != tt.healthy {
			t.Errorf("%s at +%v: healthy %v, want %v", tt.url, time.Duration(tt.at-now), got, tt.healthy)
		}
	}
	if got := nw.Count(later); got != 2 {
		t.Errorf("count %d, want 2", got)
	}
}
