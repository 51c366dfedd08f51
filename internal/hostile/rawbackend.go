package hostile

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// RawBackend is a TCP backend on 127.0.0.1 that answers a request for
// "/__hostile/resp/NAME" with the raw bytes of response case NAME
// (written piece by piece), then closes the connection if the case says
// "then: close" or keeps reading requests on it; it answers SecondTarget
// with a proper 200 whose body is SecondBody, and anything else 404.
// Requests it cannot read strictly are counted in Bad and end the
// connection.
type RawBackend struct {
	ln    net.Listener
	cases map[string]*Case

	mu   sync.Mutex
	bad  []Received
	wg   sync.WaitGroup
	open map[net.Conn]bool
}

// NewRawBackend starts a raw backend for cases on a free 127.0.0.1 port.
func NewRawBackend(cases []*Case) (*RawBackend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &RawBackend{ln: ln, cases: map[string]*Case{}, open: map[net.Conn]bool{}}
	for _, c := range cases {
		b.cases[c.Name] = c
	}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

// Addr returns the backend's "127.0.0.1:port".
func (b *RawBackend) Addr() string { return b.ln.Addr().String() }

// Bad returns, and forgets, the requests the backend could not read
// strictly since the last call.
func (b *RawBackend) Bad() []Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	bad := b.bad
	b.bad = nil
	return bad
}

// Close stops the backend and closes its connections.
func (b *RawBackend) Close() {
	_ = b.ln.Close()
	b.mu.Lock()
	for c := range b.open {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *RawBackend) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.open[c] = true
		b.mu.Unlock()
		b.wg.Add(1)
		go b.serve(c)
	}
}

func (b *RawBackend) serve(c net.Conn) {
	defer b.wg.Done()
	defer func() {
		_ = c.Close()
		b.mu.Lock()
		delete(b.open, c)
		b.mu.Unlock()
	}()
	var buf []byte
	tmp := make([]byte, 16<<10)
	for {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for len(buf) > 0 {
			req, perr := ReadStrict(buf)
			if perr == ErrIncomplete {
				break
			}
			if perr != nil {
				b.mu.Lock()
				b.bad = append(b.bad, Received{Err: perr, Raw: append([]byte(nil), buf...)})
				b.mu.Unlock()
				return
			}
			buf = buf[req.Len:]
			if !b.answer(c, &req) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// answer writes the answer to req and reports whether to keep the
// connection.
func (b *RawBackend) answer(c net.Conn, req *StrictRequest) bool {
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	switch {
	case req.Target == SecondTarget:
		_, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(SecondBody), SecondBody)
		return err == nil && !req.Close
	case strings.HasPrefix(req.Target, respPrefix):
		cs := b.cases[req.Target[len(respPrefix):]]
		if cs == nil {
			break
		}
		for i, p := range cs.Raw {
			if i > 0 {
				time.Sleep(PieceDelay)
			}
			if _, err := c.Write(p); err != nil {
				return false
			}
		}
		return !cs.ThenClose && !req.Close
	}
	_, err := fmt.Fprintf(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
	return err == nil && !req.Close
}
