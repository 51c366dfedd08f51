import http.client, subprocess
def get(path, headers):
    c = http.client.HTTPConnection("127.0.0.1", 6091)
    c.request("GET", path, headers=headers)
    r = c.getresponse(); r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return h
rows = []
def adm(*a):
    subprocess.run(["varnishadm", "-n", "/tmp/vrec/n"] + list(a), check=True, capture_output=True)
stages = [("healthy", []), ("b5-sick", ["b5"]), ("b2b5-sick", ["b2", "b5"])]
for stage, sick in stages:
    adm("backend.set_health", "*", "auto")
    for b in sick:
        adm("backend.set_health", b, "sick")
    for i in range(100):
        key = f"key-{i}"
        ival = (i * 2654435761) % (1 << 32)
        a = f"a{i}"
        b = "" if i % 2 else f"b{i}"
        url = f"/obj/{i}?x={i}"
        hdr = {"X-Key": key, "X-Int": str(ival), "X-A": a, "Host": "example.com"}
        if b:
            hdr["X-B"] = b
        h = get(url, hdr)
        for d in ["s-w", "s10", "s10-all2", "s10-ign1", "s10-cho3", "s10-int", "s10-url", "h5", "h5-ab"]:
            rows.append((stage, d, key, str(ival), a, b, url, "example.com", h[d]))
        hurl, host = f"/h/obj/{i}", f"host{i%3}.example.com"
        h = get(hurl, {"Host": host})
        rows.append((stage, "s10-hash", "", "", "", "", hurl, host, h["s10-hash"]))
adm("backend.set_health", "*", "auto")
with open("varnish71-extra.tsv", "w") as f:
    f.write("# Recorded from varnishd 7.1.1 (Debian 12) with directors/testdata/varnish71-extra.vcl;\n")
    f.write("# see TestVarnishExtraVectors. Columns: stage, director, X-Key, X-Int, X-A, X-B, url, host, backend.\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(len(rows))
