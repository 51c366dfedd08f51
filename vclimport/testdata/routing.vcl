vcl 4.1;

import directors;

backend www1   { .host = "10.1.0.1"; .port = "80"; }
backend www2   { .host = "10.1.0.2"; .port = "80"; }
backend img1   { .host = "10.2.0.1"; .port = "80"; }
backend api1   { .host = "10.3.0.1"; .port = "8000"; }
backend legacy { .host = "10.9.0.1"; .port = "80"; }

sub vcl_init {
    new www = directors.round_robin();
    www.add_backend(www1);
    www.add_backend(www2);
}

sub vcl_recv {
    if (req.http.host == "img.example.com") {
        set req.backend_hint = img1;
    } elsif (req.http.host ~ "^(www\.)?example\.com$" && req.url ~ "^/api/") {
        set req.backend_hint = api1;
    } elsif (req.http.host ~ "(?i)\.legacy\.example\.com$") {
        set req.backend_hint = legacy;
    } elsif (req.url ~ "^/(static|assets)/") {
        set req.backend_hint = img1;
        return (pass);
    } elsif (req.url ~ "\.php$") {
        set req.backend_hint = legacy;
    } else {
        set req.backend_hint = www.backend();
    }
    if (req.http.upgrade ~ "(?i)websocket") {
        return (pipe);
    }
}
