package proxy

import (
	"net/netip"

	"github.com/valyala/bytebufferpool"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/route"
	"github.com/shellac-lb/shellac/rules"
)

// directRoute is the route of a request that no route matched but a rule
// sent to a director: no retries, no pipe.
var directRoute route.Route

// An exchange is one request and its response on a client connection, and
// the owner of its state machine:
//
//	begin ─┬─ refuse / answer / respondSynthetic ─────────────── done
//	       └─ dispatch ─ send ─ (upload) ─ readHead ─ startBody ─ pumpResponse ─ finish ─ done
//	              ▲                            │
//	              └──── tryFailed / 5xx ◄──────┘   (retry on another backend, or answer the failure)
//
// The client and backend connections are endpoints: they do the I/O and
// report events to the exchange (clientReadable, backendReady,
// backendReadable, clientDrained, backendDrained, the timeouts, the
// closes); only the exchange decides what happens next. Every status it
// answers itself comes from a failure through statusFor (failure.go);
// every retry decision is made by nextTry here. The request body's
// upload is in upload.go, the response's relay in response.go, pipes in
// tunnel.go.
//
// One exchange is embedded in each client connection and reused for every
// request on it, so serving a request allocates nothing. Everything here
// runs on the client's event loop.
type exchange struct {
	cl   *clientConn
	head *bytebufferpool.ByteBuffer // the head sent to the backend, kept for retries
	dreq directors.Request          // what directors see; reset per request, kept for its scratch
	rc   rules.Ctx                  // what rules see and do; reset per request, kept for its memory
	rec  Record                     // the access-log record; kept for its buffer

	exchangeState
}

// exchangeState is the part of an exchange that starts at zero with each
// request.
type exchangeState struct {
	active bool  // begun and not yet done or refused
	phase  phase // the backend side's progress
	be     *backendConn
	route  *route.Route
	target directors.Member   // the route's, or the one a rule chose
	b      *directors.Backend // backend of the current try
	// respRules are the route's and the global response rules, in the
	// order they run, when either has some.
	respRules [2]*rules.List

	// The request.
	minor     int
	keepAlive bool
	// clientClose: the client asked to close after this request
	// (Connection: close, or HTTP/1.0 without keep-alive).
	clientClose bool
	isHead      bool
	idempotent  bool
	upgrade     bool // Upgrade request: tunnel on 101
	pipe        bool // the route pipes the connection

	reqLeft     int64 // Content-Length bytes left to forward; -1 for chunked
	reqBody     int64 // body bytes seen, for max_body_bytes
	reqDec      http1.ChunkDecoder
	headSent    bool
	bodyStarted bool // some request-body byte went to a backend
	reqDone     bool // head and body fully sent
	discard     bool // skipping the request body (answered locally)

	// The response.
	framing       http1.Framing
	respLeft      int64 // body bytes left (FramingLength)
	dechunk       bool  // relaying a chunked body to an HTTP/1.0 client as its payload
	respKeepAlive bool  // the backend connection can be reused after this response
	respDec       http1.ChunkDecoder
	respStarted   bool // some response byte went to the client
	status        int
	// closeAfter: close the client connection once this response is out.
	closeAfter bool

	// Tries.
	tries     int
	tryOpen   bool // b.Begin was called and End not yet
	gotBytes  bool // some byte of the current try's response arrived
	interim   int  // 1xx responses received on the current try
	freeRetry bool // the retry on a stale pooled connection was used
	fresh     bool // the next dispatch must dial a new connection

	// The route's retry budget (outlier.go), when it has one; retrySlot:
	// the request holds one of its retry slots.
	budget    *route.RetryBudget
	retrySlot bool

	start, firstByte int64 // Unix nanos
	outStart         int64 // the client's written count when the exchange began
}

// phase is how far the backend side of an exchange got.
type phase uint8

const (
	phaseNone     phase = iota // no try: not begun, or answered locally
	phaseRequest               // a try is under way: connecting, sending, or waiting for the response head
	phaseResponse              // relaying the response body
	phaseTunnel                // piping bytes both ways
)

// maxResponseHead bounds a backend's response head.
const maxResponseHead = 64 << 10

// respLimits bound what a backend may send as a response head.
var respLimits = http1.Limits{MaxRequestLine: http1.DefaultMaxRequestLine, MaxHeaderBytes: maxResponseHead, MaxHeaders: 200}

// retryLimits parse our own forwarded heads again for a retry (generous:
// they were validated once already).
var retryLimits = http1.Limits{MaxRequestLine: 1 << 20, MaxHeaderBytes: 1 << 21, MaxHeaders: 1 << 12}

// open starts the exchange's state afresh.
func (ex *exchange) open() {
	ex.exchangeState = exchangeState{active: true, start: ex.cl.l.now, outStart: ex.cl.written}
}

// begin serves the request whose head, parsed into req, is the first n
// buffered bytes of the client. req's slices alias the connection buffer:
// all the exchange needs later is copied before the head is consumed.
func (ex *exchange) begin(req *http1.Request, n int) {
	cl := ex.cl
	l, s := cl.l, cl.l.srv
	ex.open()
	ex.minor = req.Minor
	ex.keepAlive = req.KeepAlive && !s.draining.Load()
	ex.clientClose = !req.KeepAlive
	ex.isHead = req.MethodID == http1.MethodHEAD
	ex.idempotent = req.MethodID.Idempotent()
	ex.upgrade = req.Upgrade
	switch {
	case req.Chunked:
		ex.reqLeft = -1
	case req.ContentLength > 0:
		ex.reqLeft = req.ContentLength
	}
	if s.opts.MaxBodyBytes > 0 && req.ContentLength > s.opts.MaxBodyBytes {
		ex.refuse(failure{kind: failTooLarge})
		return
	}
	if req.Chunked && !validChunkedPrefix(cl.input()[n:]) {
		// A malformed chunked body that arrived with its head (the usual
		// shape of a smuggling attempt) is refused before any backend
		// sees the request. Later bytes are checked as they stream.
		ex.refuse(failure{kind: failBadRequest, cause: errBadChunkedStart})
		return
	}

	t := s.table.Load()
	ex.dreq.Reset()
	ex.dreq.Head = req
	ex.dreq.ClientIP = cl.ip
	ex.dreq.Now = l.now
	if s.onRequest.Load() != nil {
		ex.rec.begin(req, nil) // the request as received, before any rewrite
	}
	rc := &ex.rc
	rc.Reset()
	rc.Req, rc.ClientIP, rc.ClientIPText = req, cl.ip, cl.ipText
	rc.DReq, rc.Now, rc.Shard = &ex.dreq, l.now, l.id
	if t := cl.tl; t != nil {
		rc.TLS, rc.SNI, rc.ClientCert = true, t.sni, t.clientCert
		ex.dreq.SNI = t.sni
	}
	answered := t.Request.Request(rc)
	var rt *route.Route
	if !answered {
		rt = t.MatchCtx(rc)
		answered = rt != nil && rt.Request.Request(rc)
	}
	ex.route = rt
	ex.rec.Route = rt
	ex.rec.setRequestID(rc.RequestID)
	if answered {
		ex.dreq.Head = nil
		ex.respondRule(&rc.Reply)
		cl.consume(n)
		ex.finishLocal()
		return
	}
	ex.enterBudget(rt)
	var b *directors.Backend
	switch {
	case rc.Target != nil:
		ex.target = rc.Target
		if rt == nil {
			ex.route = &directRoute
		}
	case rt != nil:
		ex.target = rt.Target
	}
	if ex.target != nil {
		b = directors.Resolve(ex.target, &ex.dreq)
	}
	if rt != nil && rt.Response.Len() > 0 || t.Response.Len() > 0 {
		ex.respRules[1] = t.Response
		if rt != nil {
			ex.respRules[0] = rt.Response
		}
	}
	var edit *http1.FieldEdit
	if !rc.Edit.Empty() {
		edit = &rc.Edit
	}
	switch {
	case b == nil:
		ex.dreq.Head = nil
		cl.consume(n)
		ex.answer(failure{kind: failUnavailable})
	case b.Responder() != nil:
		ex.b = b
		ex.respondSynthetic(b, req)
		ex.dreq.Head = nil
		cl.consume(n)
		ex.finishLocal()
	default:
		ex.pipe = ex.route.Pipe
		if ex.head == nil {
			ex.head = bytebufferpool.Get()
		}
		ex.head.B = http1.AppendForwardRequest(ex.head.B[:0], req, &http1.ForwardOptions{
			ClientAddr:  cl.ipText,
			XForwarded:  s.opts.XForwardedFor,
			HTTPS:       cl.tl != nil,
			DefaultHost: s2b(defaultHost(b.Config())),
			KeepUpgrade: ex.upgrade || ex.pipe,
			Edit:        edit,
		})
		if ex.route.Retry.Blacklist > 0 {
			ex.dreq.Digest() // the object hash, while the head is at hand
		}
		ex.dreq.Head = nil
		cl.consume(n)
		ex.dispatch(b)
	}
}

// refuse answers a request that cannot be served (malformed, too large,
// too slow) with the failure's status and closes the connection: its
// remaining input cannot be trusted. It may come before begin (a head
// that does not parse) or in the middle of an exchange, before any
// response byte went out.
func (ex *exchange) refuse(f failure) {
	cl := ex.cl
	l := cl.l
	if !ex.active {
		ex.open()
	}
	status := statusFor(f)
	ex.keepAlive = false
	ex.clientClose = false // its input cannot be trusted: always linger
	ex.status = status
	if ex.rec.Method == nil {
		ex.rec.Status = status
	}
	out := http1.AppendError(l.out[:0], status, true)
	cl.write(out)
	l.out = out[:0]
	ex.log()
	cl.closeGracefully(false)
}

// answer answers the failure's status ourselves (no backend response is
// relayed), keeping the connection when the request has no body to skip.
func (ex *exchange) answer(f failure) {
	cl := ex.cl
	status := statusFor(f)
	ex.status = status
	// An HTTP/1.0 client keeps the connection only when the response says
	// keep-alive; error answers do not, so they close it.
	closeConn := !ex.keepAlive || ex.reqLeft != 0 || ex.pipe || ex.minor == 0
	out := http1.AppendError(cl.l.out[:0], status, closeConn)
	ex.respStarted = true
	cl.write(out)
	cl.l.out = out[:0]
	ex.closeAfter = closeConn
	ex.done()
}

// finishLocal ends an exchange answered locally: its body, if any, is
// skipped first.
func (ex *exchange) finishLocal() {
	if ex.reqLeft != 0 {
		ex.discard = true
		ex.discardBody()
		return
	}
	ex.done()
}

// done ends the exchange and has the client serve its next request, or
// close.
func (ex *exchange) done() {
	cl := ex.cl
	if cl.state == clientClosed {
		return
	}
	ex.log()
	ex.releaseHead()
	if ex.closeAfter || !ex.reqDone && ex.reqLeft != 0 && !ex.discard || cl.l.srv.draining.Load() {
		cl.closeGracefully(ex.quickClose())
		return
	}
	cl.next()
}

// quickClose reports whether the client asked to close after this
// request and sent it whole: its connection need not linger.
func (ex *exchange) quickClose() bool { return ex.clientClose && ex.reqLeft == 0 }

func (ex *exchange) releaseHead() {
	if ex.head != nil {
		bytebufferpool.Put(ex.head)
		ex.head = nil
	}
}

// abort cuts the exchange short: the backend connection is dropped and the
// client connection closed at once (a response was started and cannot be
// finished).
func (ex *exchange) abort() {
	ex.dropBackend()
	ex.endTry(false)
	ex.closeAfter = true
	ex.log()
	ex.cl.abort()
}

// dispatch sends the request to b over a pooled connection, or a new one.
func (ex *exchange) dispatch(b *directors.Backend) {
	cl := ex.cl
	l := cl.l
	ex.b = b
	ex.tries++
	ex.tryOpen = true
	ex.gotBytes = false
	ex.interim = 0
	ex.phase = phaseRequest
	ex.framing = http1.FramingNone
	b.Begin()
	ex.rec.Backend = b.Name()
	if !ex.fresh {
		if bc, ok := l.idle.Get(b); ok {
			ex.attach(bc)
			ex.send()
			return
		}
	}
	ex.fresh = false
	if !cl.flush() {
		return // closed: clientGone ended the try
	}
	bc := newBackendConn(l, b)
	if v := b.Config().ProxyHeader; v > 0 && bc.tl != nil {
		// Over TLS the PROXY header precedes the handshake.
		src, dst := cl.proxyAddrs()
		bc.tl.proxyHeader = http1.AppendProxyHeader(nil, v, src, dst)
	}
	ex.attach(bc)
	l.dial(bc)
	// Until the connection is up, body bytes wait in the client's buffer.
	cl.holdInput()
}

func (ex *exchange) attach(bc *backendConn) {
	ex.be = bc
	bc.attach(ex)
}

// backendReady is reported by a new backend connection once it is up.
func (ex *exchange) backendReady(bc *backendConn) {
	if v := bc.b.Config().ProxyHeader; v > 0 && bc.tl == nil {
		src, dst := ex.cl.proxyAddrs()
		bc.writeProxyHeader(v, src, dst)
	}
	ex.send()
}

// send writes the request head, then whatever body is buffered.
func (ex *exchange) send() {
	if !ex.be.write(ex.head.B) {
		return // the connection failed: backendClosed took over
	}
	ex.headSent = true
	switch {
	case ex.pipe:
		ex.reqDone = true
		ex.startTunnel()
	case ex.reqLeft == 0:
		ex.reqDone = true
		ex.requestSent()
	default:
		ex.pumpUpload()
	}
}

// requestSent arms the first-byte timeout once the whole request is out.
func (ex *exchange) requestSent() {
	if ex.phase == phaseRequest {
		ex.be.armTimer(int64(ex.b.Config().FirstByteTimeout))
	}
}

// endTry records the end of the current try on its backend.
func (ex *exchange) endTry(failed bool) {
	if ex.tryOpen {
		ex.tryOpen = false
		ex.b.End(failed)
	}
}

// tryFailed handles a try that failed before any response byte reached
// the client: one free retry on a fresh connection when a reused pooled
// connection turned out dead (stale), else a route retry on another
// backend, else the failure's status.
func (ex *exchange) tryFailed(f failure) {
	if ex.cl.state == clientClosed {
		return
	}
	failed := ex.b
	countFailure(failed, f.kind)
	ex.observeFailure(failed, f)
	ex.endTry(!f.stale)
	if ex.respStarted {
		ex.abort()
		return
	}
	if f.stale && ex.idempotent && !ex.bodyStarted && !ex.freeRetry && !ex.pipe {
		ex.freeRetry = true
		ex.fresh = true
		ex.tries--
		ex.headSent = false
		ex.dispatch(failed)
		return
	}
	if next := ex.nextTry(f, failed); next != nil {
		failed.Stats.Retries.Add(1)
		ex.retryWith(next)
		return
	}
	ex.answer(f)
}

// nextTry applies the route's retry policy to a failure f of a try on
// failed: it blacklists (backend, object) where the route says so, and
// returns the backend to retry on, or nil when the request must not or
// cannot be retried. A retry needs the route to allow it for f's kind and
// this try count, nothing of the response sent to the client, no
// request-body byte sent to a backend (the request is replayed from our
// buffers), and, except after a connect failure, where the backend never
// saw the request, an idempotent method.
func (ex *exchange) nextTry(f failure, failed *directors.Backend) *directors.Backend {
	k := f.retryKind()
	rt := ex.route
	if rt == nil || k == 0 {
		return nil
	}
	if rt.Retry.Blacklisting(k) {
		directors.Blacklist(&ex.dreq, failed, rt.Retry.Blacklist, ex.cl.l.now)
	}
	if ex.respStarted || ex.bodyStarted || ex.pipe || !rt.Retry.Allows(k, ex.tries) {
		return nil
	}
	if k != route.RetryConnect && !ex.idempotent {
		return nil
	}
	next := ex.pickRetry(failed)
	if next == nil || !ex.takeRetry() {
		return nil
	}
	ex.cl.l.srv.retries.Add(1)
	return next
}

// pickRetry excludes the failed backend and resolves the route again. The
// request's own head is gone by now, so the head we forwarded is parsed
// again (into the loop's scratch request, which stays valid for the
// caller) to give hash and shard directors their keys.
func (ex *exchange) pickRetry(failed *directors.Backend) *directors.Backend {
	l := ex.cl.l
	ex.dreq.Exclude(failed)
	req := &l.req
	req.Reset()
	if _, err := req.Parse(ex.head.B, &retryLimits); err != nil {
		return nil
	}
	ex.dreq.Head = req
	ex.dreq.Now = l.now
	b := directors.Resolve(ex.target, &ex.dreq)
	ex.dreq.Head = nil
	return b
}

// retryWith sends the request again, to next. The loop's scratch request
// still holds the head pickRetry parsed.
func (ex *exchange) retryWith(next *directors.Backend) {
	ex.headSent = false
	if next.Responder() != nil {
		ex.b = next
		ex.phase = phaseNone
		ex.respondSynthetic(next, &ex.cl.l.req)
		ex.finishLocal()
		return
	}
	ex.dispatch(next)
}

// dropBackend detaches and closes the current try's connection.
func (ex *exchange) dropBackend() {
	if be := ex.be; be != nil {
		ex.be = nil
		be.abandon()
	}
}

// Events reported by the client endpoint.

// clientReadable handles request bytes that arrived while the exchange
// runs: body bytes to upload or skip, or pipelined requests to hold.
func (ex *exchange) clientReadable() {
	switch {
	case ex.discard:
		ex.discardBody()
	case ex.headSent && !ex.reqDone && ex.be != nil && ex.be.open():
		ex.pumpUpload()
	default:
		ex.cl.holdInput()
	}
}

// clientDrained resumes the backend side paused while the client's output
// was full.
func (ex *exchange) clientDrained() {
	be := ex.be
	if be == nil || !be.open() {
		return
	}
	ex.cl.stopTimer()
	be.resume()
	if ex.phase == phaseResponse {
		be.armTimer(int64(be.b.Config().BetweenBytesTimeout))
	}
	ex.backendReadable()
}

// clientTimedOut handles a client that stalled: it stopped sending its
// body, or stopped reading the response.
func (ex *exchange) clientTimedOut() {
	if ex.respStarted {
		ex.abort()
		return
	}
	ex.dropBackend()
	ex.endTry(false)
	ex.refuse(failure{kind: failClientTimeout})
}

// clientGone is reported when the client connection closed.
func (ex *exchange) clientGone() {
	if be := ex.be; be != nil {
		ex.be = nil
		be.orphan()
	}
	ex.endTry(false)
	ex.releaseHead()
	ex.active = false
	ex.leaveBudget()
}

// Events reported by the backend endpoint.

// backendReadable handles bytes from the current try's backend.
func (ex *exchange) backendReadable() {
	switch ex.phase {
	case phaseRequest:
		ex.readHead()
	case phaseResponse:
		ex.pumpResponse(nil)
	case phaseTunnel:
		ex.pumpTunnelDown()
	}
}

// backendDrained resumes the client paused while the backend's output was
// full.
func (ex *exchange) backendDrained() {
	ex.cl.resume()
	ex.cl.onReadable()
}

// backendFailed is reported when the connect for the current try failed.
func (ex *exchange) backendFailed(f failure) {
	ex.be = nil
	ex.tryFailed(f)
}

// backendTimedOut handles the current try's timer: no response head in
// first_byte_timeout, or a body that stalled past between_bytes_timeout.
func (ex *exchange) backendTimedOut() {
	ex.dropBackend()
	if ex.phase == phaseRequest && !ex.respStarted {
		ex.tryFailed(failure{kind: failTimeout})
		return
	}
	countFailure(ex.b, failTimeout)
	ex.observeFailure(ex.b, failure{kind: failTimeout})
	ex.endTry(true)
	ex.abort()
}

// backendClosed is reported when the backend closed the current try's
// connection; reused tells whether the connection had served a request
// before.
func (ex *exchange) backendClosed(reused bool) {
	ex.be = nil
	switch {
	case ex.phase == phaseResponse && ex.framing == http1.FramingClose:
		ex.endTry(false)
		ex.done() // EOF ends a close-delimited body
	case ex.phase == phaseTunnel:
		ex.endTry(false)
		ex.log()
		ex.cl.closeGracefully(ex.quickClose())
	case !ex.respStarted:
		ex.tryFailed(failure{kind: failReset, stale: reused && !ex.gotBytes})
	default:
		countFailure(ex.b, failReset)
		ex.observeFailure(ex.b, failure{kind: failReset})
		ex.endTry(true)
		ex.abort()
	}
}

// defaultHost is the Host sent for a request that has none (HTTP/1.0):
// the backend's host_header, else its address, as nginx's $proxy_host,
// or "localhost" for a UNIX socket. An HTTP/1.1 request needs one
// (RFC 9112 section 3.2).
func defaultHost(c *directors.BackendConfig) string {
	switch {
	case c.HostHeader != "":
		return c.HostHeader
	case c.Network == "unix":
		return "localhost"
	}
	return c.Address
}

// proxyAddrs returns the client's address and the address it connected
// to, for a PROXY protocol header; zero values when unknown.
func (cc *clientConn) proxyAddrs() (src, dst netip.AddrPort) {
	if !cc.ip.IsValid() {
		return src, dst
	}
	if d := cc.det; d != nil {
		return netip.AddrPortFrom(cc.ip, d.src.Port()), d.dst
	}
	src = netip.AddrPortFrom(cc.ip, portOf(cc.c.RemoteAddr()))
	if la := cc.c.LocalAddr(); la != nil {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			dst = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	return src, dst
}

func portOf(a interface{ String() string }) uint16 {
	if a == nil {
		return 0
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return 0
	}
	return ap.Port()
}

// validChunkedPrefix reports whether p is a valid start of a chunked body.
func validChunkedPrefix(p []byte) bool {
	var d http1.ChunkDecoder
	for len(p) > 0 {
		k, _, done, err := d.Decode(p)
		if err != nil {
			return false
		}
		if done || k == 0 {
			return true
		}
		p = p[k:]
	}
	return true
}
