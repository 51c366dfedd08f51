package proxy

import (
	"net/netip"

	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/route"
)

// Record describes one served request, for the access log and metrics.
// Its byte slices alias connection memory: valid only during the
// Options.OnRequest call; copy what you keep.
type Record struct {
	Client  netip.Addr
	Method  []byte
	Target  []byte
	Host    []byte
	Status  int
	Bytes   int64  // response bytes sent to the client, head included
	Backend string // the backend of the last try; "" if none
	Route   *route.Route
	// RequestID is the id a request_id rule found or made; nil if none.
	RequestID []byte
	// TLSVersion and TLSCipher are the client connection's TLS version
	// and cipher suite (crypto/tls constants; 0 for cleartext), SNI the
	// server name it sent (nil if none).
	TLSVersion, TLSCipher uint16
	SNI                   []byte
	// ClientCert is the subject of the client's verified certificate
	// (nil if none); valid, like SNI, for the hook's call only.
	ClientCert []byte
	Tries      int
	// Times in Unix nanoseconds: request head complete, first response
	// byte from the backend (0 if none), done.
	Start, FirstByte, End int64

	buf []byte // owns Method/Target/Host between begin and the call
}

// begin captures what the log needs from a request head that is about to
// be discarded. Called only when an OnRequest hook listens.
func (r *Record) begin(req *http1.Request, rt *route.Route) {
	r.Route = rt
	r.Backend = ""
	r.Method, r.Target, r.Host, r.RequestID = nil, nil, nil, nil
	r.Status = 0
	b := r.buf[:0]
	b = append(b, req.Method...)
	b = append(b, req.Target...)
	b = append(b, req.Host...)
	r.buf = b
	m, t := len(req.Method), len(req.Target)
	r.Method = b[:m:m]
	r.Target = b[m : m+t : m+t]
	r.Host = b[m+t:]
}

// setRequestID records the request id (copied: it may alias the client's
// buffer). Called only when an OnRequest hook listens.
func (r *Record) setRequestID(id []byte) {
	if len(id) == 0 || r.Method == nil { // no hook listens
		return
	}
	b := append(r.buf, id...)
	r.buf = b
	r.RequestID = b[len(b)-len(id):]
}

// log completes the exchange's record and hands it to the OnRequest
// hook. An exchange is logged once: log ends it.
func (ex *exchange) log() {
	if !ex.active {
		return
	}
	ex.active = false
	ex.leaveBudget()
	hp := ex.cl.l.srv.onRequest.Load()
	if hp == nil {
		return
	}
	hook := *hp
	r := &ex.rec
	r.Client = ex.cl.ip
	if ex.status != 0 {
		r.Status = ex.status
	}
	r.Bytes = ex.cl.written - ex.outStart
	r.Tries = ex.tries
	r.Start = ex.start
	r.FirstByte = ex.firstByte
	r.End = ex.cl.l.now
	if t := ex.cl.tl; t != nil {
		r.TLSVersion, r.TLSCipher, r.SNI, r.ClientCert = t.version, t.cipher, t.sni, t.clientCert
	} else {
		r.TLSVersion, r.TLSCipher, r.SNI, r.ClientCert = 0, 0, nil, nil
	}
	hook(r)
	r.Method, r.Target, r.Host, r.RequestID = nil, nil, nil, nil
	r.Route = nil
	if cap(r.buf) > 16<<10 {
		r.buf = nil
	}
}
