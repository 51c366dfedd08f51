# A cache cluster: every node runs this VCL, the shard director sends each
# object to the node that owns it.
vcl 4.1;

import directors;

backend cache_a { .host = "192.0.2.10"; .port = "6081"; }
backend cache_b { .host = "192.0.2.11"; .port = "6081"; }
backend cache_c { .host = "192.0.2.12"; .port = "6081"; }
backend origin  { .host = "origin.example.com"; .port = "443"; .ssl = 1; }

sub vcl_init {
    new cluster = directors.shard();
    cluster.add_backend(cache_a, ident="node-a");
    cluster.add_backend(cache_b, ident="node-b");
    cluster.add_backend(cache_c, ident="node-c", rampup=30s);
    cluster.set_warmup(0.1);
    cluster.set_rampup(1m);
    cluster.reconfigure(replicas=67);
}

sub vcl_recv {
    set req.backend_hint = cluster.backend(by=URL);
}

sub vcl_backend_fetch {
    if (bereq.retries > 0) {
        set bereq.backend = origin;
    }
}
