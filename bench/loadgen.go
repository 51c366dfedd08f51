package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec describes one closed-loop load run of the built-in generator.
type loadSpec struct {
	Addr     string        // host:port to load
	Request  []byte        // bytes written per round trip; may hold several pipelined requests
	Depth    int           // responses expected per write of Request (pipelining depth)
	Conns    int           // concurrent connections
	Duration time.Duration // how long to keep sending
	NewConn  bool          // dial a new connection for every round trip
	Timeout  time.Duration // per round trip; 0 means 10s
	// TLS, when set, makes every connection a TLS client with this
	// configuration (and its session cache, if any).
	TLS *tls.Config
}

// loadResult is what a load run measured.
type loadResult struct {
	Requests int64         // responses completed in the window
	Errors   int64         // connect, read and write errors, and timeouts
	Non2xx   int64         // responses with a status outside 200–399
	Bytes    int64         // response bytes read
	Elapsed  time.Duration // length of the measurement window
	Hist     Histogram     // latency per response, from its batch being written
	// Handshakes and Resumed count the TLS connections made in the
	// window, and those of them that resumed a session.
	Handshakes, Resumed int64

	// percentiles, when set, are p50, p99 and p99.9 from a generator
	// that reports only those (wrk); they take precedence over Hist.
	percentiles *[3]time.Duration
}

// latencies returns p50, p99 and p99.9.
func (r *loadResult) latencies() [3]time.Duration {
	if r.percentiles != nil {
		return *r.percentiles
	}
	return [3]time.Duration{r.Hist.Percentile(50), r.Hist.Percentile(99), r.Hist.Percentile(99.9)}
}

// runLoad drives spec.Conns connections in a closed loop for
// spec.Duration and returns what it measured. Each connection writes its
// request bytes, reads spec.Depth responses framed by Content-Length or
// chunked encoding, and starts again; on an error it counts it and
// reconnects. It stops early when ctx is cancelled.
func runLoad(ctx context.Context, spec loadSpec) loadResult {
	if spec.Depth <= 0 {
		spec.Depth = 1
	}
	if spec.Timeout <= 0 {
		spec.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Duration)
	defer cancel()
	var stop atomic.Bool
	go func() { <-ctx.Done(); stop.Store(true) }()

	results := make([]loadResult, spec.Conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range spec.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := loadWorker{spec: &spec, stop: &stop, res: &results[i]}
			w.run()
		}()
	}
	wg.Wait()
	total := loadResult{Elapsed: time.Since(start)}
	for i := range results {
		r := &results[i]
		total.Requests += r.Requests
		total.Errors += r.Errors
		total.Non2xx += r.Non2xx
		total.Bytes += r.Bytes
		total.Handshakes += r.Handshakes
		total.Resumed += r.Resumed
		total.Hist.Merge(&r.Hist)
	}
	return total
}

// loadWorker runs one connection of a load run.
type loadWorker struct {
	spec *loadSpec
	stop *atomic.Bool
	res  *loadResult
	conn net.Conn
	rd   respReader
}

func (w *loadWorker) run() {
	defer w.closeConn()
	for !w.stop.Load() {
		if w.conn == nil {
			c, err := w.dial()
			if err != nil {
				if !w.stop.Load() {
					w.res.Errors++
				}
				time.Sleep(10 * time.Millisecond) // do not spin on a refusing target
				continue
			}
			w.conn = c
			w.rd.reset(c)
		}
		if err := w.roundTrip(); err != nil {
			if !w.stop.Load() {
				w.res.Errors++
			}
			w.closeConn()
			continue
		}
		if w.spec.NewConn {
			w.closeConn()
		}
	}
}

// dial connects, and with spec.TLS completes the handshake, counting it
// (and whether it resumed) when it ends inside the window. The round trip
// that follows is timed from its own write: the handshake's cost shows in
// the rate, not in the latency.
func (w *loadWorker) dial() (net.Conn, error) {
	if w.spec.TLS == nil {
		return net.DialTimeout("tcp", w.spec.Addr, w.spec.Timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.spec.Timeout)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: w.spec.TLS}
	c, err := d.DialContext(ctx, "tcp", w.spec.Addr)
	if err != nil {
		return nil, err
	}
	if !w.stop.Load() {
		w.res.Handshakes++
		if c.(*tls.Conn).ConnectionState().DidResume {
			w.res.Resumed++
		}
	}
	return c, nil
}

// roundTrip writes the request bytes once and reads Depth responses.
func (w *loadWorker) roundTrip() error {
	begin := time.Now()
	_ = w.conn.SetDeadline(begin.Add(w.spec.Timeout))
	if _, err := w.conn.Write(w.spec.Request); err != nil {
		return err
	}
	for i := range w.spec.Depth {
		status, closed, err := w.rd.readResponse()
		if err != nil {
			return err
		}
		if w.stop.Load() {
			return nil // finished after the window: not counted
		}
		w.res.Hist.Record(time.Since(begin))
		w.res.Requests++
		if status < 200 || status > 399 {
			w.res.Non2xx++
		}
		if closed {
			if i < w.spec.Depth-1 {
				return errConnClosed // the rest of the batch is lost
			}
			// A server may end a keep-alive connection after some number
			// of requests (nginx's keepalive_requests); reconnect.
			w.res.Bytes += w.rd.consumed + int64(w.rd.r)
			w.rd.consumed = 0
			w.closeConn()
			return nil
		}
	}
	w.res.Bytes += w.rd.consumed
	w.rd.consumed = 0
	return nil
}

var errConnClosed = errors.New("bench: server closed the connection with pipelined requests unanswered")

func (w *loadWorker) closeConn() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// respReader reads HTTP/1.1 responses from a connection through its own
// buffer, skipping their bodies.
type respReader struct {
	c        io.Reader
	buf      []byte
	r, w     int
	consumed int64
	ch       chunkedBody
}

func (rr *respReader) reset(c io.Reader) {
	rr.c = c
	rr.r, rr.w = 0, 0
	if rr.buf == nil {
		rr.buf = make([]byte, 64<<10)
	}
}

// fill reads more bytes, first moving unread bytes to the front.
func (rr *respReader) fill() error {
	if rr.r > 0 {
		rr.w = copy(rr.buf, rr.buf[rr.r:rr.w])
		rr.consumed += int64(rr.r)
		rr.r = 0
	}
	if rr.w == len(rr.buf) {
		return errHeadTooBig
	}
	n, err := rr.c.Read(rr.buf[rr.w:])
	rr.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readResponse reads one final response (skipping 1xx ones) and reports
// its status and whether the server will close the connection after it.
func (rr *respReader) readResponse() (status int, closed bool, err error) {
	for {
		h, n, err := parseHead(rr.buf[rr.r:rr.w], true)
		if err == errNeedMore {
			if err := rr.fill(); err != nil {
				return 0, false, err
			}
			continue
		}
		if err != nil {
			return 0, false, err
		}
		rr.r += n
		if h.status >= 100 && h.status < 200 {
			continue
		}
		switch {
		case bodyless(h.status):
		case h.chunked:
			rr.ch = chunkedBody{}
			for {
				k, done, err := rr.ch.consume(rr.buf[rr.r:rr.w])
				if err != nil {
					return 0, false, err
				}
				rr.r += k
				if done {
					break
				}
				if err := rr.fill(); err != nil {
					return 0, false, err
				}
			}
		case h.contentLength >= 0:
			left := h.contentLength
			for {
				k := min(left, int64(rr.w-rr.r))
				rr.r += int(k)
				left -= k
				if left == 0 {
					break
				}
				// Skip large bodies without copying them to the front.
				rr.consumed += int64(rr.r)
				rr.r, rr.w = 0, 0
				if err := rr.fill(); err != nil {
					return 0, false, err
				}
			}
		default: // delimited by close
			for {
				rr.consumed += int64(rr.w - rr.r)
				rr.r, rr.w = 0, 0
				if err := rr.fill(); err != nil {
					if errors.Is(err, io.EOF) {
						return h.status, true, nil
					}
					return 0, false, err
				}
			}
		}
		return h.status, h.close, nil
	}
}
