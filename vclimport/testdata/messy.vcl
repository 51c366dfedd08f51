/*
 * Production VCL, inherited. Do not touch (2019).
 */
vcl 4.0;

import std;
import directors;
import geoip2;          // unknown vmod
import header from "/usr/lib/varnish/vmods/libvmod_header.so";
include "devicedetect.vcl";

acl purgers {
    "127.0.0.1";
    "10.0.0.0"/8;
}

backend default {   # the old box
    .host = "::1";
    .port = "8080";
    .proxy_header = 2;
}
backend b_new { .host = "127.0.0.1"; .port = "8081"; .probe = { .url = "/"; .interval = 10s; }; }

C{
    #include <stdio.h>
}C

sub vcl_init {
    new pool = directors.round_robin();
    pool.add_backend(default);
    pool.add_backend(b_new);
    new geo = geoip2.geoip2("/var/lib/GeoIP/GeoLite2-City.mmdb");
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (!client.ip ~ purgers) {
            return (synth(405, {"Not
allowed."}));
        }
        return (purge);
    }
    set req.http.X-Country = geo.lookup("country/iso_code", std.ip(req.http.X-Real-IP, client.ip));
    call devicedetect;
    set req.backend_hint = pool.backend();
}

sub vcl_synth {
    set resp.http.Content-Type = "text/html; charset=utf-8";
    synthetic({"<!DOCTYPE html>
<html><body>"} + resp.reason + {"</body></html>"});
    return (deliver);
}
