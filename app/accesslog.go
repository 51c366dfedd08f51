package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/proxy"
)

// accessQueue is how many requests the access log holds before it starts
// dropping lines: a few tens of milliseconds at full speed, plenty for a
// disk hiccup.
const accessQueue = 4096

// accessEntryBuf is each entry's initial room for method, target and host;
// an entry grows once for a longer request and keeps what it grew to (up
// to maxAccessEntryBuf).
const (
	accessEntryBuf    = 256
	maxAccessEntryBuf = 16 << 10
)

// accessLog writes one line per request through log/slog, off the event
// loops: the OnRequest hook copies the proxy.Record into a preallocated
// entry and queues it, and one goroutine formats and writes the lines, so
// a slow disk never stalls a request. When every entry is queued the line
// is dropped and counted instead of blocking.
type accessLog struct {
	free    chan *accessEntry // entries ready to be filled
	queue   chan *accessEntry // entries waiting to be written
	dropped *atomic.Uint64

	h    slog.Handler
	bw   *bufio.Writer
	file io.Closer // nil for stdout

	closed    atomic.Bool // set by Close: record ignores requests
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// accessEntry is one request's line, copied out of connection memory.
type accessEntry struct {
	client                netip.Addr
	status, tries         int
	bytes                 int64
	start, firstByte, end int64
	backend, director     string // names of live objects: immutable strings, safe to keep
	buf                   []byte // method, target, host, request id, SNI
	nm, nt, nh, ni, ns    int    // lengths of method, target, host, request id and SNI in buf (the client certificate's subject follows)
	tlsVersion, tlsCipher uint16 // 0: cleartext
}

// openAccessLog opens the access log lc describes ("stdout" or a file
// path, appended to); nil when it is off. dropped counts dropped lines.
func openAccessLog(lc config.Log, dropped *atomic.Uint64) (*accessLog, error) {
	switch lc.Access {
	case "":
		return nil, nil
	case "stdout":
		return newAccessLog(os.Stdout, nil, lc.Format, dropped), nil
	}
	f, err := os.OpenFile(lc.Access, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log.access: %w", err)
	}
	return newAccessLog(f, f, lc.Format, dropped), nil
}

// newAccessLog starts an access log writing to w in format ("json" or
// "text"); closer, if not nil, is closed with it.
func newAccessLog(w io.Writer, closer io.Closer, format string, dropped *atomic.Uint64) *accessLog {
	al := &accessLog{
		free:    make(chan *accessEntry, accessQueue),
		queue:   make(chan *accessEntry, accessQueue),
		dropped: dropped,
		bw:      bufio.NewWriterSize(w, 64<<10),
		file:    closer,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.LevelKey && len(groups) == 0 {
			return slog.Attr{} // every line is INFO: leave it out
		}
		return a
	}}
	if format == "text" {
		al.h = slog.NewTextHandler(al.bw, opts)
	} else {
		al.h = slog.NewJSONHandler(al.bw, opts)
	}
	for range accessQueue {
		al.free <- &accessEntry{buf: make([]byte, 0, accessEntryBuf)}
	}
	go al.run()
	return al
}

// onRequest is the proxy's OnRequest hook. Called on an event loop.
func (a *App) onRequest(rec *proxy.Record) {
	if al := a.alog.Load(); al != nil {
		al.record(rec)
	}
}

// record copies rec into a free entry and queues it, or counts a dropped
// line when none is free. It never blocks, and allocates only when a
// request is longer than any the entry held before. Called on an event
// loop; rec is not retained.
func (al *accessLog) record(rec *proxy.Record) {
	if al.closed.Load() {
		return
	}
	var e *accessEntry
	select {
	case e = <-al.free:
	default:
		al.dropped.Add(1)
		return
	}
	e.client, e.status, e.tries, e.bytes = rec.Client, rec.Status, rec.Tries, rec.Bytes
	e.start, e.firstByte, e.end = rec.Start, rec.FirstByte, rec.End
	e.backend, e.director = rec.Backend, ""
	if rec.Route != nil && rec.Route.Target != nil {
		e.director = rec.Route.Target.Name()
	}
	b := append(e.buf[:0], rec.Method...)
	b = append(b, rec.Target...)
	b = append(b, rec.Host...)
	b = append(b, rec.RequestID...)
	b = append(b, rec.SNI...)
	b = append(b, rec.ClientCert...)
	e.buf, e.nm, e.nt, e.nh, e.ni = b, len(rec.Method), len(rec.Target), len(rec.Host), len(rec.RequestID)
	e.ns = len(rec.SNI)
	e.tlsVersion, e.tlsCipher = rec.TLSVersion, rec.TLSCipher
	al.queue <- e // never blocks: there are as many entries as queue slots
}

// run writes queued entries until Close, then what is left.
func (al *accessLog) run() {
	defer close(al.done)
	for {
		select {
		case e := <-al.queue:
			al.write(e)
			if len(al.queue) == 0 {
				_ = al.bw.Flush()
			}
		case <-al.stop:
			for drained := false; !drained; {
				select {
				case e := <-al.queue:
					al.write(e)
				default:
					drained = true
				}
			}
			_ = al.bw.Flush()
			if al.file != nil {
				_ = al.file.Close()
			}
			return
		}
	}
}

// write formats e as one line and returns it to the free list.
func (al *accessLog) write(e *accessEntry) {
	method := e.buf[:e.nm]
	target := e.buf[e.nm : e.nm+e.nt]
	host := e.buf[e.nm+e.nt : e.nm+e.nt+e.nh]
	id := e.buf[e.nm+e.nt+e.nh : e.nm+e.nt+e.nh+e.ni]
	sni := e.buf[e.nm+e.nt+e.nh+e.ni : e.nm+e.nt+e.nh+e.ni+e.ns]
	clientCert := e.buf[e.nm+e.nt+e.nh+e.ni+e.ns:]
	client := ""
	if e.client.IsValid() {
		client = e.client.String()
	}
	ttfb := 0.0
	if e.firstByte > 0 {
		ttfb = millis(e.firstByte - e.start)
	}
	r := slog.NewRecord(time.Unix(0, e.end), slog.LevelInfo, "access", 0)
	r.AddAttrs(
		slog.String("client", client),
		slog.String("method", string(method)),
		slog.String("path", string(target)),
		slog.String("host", string(host)),
		slog.Int("status", e.status),
		slog.Int64("bytes", e.bytes),
		slog.String("backend", e.backend),
		slog.String("director", e.director),
		slog.Float64("duration_ms", millis(e.end-e.start)),
		slog.Float64("ttfb_ms", ttfb),
		slog.Int("tries", e.tries),
	)
	if len(id) > 0 {
		r.AddAttrs(slog.String("request_id", string(id)))
	}
	if e.tlsVersion != 0 {
		r.AddAttrs(
			slog.String("tls_version", tls.VersionName(e.tlsVersion)),
			slog.String("tls_cipher", tls.CipherSuiteName(e.tlsCipher)),
			slog.String("sni", string(sni)),
		)
		if len(clientCert) > 0 {
			r.AddAttrs(slog.String("client_cert", string(clientCert)))
		}
	}
	_ = al.h.Handle(context.Background(), r)
	if cap(e.buf) > maxAccessEntryBuf {
		e.buf = make([]byte, 0, accessEntryBuf)
	}
	al.free <- e
}

// millis converts nanoseconds to milliseconds, to the microsecond.
func millis(ns int64) float64 {
	if ns < 0 {
		return 0
	}
	return math.Round(float64(ns)/1e3) / 1e3
}

// Close writes the queued lines, flushes and closes the file. Requests
// recorded after Close are ignored.
func (al *accessLog) Close() {
	al.closed.Store(true)
	al.closeOnce.Do(func() { close(al.stop) })
	<-al.done
}
