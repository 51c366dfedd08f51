package directors

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Golden vectors from Varnish 7.1: its vmod_directors test suite
// (vmod/tests/directors_*.vtc, named by file) and decisions recorded from a
// real varnishd 7.1.1 (../shared/notes/varnish-vectors.tsv, embedded below
// as well so they are checked without ../shared).

// TestVarnishHashStrands32 checks shard.key() values from directors_c00009.
func TestVarnishHashStrands32(t *testing.T) {
	for s, want := range map[string]uint32{
		"/def": 2002449278, "/hash": 2439792896, "/url": 3281611639, "/b/url": 108501858,
	} {
		if got := HashKey([]byte(s), DigestSHA256); got != want {
			t.Errorf("shard.key(%q) = %d; want %d", s, got, want)
		}
	}
}

// TestVarnishObjectHash checks by=HASH (directors_c00009): the key is the
// first four bytes, big-endian, of SHA256(url ‖ 0 ‖ host ‖ 0).
func TestVarnishObjectHash(t *testing.T) {
	r := &Request{Head: head("/b/def", "127.0.0.1")}
	d := mustShard(t, ShardOptions{By: ByHash})
	if got := d.KeyOf(r); got != 0x93d1c4ad {
		t.Errorf("by=HASH key of /b/def on 127.0.0.1 = %08x; want 93d1c4ad", got)
	}
}

// TestVarnishRingPoints checks single ring points (replicas=1,
// directors_c00010) and whole rings (directors_c00006, c00007).
func TestVarnishRingPoints(t *testing.T) {
	single := map[string]uint32{
		"s1": 0xf08ad325, "s2": 0x6e040182, "s1_1": 0xbae80b0b, "s1_2": 0x732c7bbe,
		"1": 0xd51dafe6, "2": 0x2b20d9a2, "3": 0xf493ce58, "4": 0x3d1fe97, "5": 0xeb74a7d5,
		"6": 0xc9803f17, "7": 0xa25a43b, "8": 0xfc1a5162, "9": 0x6337e62c,
	}
	for ident, want := range single {
		d := mustShard(t, ShardOptions{Replicas: 1}, NewBackend(ident, BackendConfig{}))
		if rg := d.ring.Load(); len(rg.points) != 1 || rg.points[0] != want {
			t.Errorf("ident %q replicas 1: points %08x; want [%08x]", ident, rg.points, want)
		}
	}

	// c00006: weights 1, 2, 3 at replicas 25 give 25, 50 and 75 points.
	d, err := NewShard("vd", ShardOptions{Replicas: 25})
	if err != nil {
		t.Fatal(err)
	}
	bs := testBackends("s", 3)
	for i, b := range bs {
		if err := d.Add(b, float64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	rg := d.ring.Load()
	want := strings.Fields(c00006Ring)
	if len(rg.points) != len(want) {
		t.Fatalf("c00006 ring has %d points; want %d", len(rg.points), len(want))
	}
	for i, w := range want {
		p, h, _ := strings.Cut(w, ":")
		if got := fmt.Sprintf("%x:%d", rg.points[i], rg.hosts[i]); got != p+":"+h {
			t.Errorf("c00006 point %d = %s; want %s", i, got, w)
		}
	}
	for _, c := range []struct {
		key  uint32
		idx  int
		host string
	}{{0x564ca84f, 45, "s1"}, {0x19cfe9f3, 16, "s2"}, {0x46a58f28, 41, "s3"}} {
		if i := rg.lookup(c.key); i != c.idx {
			t.Errorf("c00006 lookup %08x = idx %d; want %d", c.key, i, c.idx)
		}
		if got := resolveName(d, keyReq(c.key)); got != c.host {
			t.Errorf("c00006 key %08x → %s; want %s", c.key, got, c.host)
		}
	}

	// c00007: s1..s3 at replicas 25, unweighted.
	d = mustShard(t, ShardOptions{Replicas: 25}, asMembers(testBackends("s", 3))...)
	rg = d.ring.Load()
	if n := len(rg.points); n != 75 || rg.points[0] != 0x3b6b56a || rg.hosts[0] != 0 ||
		rg.points[n-1] != 0xfc28e8d2 || rg.hosts[n-1] != 2 {
		t.Errorf("c00007 ring: %d points, first %08x/%d, last %08x/%d; want 75, 03b6b56a/0, fc28e8d2/2",
			n, rg.points[0], rg.hosts[0], rg.points[n-1], rg.hosts[n-1])
	}
	for _, c := range []struct {
		key  uint32
		idx  int
		host string
	}{{0x68b902f7, 29, "s1"}, {0x39dc4613, 20, "s2"}, {0xc7793505, 59, "s3"}} {
		if i := rg.lookup(c.key); i != c.idx {
			t.Errorf("c00007 lookup %08x = idx %d; want %d", c.key, i, c.idx)
		}
		if got := resolveName(d, keyReq(c.key)); got != c.host {
			t.Errorf("c00007 key %08x → %s; want %s", c.key, got, c.host)
		}
	}
}

// TestVarnishShardKeys checks key→backend vectors of directors_c00003
// (by=KEY, including the no-wrap rule above the last point) and c00005
// (by=URL), and the ring walk orders of the regression seeds in the notes.
func TestVarnishShardKeys(t *testing.T) {
	bs := asMembers(testBackends("s", 3))
	d := mustShard(t, ShardOptions{Replicas: 25, By: ByKey}, bs...)
	for key, want := range map[uint32]string{1: "s1", 2147483647: "s2", 4294967295: "s3"} {
		if got := resolveName(d, keyReq(key)); got != want {
			t.Errorf("c00003 key %d → %s; want %s", key, got, want)
		}
	}
	d = mustShard(t, ShardOptions{Replicas: 25, By: ByURL}, bs...)
	for url, want := range map[string]string{"/Boo0aixe": "s1", "/eishoSu2": "s2", "/Aunah3uo": "s3"} {
		if got := resolveName(d, urlReq(url)); got != want {
			t.Errorf("c00005 %s → %s; want %s", url, got, want)
		}
	}
	d = mustShard(t, ShardOptions{By: ByURL}, bs...) // replicas 67
	for _, c := range []struct {
		url   string
		key   uint32
		order string
	}{
		{"/", 0xf1a0febd, "s1 s3 s2"}, {"/foo", 0x94fc1fb3, "s3 s1 s2"},
		{"/index.html", 0x356da01c, "s1 s3 s2"}, {"/a/b/c?x=1", 0x791c85ca, "s2 s3 s1"},
		{"/Boo0aixe", 0xd0b5f795, "s2 s1 s3"},
	} {
		r := urlReq(c.url)
		if k := d.KeyOf(r); k != c.key {
			t.Errorf("%s: key %08x; want %08x", c.url, k, c.key)
		}
		_, alts, path := Explain(d, r)
		got := path[len(path)-1]
		for _, b := range alts {
			got += " " + b.Name()
		}
		if got != c.order {
			t.Errorf("%s: walk %q; want %q", c.url, got, c.order)
		}
	}
}

// TestVarnishAltHealthy checks alt and healthy= (directors_c00013) and
// failover on sick members (c00014), replicas 25.
func TestVarnishAltHealthy(t *testing.T) {
	bs := testBackends("s", 3)
	const k123, k312 = 1756955383, 192192123 // walk orders s1 s2 s3 and s3 s1 s2
	for _, c := range []struct {
		pol  HealthyPolicy
		alt  int
		want string
	}{
		{HealthyAll, 0, "s1"}, {HealthyAll, 1, "s2"}, {HealthyAll, 2, "s3"}, {HealthyAll, 3, "s3"},
		{HealthyChosen, 0, "s1"}, {HealthyChosen, 1, "s2"}, {HealthyChosen, 2, "s3"},
	} {
		d := mustShard(t, ShardOptions{Replicas: 25, Alt: c.alt, Healthy: c.pol}, asMembers(bs)...)
		if got := resolveName(d, keyReq(k123)); got != c.want {
			t.Errorf("c00013 healthy=%v alt=%d → %s; want %s", c.pol, c.alt, got, c.want)
		}
	}
	d := mustShard(t, ShardOptions{Replicas: 25}, asMembers(bs)...)
	bs[0].SetAdminState(AdminSick)
	if got := resolveName(d, keyReq(k123)); got != "s2" {
		t.Errorf("c00014 s1 sick → %s; want s2", got)
	}
	bs[1].SetAdminState(AdminSick)
	if got := resolveName(d, keyReq(k123)); got != "s3" {
		t.Errorf("c00014 s1, s2 sick → %s; want s3", got)
	}
	w := mustShard(t, ShardOptions{Replicas: 25, Warmup: 1}, asMembers(bs)...)
	if got := resolveName(w, keyReq(k312)); got != "s3" {
		t.Errorf("c00014 warmup, no healthy alternative → %s; want s3", got)
	}
}

// TestVarnishHashDirector checks directors_b00003: s1, s2 weight 1.
func TestVarnishHashDirector(t *testing.T) {
	bs := testBackends("s", 2)
	d := NewHash("h", mustKey(t, "header:X-Key"), DigestSHA256)
	if err := d.Replace(asMembers(bs), nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/1": "s2", "/3": "s1", "/13": "s1", "/8": "s2", "": "s1", "127.0.0.1": "s2"}
	for key, w := range want {
		r := &Request{Head: head("/", "h", "X-Key: "+key)}
		if got := resolveName(d, r); got != w {
			t.Errorf("hash.backend(%q) → %s; want %s", key, got, w)
		}
	}
	if got := resolveName(d, &Request{Head: head("/", "h")}); got != "s1" {
		t.Errorf("hash.backend(unset header) → %s; want s1", got)
	}
	d.Remove("s1")
	for key := range want {
		if got := resolveName(d, &Request{Head: head("/", "h", "X-Key: "+key)}); got != "s2" {
			t.Errorf("after removing s1, hash.backend(%q) → %s; want s2", key, got)
		}
	}
}

// TestVarnishRandom replays directors_c00000: four backends of weight 1
// after debug.srandom (seed 1) draw 3 4 1 1 2 2 3 4 3 3.
func TestVarnishRandom(t *testing.T) {
	d := NewRandom("foo")
	if err := d.Replace(asMembers(testBackends("s", 4)), nil); err != nil {
		t.Fatal(err)
	}
	g := newVarnishTestRand(1)
	d.rnd = func() float64 { return float64(g.next()) * 0x1p-31 }
	var got []string
	for range 10 {
		got = append(got, strings.TrimPrefix(resolveName(d, &Request{}), "s"))
	}
	if s := strings.Join(got, " "); s != "3 4 1 1 2 2 3 4 3 3" {
		t.Errorf("seeded random draws %s; want 3 4 1 1 2 2 3 4 3 3", s)
	}
}

// varnishTestRand is the generator behind Varnish's debug.srandom (FreeBSD
// random(3), TYPE_3: x³¹+x³+1 additive feedback, Park–Miller seeding).
type varnishTestRand struct {
	state [31]uint32
	f, r  int
}

func newVarnishTestRand(seed uint32) *varnishTestRand {
	g := &varnishTestRand{f: 3}
	g.state[0] = seed
	for i := 1; i < 31; i++ {
		x := int32(g.state[i-1]%0x7ffffffe) + 1 // 16807·x mod 2³¹−1, by Schrage
		x = 16807*(x%127773) - 2836*(x/127773)
		if x < 0 {
			x += 0x7fffffff
		}
		g.state[i] = uint32(x - 1)
	}
	for range 310 {
		g.next()
	}
	return g
}

func (g *varnishTestRand) next() uint32 {
	g.state[g.f] += g.state[g.r]
	v := g.state[g.f] >> 1
	g.f, g.r = (g.f+1)%31, (g.r+1)%31
	return v
}

// recorded are the decisions of varnish-vectors.tsv for key-1000..key-1005
// (or /obj/1000..1005 with by=URL) over b1..b4.
var recorded = []struct{ stage, director, want string }{
	{"healthy", "shard_std_key", "b1 b1 b2 b2 b1 b3"},
	{"healthy", "shard_std_url", "b1 b1 b3 b2 b3 b1"},
	{"healthy", "shard_ident_key", "b2 b2 b2 b1 b4 b2"},
	{"healthy", "shard_r10_key", "b1 b3 b2 b3 b3 b3"},
	{"healthy", "shard_std_key_alt1", "b3 b3 b3 b4 b3 b2"},
	{"healthy", "hash_w1234", "b4 b3 b2 b3 b3 b4"},
	{"b2-sick", "shard_std_key", "b1 b1 b3 b4 b1 b3"},
	{"b2-sick", "shard_std_url", "b1 b1 b3 b4 b3 b1"},
	{"b2-sick", "shard_ident_key", "b4 b4 b4 b1 b4 b1"},
	{"b2-sick", "shard_r10_key", "b1 b3 b3 b3 b3 b3"},
	{"b2-sick", "shard_std_key_alt1", "b3 b3 b3 b4 b3 b4"},
	{"b2-sick", "hash_w1234", "b4 b3 b3 b3 b3 b4"},
}

// recordedSettings are the directors of varnish-vectors.tsv.
var recordedSettings = map[string]string{
	"shard_std_key":      "shard by=KEY replicas=67",
	"shard_std_url":      "shard by=URL replicas=67",
	"shard_ident_key":    "shard by=KEY idents b1=alpha b2=beta b3=gamma b4=delta",
	"shard_r10_key":      "shard by=KEY replicas=10",
	"shard_std_key_alt1": "shard by=KEY alt=1 healthy=CHOSEN",
	"hash_w1234":         "hash weights 1,2,3,4",
}

// TestVarnishRecordedEmbedded checks the embedded copy of the recorded
// vectors.
func TestVarnishRecordedEmbedded(t *testing.T) {
	for _, c := range recorded {
		for i, want := range strings.Fields(c.want) {
			n := 1000 + i
			checkRecorded(t, c.stage, recordedSettings[c.director],
				fmt.Sprintf("key-%d", n), fmt.Sprintf("/obj/%d", n), want)
		}
	}
}

// TestVarnishRecordedFile checks every line of the shared vectors file.
func TestVarnishRecordedFile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "shared", "notes", "varnish-vectors.tsv"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("../shared/notes/varnish-vectors.tsv not found; the embedded copy is checked by TestVarnishRecordedEmbedded")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.HasPrefix(line, "stage\t") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 6 {
			t.Fatalf("bad line %q", line)
		}
		checkRecorded(t, c[0], c[2], c[3], c[4], c[5])
		n++
	}
	if n < 72 {
		t.Errorf("checked %d vectors; the file has 72", n)
	}
}

// checkRecorded builds the director described by settings over b1..b4,
// sets b2 sick for stage "b2-sick", and checks the request with header
// X-Key: key for url resolves to want.
func checkRecorded(t *testing.T, stage, settings, key, url, want string) {
	t.Helper()
	bs := testBackends("b", 4)
	if stage == "b2-sick" {
		bs[1].SetAdminState(AdminSick)
	}
	f := strings.Fields(settings)
	var d Director
	switch f[0] {
	case "shard":
		opts := ShardOptions{By: ByKey, Key: mustKey(t, "header:X-Key"), Idents: map[string]string{}}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "by":
				opts.By, _ = ParseBy(strings.ToLower(v), true)
			case "replicas":
				opts.Replicas, _ = strconv.Atoi(v)
			case "alt":
				opts.Alt, _ = strconv.Atoi(v)
			case "healthy":
				opts.Healthy, _ = ParseHealthy(strings.ToLower(v))
			case "idents":
			default:
				opts.Idents[k] = v
			}
		}
		d = mustShard(t, opts, asMembers(bs)...)
	case "hash":
		h := NewHash("hash", mustKey(t, "header:X-Key"), DigestSHA256)
		var ws []float64
		for _, w := range strings.Split(f[2], ",") {
			x, _ := strconv.ParseFloat(w, 64)
			ws = append(ws, x)
		}
		if err := h.Replace(asMembers(bs), ws); err != nil {
			t.Fatal(err)
		}
		d = h
	}
	r := &Request{Head: head(url, "localhost", "X-Key: "+key)}
	if got := resolveName(d, r); got != want {
		t.Errorf("%s %q %s %s → %s; want %s", stage, settings, key, url, got, want)
	}
}

// c00006Ring is the ring of directors_c00006 (s1, s2, s3 with weights 1,
// 2, 3 at replicas 25) as varnishd's debug log lists it: point:host.
const c00006Ring = `
238d0ef:2 321c598:2 3b6b56a:0 408ec1e:2 66986a7:2 7e41e30:2 b749e7b:2 e543430:0 10136c05:0 102d847f:2
1112f910:1 1119a7c7:2 14d95c44:2 150fea1f:1 1643ecb6:1 189ff2f2:1 19cfe9f3:1 1e1c78c3:2 1fe0dea0:2 22464ee9:1
22b35675:0 2363bebb:1 24f827bb:2 259eeccf:1 26f0c3e7:1 271874d4:1 28340f35:0 285e8475:0 28ec7a6f:1 299c6298:2
2aedc3f7:2 2b031742:1 2da0e37b:0 310bd2ca:2 31e5f2df:2 32d6b3ed:1 33047373:2 3392487a:0 37597c4c:2 3f6b2b89:1
43cf6426:2 46a58f28:2 4b1f5b22:1 523723f2:2 539234db:0 564ca84f:0 58501380:2 58704432:1 5b1bcbbe:2 5d2df428:0
5fa294ee:2 606fd878:2 60dded53:1 616cdb68:1 6257bc27:0 64014b25:2 6918f467:1 6a08c380:2 6bfd5a2d:0 6c0b607a:1
6c74d296:1 6e040182:1 6e3819f7:2 720ec1a4:2 7232b381:1 74c384ad:1 76d47350:2 791eb3a3:1 7a048f20:2 7f874929:2
83ce71ce:1 888b6447:2 8997c018:1 89b7d09c:2 8aa6b5b4:2 8ae34bde:1 8b382e03:2 8b47e6ac:1 8bc76115:2 8bc8bc11:0
8e2d3849:0 8e7e012c:2 8f5b4c63:2 94a94162:2 99892987:2 9a6f2f00:0 9b970b49:1 9e09a3a7:2 9ef9125d:0 9f33cd30:2
9fc69b51:0 a19f99eb:1 a28b9595:0 a3582038:1 a4b6a3b9:2 a66da9cb:2 a8657c76:2 a8afe9c4:0 aa488703:2 ac7b4454:2
ad923ad3:1 ae8946c6:2 b197e339:1 b3c305e6:1 b4dab004:2 b6bf43ea:2 b9004d3d:0 b96b6455:2 b9a0edb9:1 b9ec6465:2
bb8eed4d:2 bbcc0bad:1 bcfea141:2 be300622:2 bf514d68:2 c1afc7d2:1 c2542a5d:2 c6c43fa7:1 c945958a:2 c9f304a4:1
cb896aa8:1 cbd9198a:0 ccd61dad:2 d07e4431:2 d21fe35f:1 d4c93105:0 d570b815:2 d7de63b6:1 d8634aef:2 d92d916d:2
d937a7df:2 dac52229:2 db7840f0:1 dd5c6bef:1 dded5798:2 dfd5333b:1 e183345a:1 e2c71c27:2 e49bf9d8:2 e72bc224:2
e8b27f41:1 e991584c:2 ea201c5e:2 ec8891c5:1 edcc8dd9:1 ef6b4ab5:2 f08ad325:0 f3325ba2:2 f6530dd1:0 fc28e8d2:2
`

// TestVarnishExtraVectors checks 3000 decisions recorded from varnishd
// 7.1.1 with testdata/varnish71-extra.vcl (recorder:
// testdata/varnish71-extra-record.py), for what the other vectors leave
// open: shard weights (1, 2, 3, 1.5 at replicas 20), ten members, alt 2
// with healthy=ALL, alt 1 with IGNORE, alt 3 with CHOSEN, integer keys,
// by=URL with a query, by=HASH on the backend side (host + URL), a
// weighted hash director, and keys of two strands, one of them missing —
// each with every member healthy, b5 sick, and b2 and b5 sick.
func TestVarnishExtraVectors(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "varnish71-extra.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bs := testBackends("b", 10)
	ms := asMembers(bs)
	xkey := mustKey(t, "header:X-Key")
	shard := func(opts ShardOptions, ms []Member, weights []float64) Director {
		d, err := NewShard("s", opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Replace(ms, weights); err != nil {
			t.Fatal(err)
		}
		return d
	}
	hash := func(k Key) Director {
		d := NewHash("h5", k, DigestSHA256)
		if err := d.Replace(ms[:5], []float64{1, 2.5, 1, 0.5, 3}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	ds := map[string]Director{
		"s-w":      shard(ShardOptions{Replicas: 20, By: ByKey, Key: xkey}, ms[:4], []float64{1, 2, 3, 1.5}),
		"s10":      shard(ShardOptions{By: ByKey, Key: xkey}, ms, nil),
		"s10-all2": shard(ShardOptions{By: ByKey, Key: xkey, Alt: 2, Healthy: HealthyAll}, ms, nil),
		"s10-ign1": shard(ShardOptions{By: ByKey, Key: xkey, Alt: 1, Healthy: HealthyIgnore}, ms, nil),
		"s10-cho3": shard(ShardOptions{By: ByKey, Key: xkey, Alt: 3, Healthy: HealthyChosen}, ms, nil),
		"s10-int":  shard(ShardOptions{By: ByKey, Key: mustKey(t, "int:header:X-Int")}, ms, nil),
		"s10-url":  shard(ShardOptions{By: ByURL}, ms, nil),
		"s10-hash": shard(ShardOptions{By: ByHash}, ms, nil),
		"h5":       hash(xkey),
		"h5-ab":    hash(mustKey(t, "header:X-A", "header:X-B")),
	}
	sick := map[string][]int{"healthy": nil, "b5-sick": {4}, "b2b5-sick": {1, 4}}
	sc := bufio.NewScanner(f)
	n, bad := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 9 {
			t.Fatalf("bad line %q", line)
		}
		for i, b := range bs {
			b.SetAdminState(AdminAuto)
			if slices.Contains(sick[c[0]], i) {
				b.SetAdminState(AdminSick)
			}
		}
		hdrs := []string{"X-Key: " + c[2], "X-Int: " + c[3], "X-A: " + c[4]}
		if c[5] != "" {
			hdrs = append(hdrs, "X-B: "+c[5])
		}
		d := ds[c[1]]
		if d == nil {
			t.Fatalf("unknown director %q", c[1])
		}
		// The director's own pick: with healthy=IGNORE it may be a sick
		// backend, which Resolve (like Varnish's fetch) then refuses.
		got := ""
		if m := d.Resolve(&Request{Head: head(c[6], c[7], hdrs...)}); m != nil {
			got = m.Name()
		}
		if got != c[8] {
			if bad++; bad <= 20 {
				t.Errorf("%s %s key=%s int=%s url=%s host=%s → %s; want %s", c[0], c[1], c[2], c[3], c[6], c[7], got, c[8])
			}
		}
		n++
	}
	if n != 3000 || bad > 0 {
		t.Errorf("%d of %d vectors differ", bad, n)
	}
}
