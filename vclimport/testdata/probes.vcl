vcl 4.1;

import directors;
import std;

probe healthcheck {
    .url = "/healthz";
    .expected_response = 204;
    .timeout = 500ms;
    .interval = 2s;
    .window = 5;
    .threshold = 3;
    .initial = 3;
}

backend web1 {
    .host = "10.0.0.11";
    .port = "8080";
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 5s;
    .max_connections = 200;
    .probe = healthcheck;
}

backend web2 {
    .host = "10.0.0.12";
    .port = "8080";
    .connect_timeout = 1.5s;
    .probe = healthcheck;
}

backend api {
    .host = "api.internal";
    .port = "http";
    .host_header = "api.example.com";
    .probe = {
        .request =
            "GET /status HTTP/1.1"
            "Host: api.example.com"
            "Connection: close";
        .interval = 1m;
        .timeout = 2s;
        .window = 8;
        .threshold = 6;
    }
}

sub vcl_init {
    new web = directors.round_robin();
    web.add_backend(web1);
    web.add_backend(web2);
}

sub vcl_recv {
    set req.backend_hint = web.backend();
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
}

sub vcl_backend_response {
    set beresp.ttl = 1h;
}
