package vclimport

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// emit writes the translated objects as TOML, each under a comment
// naming its source line.
func (t *translator) emit() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# shellac configuration imported from %s by shellac import-vcl.\n", oneLine(t.f.Name))
	b.WriteString("# What could not be translated is listed on standard error, by line.\n")
	srv := &table{header: "[server]", comment: "listen: set the addresses varnishd listened on (-a)"}
	srv.set("listen", quoteStrings([]string{"127.0.0.1:8080"}), "")
	if t.defaultDir != "" {
		srv.set("default_director", quoteString(t.defaultDir), t.defaultCmt)
	}
	var all []*table
	all = append(all, srv)
	all = append(all, t.probes...)
	all = append(all, t.backends...)
	all = append(all, t.directorTables()...)
	all = append(all, t.routes...)
	for _, tb := range all {
		b.WriteByte('\n')
		if tb.comment != "" {
			b.WriteString("# " + oneLine(tb.comment) + "\n")
		}
		b.WriteString(tb.header + "\n")
		for _, x := range tb.kvs {
			line := x.key + " = " + x.val
			if x.comment != "" {
				line += " # " + oneLine(x.comment)
			}
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// oneLine keeps a comment on one line.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func (t *translator) directorTables() []*table {
	var out []*table
	for _, name := range t.dirOrder {
		d := t.dirs[name]
		at := fmt.Sprintf("%s:%d: new %s = ", t.f.Name, d.line, d.name)
		switch d.kind {
		case "shard_param":
			continue
		case "saintmode":
			tb := &table{header: "[directors." + quoteKey(d.name) + "]", comment: at + "saintmode.saintmode()"}
			tb.set("type", `"saintmode"`, "")
			tb.set("member", quoteString(d.saintMember), "")
			if d.hasThreshold {
				tb.set("threshold", strconv.Itoa(d.saintThresh), "")
			}
			out = append(out, tb)
			continue
		}
		if len(d.members) == 0 {
			t.note(d.line, t.src(Pos{Line: d.line}), "a director without members: shellac needs at least one")
		}
		members := make([]string, len(d.members))
		for i, m := range d.members {
			members[i] = m.name
		}
		common := func(tb *table) {
			tb.set("type", quoteString(d.kind), "")
			tb.set("members", quoteStrings(members), "")
		}
		switch d.kind {
		case "round_robin", "fallback", "random":
			tb := &table{header: "[directors." + quoteKey(d.name) + "]", comment: at + "directors." + d.kind + "()"}
			common(tb)
			if d.sticky {
				tb.set("sticky", "true", "")
			}
			if d.kind == "random" {
				if w := weights(d.members); w != "" {
					tb.set("weights", w, "")
				}
			}
			out = append(out, tb)
		case "hash", "shard":
			vs := d.variants
			if len(vs) == 0 {
				v := &variant{name: d.name}
				if d.kind == "shard" {
					v.p.by = "hash"
				} else {
					v.p.key = "url"
					t.note(d.line, t.src(Pos{Line: d.line}), "no "+d.name+".backend(…) call says what to hash: key = [\"url\"] written; change it")
				}
				vs = []*variant{v}
			}
			for i, v := range vs {
				cmt := at + "directors." + d.kind + "()"
				if v.call != "" {
					cmt += fmt.Sprintf("; line %d: %s", v.line, v.call)
				}
				if i > 0 {
					cmt = fmt.Sprintf("%s:%d: %s (the director %s of line %d with other parameters)", t.f.Name, v.line, v.call, d.name, d.line)
				}
				tb := &table{header: "[directors." + quoteKey(v.name) + "]", comment: cmt}
				common(tb)
				if d.kind == "hash" {
					if w := weights(d.members); w != "" {
						tb.set("weights", w, "")
					}
					tb.set("key", quoteStrings(strings.Split(v.p.key, "\n")), "")
				} else {
					if w := weights(d.members); w != "" {
						tb.set("weights", w, "")
					}
					t.shardKeys(tb, d, v.p)
				}
				out = append(out, tb)
			}
		}
	}
	return out
}

func (t *translator) shardKeys(tb *table, d *director, p shardParams) {
	var idents []string
	for _, m := range d.members {
		if m.ident != "" && m.ident != m.name {
			idents = append(idents, quoteKey(m.name)+" = "+quoteString(m.ident))
		}
	}
	if len(idents) > 0 {
		tb.set("idents", "{ "+strings.Join(idents, ", ")+" }", "")
	}
	if d.replicas > 0 {
		tb.set("replicas", strconv.Itoa(d.replicas), fmt.Sprintf("line %d: reconfigure", d.replicasLine))
	}
	tb.set("by", quoteString(p.by), "")
	if p.by == "key" {
		tb.set("key", quoteStrings(strings.Split(p.key, "\n")), "")
	}
	if p.alt != 0 {
		tb.set("alt", strconv.Itoa(p.alt), "")
	}
	if p.healthy != "" {
		tb.set("healthy", quoteString(p.healthy), "")
	}
	switch {
	case p.warmup != "":
		tb.set("warmup", p.warmup, "")
	case d.warmup != "":
		tb.set("warmup", d.warmup, "set_warmup")
	}
	switch {
	case p.rampup != "":
		tb.set("rampup", quoteString(p.rampup), "rampup=false")
	case d.rampup != "":
		tb.set("rampup", quoteString(d.rampup), "set_rampup")
	}
}

// weights writes the weights given (other than 1) as a TOML inline table.
func weights(ms []member) string {
	var parts []string
	for _, m := range ms {
		if m.weight != 0 && m.weight != 1 {
			parts = append(parts, quoteKey(m.name)+" = "+formatFloat(m.weight))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func quoteStrings(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quoteString(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// formatFloat writes f as a TOML float.
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0.0"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".en") {
		s += ".0"
	}
	return s
}

// quoteKey returns k as a TOML key: bare when it can be, else quoted.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return quoteString(k)
		}
	}
	return k
}

// quoteString returns s as a TOML basic string.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
