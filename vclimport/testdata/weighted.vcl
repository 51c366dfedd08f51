vcl 4.1;

import directors;

backend s1 { .host = "172.16.0.1"; .port = "8080"; }
backend s2 { .host = "172.16.0.2"; .port = "8080"; }
backend s3 { .host = "172.16.0.3"; .port = "8080"; }

sub vcl_init {
    new sticky = directors.hash();
    sticky.add_backend(s1, 1.0);
    sticky.add_backend(s2, 1.0);
    sticky.add_backend(s3, 2.0);

    new spread = directors.random();
    spread.add_backend(s1, 10);
    spread.add_backend(s2, 5);
    spread.add_backend(s3, 1.5);
}

sub vcl_recv {
    if (req.url ~ "^/session/") {
        set req.backend_hint = sticky.backend(req.http.cookie);
    } else {
        set req.backend_hint = spread.backend();
    }
}
