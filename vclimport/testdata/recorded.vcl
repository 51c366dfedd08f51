# The directors behind /work/shared/notes/varnish-vectors.tsv (recorded from
# varnishd 7.1.1, backends b1..b4, keys in X-Key), each reached by its own
# host name, as an operator would route to them.
vcl 4.1;

import directors;

backend b1 { .host = "127.0.0.1"; .port = "8081"; }
backend b2 { .host = "127.0.0.1"; .port = "8082"; }
backend b3 { .host = "127.0.0.1"; .port = "8083"; }
backend b4 { .host = "127.0.0.1"; .port = "8084"; }

sub vcl_init {
    new shard_std_key = directors.shard();
    shard_std_key.add_backend(b1);
    shard_std_key.add_backend(b2);
    shard_std_key.add_backend(b3);
    shard_std_key.add_backend(b4);
    shard_std_key.reconfigure();
    new shard_std_url = directors.shard();
    shard_std_url.add_backend(b1);
    shard_std_url.add_backend(b2);
    shard_std_url.add_backend(b3);
    shard_std_url.add_backend(b4);
    shard_std_url.reconfigure(67);
    new shard_ident_key = directors.shard();
    shard_ident_key.add_backend(b1, ident="alpha");
    shard_ident_key.add_backend(b2, ident="beta");
    shard_ident_key.add_backend(b3, ident="gamma");
    shard_ident_key.add_backend(b4, ident="delta");
    shard_ident_key.reconfigure();
    new shard_r10_key = directors.shard();
    shard_r10_key.add_backend(b1);
    shard_r10_key.add_backend(b2);
    shard_r10_key.add_backend(b3);
    shard_r10_key.add_backend(b4);
    shard_r10_key.reconfigure(replicas=10);
    new shard_std_key_alt1 = directors.shard();
    shard_std_key_alt1.add_backend(b1);
    shard_std_key_alt1.add_backend(b2);
    shard_std_key_alt1.add_backend(b3);
    shard_std_key_alt1.add_backend(b4);
    shard_std_key_alt1.reconfigure();
    new hash_w1234 = directors.hash();
    hash_w1234.add_backend(b1, 1.0);
    hash_w1234.add_backend(b2, 2.0);
    hash_w1234.add_backend(b3, 3.0);
    hash_w1234.add_backend(b4, 4.0);
}

sub vcl_recv {
    if (req.http.host == "std-key.example") {
        set req.backend_hint = shard_std_key.backend(by=KEY, key=shard_std_key.key(req.http.X-Key));
    } elsif (req.http.host == "std-url.example") {
        set req.backend_hint = shard_std_url.backend(by=URL);
    } elsif (req.http.host == "ident-key.example") {
        set req.backend_hint = shard_ident_key.backend(by=KEY, key=shard_ident_key.key(req.http.X-Key));
    } elsif (req.http.host == "r10-key.example") {
        set req.backend_hint = shard_r10_key.backend(by=KEY, key=shard_r10_key.key(req.http.X-Key));
    } elsif (req.http.host == "alt1.example") {
        set req.backend_hint = shard_std_key_alt1.backend(by=KEY, key=shard_std_key_alt1.key(req.http.X-Key), alt=1, healthy=CHOSEN);
    } elsif (req.http.host == "hash.example") {
        set req.backend_hint = hash_w1234.backend(req.http.X-Key);
    }
    return (pass);
}
