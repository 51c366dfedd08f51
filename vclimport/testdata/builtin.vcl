# Shaped like Varnish 4.1's builtin.vcl and the edits people make to it: every sub must
# parse in detail, every statement be listed.
vcl 4.1;
import std;
backend default { .host = "127.0.0.1"; .port = "8080"; }
sub vcl_recv {
    if (req.method == "PRI") {
        return (synth(405));
    }
    if (!req.http.host &&
      req.esi_level == 0 &&
      req.proto ~ "^(?i)HTTP/1.1") {
        return (synth(400));
    }
    std.cache_req_body(500KB);
    set req.url = std.querysort(req.url);
    set req.http.X-Url = regsub(req.url, "\?.*$", "");
    set req.http.Cookie = regsuball(req.http.Cookie, "(^|;\s*)(_[_a-z]+|has_js)=[^;]*", "");
    if (req.http.Cookie == "") { unset req.http.Cookie; }
    if (req.http.Authorization || req.http.Cookie) {
        return (pass);
    }
    ban("obj.http.x-url ~ " + req.url);
    return (hash);
}
sub vcl_hash {
    hash_data(req.url);
    if (req.http.host) {
        hash_data(req.http.host);
    } else {
        hash_data(server.ip);
    }
    return (lookup);
}
sub vcl_hit {
    if (obj.ttl >= 0s) { return (deliver); }
    if (obj.ttl + obj.grace > 0s) { return (deliver); }
    return (miss);
}
sub vcl_synth {
    set resp.http.Content-Type = "text/html; charset=utf-8";
    set resp.body = {"<!DOCTYPE html>
<html><head><title>"} + resp.status + " " + resp.reason + {"</title></head></html>
"};
    return (deliver);
}
sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    } else if (beresp.ttl <= 0s ||
      beresp.http.Set-Cookie ||
      beresp.http.Surrogate-control ~ "(?i)no-store" ||
      (!beresp.http.Surrogate-Control &&
        beresp.http.Cache-Control ~ "(?i:no-cache|no-store|private)") ||
      beresp.http.Vary == "*") {
        set beresp.ttl = 120s;
        set beresp.uncacheable = true;
    }
    set beresp.grace = -1s;
    set beresp.http.X-Age = std.integer(beresp.http.Age, 0) * 2;
    return (deliver);
}
sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
    set resp.http.X-Forwarded = req.http.X-Forwarded-For + ", " + client.ip;
}
