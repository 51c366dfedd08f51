vcl 4.1;

import saintmode;
import directors;

backend app1 { .host = "127.0.0.1"; .port = "9001"; }
backend app2 { .host = "127.0.0.1"; .port = "9002"; }
backend sorry { .path = "/run/sorry.sock"; }

sub vcl_init {
    # Blacklist objects per backend; five bad objects take a backend out.
    new sm1 = saintmode.saintmode(app1, 5);
    new sm2 = saintmode.saintmode(app2, 5);

    new fb = directors.fallback(sticky = true);
    fb.add_backend(sm1.backend());
    fb.add_backend(sm2.backend());
    fb.add_backend(sorry);
}

sub vcl_recv {
    set req.backend_hint = fb.backend();
}

sub vcl_backend_response {
    if (beresp.status >= 500) {
        saintmode.blacklist(20s);
        return (retry);
    }
}
