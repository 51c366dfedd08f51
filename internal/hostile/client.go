package hostile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// PieceDelay is the pause between two pieces of a case's raw bytes, so
// that they arrive as separate reads on the other side.
const PieceDelay = 20 * time.Millisecond

// Result is what a client saw when it sent a request case.
type Result struct {
	// Statuses of the final responses read, in order.
	Statuses []int
	// Interim counts the 1xx responses read before them.
	Interim int
	// Closed: the connection was closed after them (a request written on
	// it got EOF or a reset instead of an answer).
	Closed bool
	// ProbeStatus is the answer to that request when the connection was
	// still open.
	ProbeStatus int
	// Err says what went wrong reading, if anything (a timeout, a
	// malformed response).
	Err error
	// Received is every byte the client read.
	Received []byte
}

// String describes r in a line.
func (r *Result) String() string {
	s := fmt.Sprintf("statuses %v", r.Statuses)
	if r.Closed {
		s += ", closed"
	} else {
		s += fmt.Sprintf(", open (probe %d)", r.ProbeStatus)
	}
	if r.Err != nil {
		s += ", error: " + r.Err.Error()
	}
	return s
}

// probeRequest is written on a client connection after a case.
const probeRequest = "GET " + ProbeTarget + " HTTP/1.1\r\nHost: probe\r\n\r\n"

// Send sends request case c to a proxy at addr on a new connection, reads
// up to len(c.Status) final responses, then writes a probe request to
// learn whether the connection is still open. timeout bounds each read.
func Send(addr string, c *Case, timeout time.Duration) *Result {
	res := &Result{}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		res.Err = err
		return res
	}
	defer conn.Close()
	var tee bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &tee))
	defer func() { res.Received = tee.Bytes() }()

	for i, p := range c.Raw {
		if i > 0 {
			time.Sleep(PieceDelay)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := conn.Write(p); err != nil {
			// The proxy may refuse before reading everything: what it
			// answered is still worth reading.
			break
		}
	}
	method := "GET"
	if bytes.HasPrefix(c.Raw[0], []byte("HEAD ")) {
		method = "HEAD"
	}
	for range c.Status {
		_ = conn.SetReadDeadline(time.Now().Add(timeout))
		status, interim, err := readFinal(br, method)
		res.Interim += interim
		if err != nil {
			if isClosed(err) {
				res.Closed = true
			} else {
				res.Err = err
			}
			return res
		}
		res.Statuses = append(res.Statuses, status)
		method = "GET"
	}
	res.Closed, res.ProbeStatus, res.Err = probe(conn, br, probeRequest, timeout)
	return res
}

// probe writes req on conn and reads the answer: closed when the
// connection turns out closed instead.
func probe(conn net.Conn, br *bufio.Reader, req string, timeout time.Duration) (closed bool, status int, err error) {
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, req); err != nil {
		return true, 0, nil
	}
	status, _, err = readFinal(br, "GET")
	if err != nil {
		if isClosed(err) {
			return true, 0, nil
		}
		return false, 0, err
	}
	return false, status, nil
}

// readFinal reads responses until a final one (skipping 1xx) and its
// whole body.
func readFinal(br *bufio.Reader, method string) (status, interim int, err error) {
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return 0, interim, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == 101 {
			_, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, interim, err
		}
		interim++
	}
}

// isClosed reports whether err means the peer closed the connection:
// EOF, a reset, or a broken pipe.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// RespResult is what a client saw for a response case.
type RespResult struct {
	Status  int
	Interim int
	// BodyLen is the body bytes read; Truncated, that the connection
	// closed before the body its framing announced was complete.
	BodyLen   int64
	Truncated bool
	// Closed: the connection was closed after the response.
	Closed bool
	// Second is the body of the answer to a second request on the same
	// connection, when it was still open; SecondStatus its status.
	Second       string
	SecondStatus int
	Err          error
	Received     []byte
}

// String describes r in a line.
func (r *RespResult) String() string {
	s := fmt.Sprintf("status %d, body %d", r.Status, r.BodyLen)
	if r.Interim > 0 {
		s += fmt.Sprintf(", %d interim", r.Interim)
	}
	if r.Truncated {
		s += ", truncated"
	}
	if r.Closed {
		s += ", closed"
	} else {
		s += fmt.Sprintf(", open (second: %d %q)", r.SecondStatus, r.Second)
	}
	if r.Err != nil {
		s += ", error: " + r.Err.Error()
	}
	return s
}

// Targets of the requests a RawBackend answers.
const (
	respPrefix = "/__hostile/resp/"
	// SecondTarget is answered properly, with SecondBody.
	SecondTarget = "/__hostile/second"
	SecondBody   = "second"
)

// SendForResponse asks a proxy at addr for response case c (a RawBackend
// behind it answers c.Raw), reads the answer, then sends a second request
// on the same connection if it is still open.
func SendForResponse(addr string, c *Case, timeout time.Duration) *RespResult {
	res := &RespResult{}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		res.Err = err
		return res
	}
	defer conn.Close()
	var tee bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &tee))
	defer func() { res.Received = tee.Bytes() }()

	var req strings.Builder
	fmt.Fprintf(&req, "%s %s%s %s\r\nHost: hostile\r\n", c.Method, respPrefix, c.Name, c.Proto)
	if c.Proto == "HTTP/1.0" {
		req.WriteString("Connection: keep-alive\r\n")
	}
	req.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, req.String()); err != nil {
		res.Err = err
		return res
	}
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: c.Method})
		if err != nil {
			if isClosed(err) {
				res.Closed = true
			} else {
				res.Err = err
			}
			return res
		}
		if resp.StatusCode < 200 && resp.StatusCode != 101 {
			res.Interim++
			continue
		}
		res.Status = resp.StatusCode
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.BodyLen = n
		if err != nil {
			if isClosed(err) {
				res.Truncated, res.Closed = true, true
			} else {
				res.Err = err
			}
			return res
		}
		if resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && c.Method != "HEAD" && bodyAllowed(res.Status) {
			res.Closed = true // the body ran to EOF
			return res
		}
		break
	}
	second := "GET " + SecondTarget + " HTTP/1.1\r\nHost: hostile\r\n\r\n"
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, second); err != nil {
		res.Closed = true
		return res
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if isClosed(err) {
			res.Closed = true
		} else {
			res.Err = fmt.Errorf("second request: %w", err)
		}
		return res
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.SecondStatus, res.Second = resp.StatusCode, string(body)
	if err != nil {
		res.Err = fmt.Errorf("second request body: %w", err)
	}
	return res
}

// bodyAllowed reports whether a response with status may have a body
// (RFC 9112 6.3).
func bodyAllowed(status int) bool {
	return status >= 200 && status != 204 && status != 304
}
