# VCL behind testdata/varnish71-extra.tsv (varnishd 7.1.1): the synth headers name the backend
# each director picks; /h/ URLs go to the backend side, where by=HASH sees the object hash.
vcl 4.1;
import directors;
import std;
backend b1 { .host = "127.0.0.1"; .port = "9"; }
backend b2 { .host = "127.0.0.1"; .port = "9"; }
backend b3 { .host = "127.0.0.1"; .port = "9"; }
backend b4 { .host = "127.0.0.1"; .port = "9"; }
backend b5 { .host = "127.0.0.1"; .port = "9"; }
backend b6 { .host = "127.0.0.1"; .port = "9"; }
backend b7 { .host = "127.0.0.1"; .port = "9"; }
backend b8 { .host = "127.0.0.1"; .port = "9"; }
backend b9 { .host = "127.0.0.1"; .port = "9"; }
backend b10 { .host = "127.0.0.1"; .port = "9"; }

sub vcl_init {
  new s_w = directors.shard();
  s_w.add_backend(b1, weight=1);
  s_w.add_backend(b2, weight=2);
  s_w.add_backend(b3, weight=3);
  s_w.add_backend(b4, weight=1.5);
  s_w.reconfigure(20);
  new s10 = directors.shard();
  s10.add_backend(b1);
  s10.add_backend(b2);
  s10.add_backend(b3);
  s10.add_backend(b4);
  s10.add_backend(b5);
  s10.add_backend(b6);
  s10.add_backend(b7);
  s10.add_backend(b8);
  s10.add_backend(b9);
  s10.add_backend(b10);
  s10.reconfigure(67);
  new h5 = directors.hash();
  h5.add_backend(b1, 1.0);
  h5.add_backend(b2, 2.5);
  h5.add_backend(b3, 1.0);
  h5.add_backend(b4, 0.5);
  h5.add_backend(b5, 3.0);
}

sub vcl_recv {
  if (req.url ~ "^/h/") { return (pass); }
  return (synth(200));
}

sub vcl_synth {
  set resp.http.s-w = s_w.backend(by=KEY, key=s_w.key(req.http.X-Key));
  set resp.http.s10 = s10.backend(by=KEY, key=s10.key(req.http.X-Key));
  set resp.http.s10-all2 = s10.backend(by=KEY, key=s10.key(req.http.X-Key), alt=2, healthy=ALL);
  set resp.http.s10-ign1 = s10.backend(by=KEY, key=s10.key(req.http.X-Key), alt=1, healthy=IGNORE);
  set resp.http.s10-cho3 = s10.backend(by=KEY, key=s10.key(req.http.X-Key), alt=3, healthy=CHOSEN);
  set resp.http.s10-int = s10.backend(by=KEY, key=std.integer(req.http.X-Int, 0));
  set resp.http.s10-url = s10.backend(by=URL);
  set resp.http.h5 = h5.backend(req.http.X-Key);
  set resp.http.h5-ab = h5.backend(req.http.X-A + req.http.X-B);
  return (deliver);
}

sub vcl_backend_fetch {
  set bereq.http.x-be = s10.backend(by=HASH, resolve=NOW);
  return (error(200));
}

sub vcl_backend_error {
  set beresp.http.s10-hash = bereq.http.x-be;
  set beresp.ttl = 0s;
  return (deliver);
}
