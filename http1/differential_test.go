package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// Differential fuzzing against net/http: where shellac accepts a message,
// Go's reader must accept it too and frame its body the same way (method,
// Content-Length, chunked, close-delimited). A message shellac refuses
// and Go accepts is fine — shellac is the stricter of the two by design
// (every refusal below is listed in docs/security.md). A message shellac
// accepts and Go refuses is a failure unless deliberate() names it.

// goFraming is a body framing as Go's reader decided it.
type goFraming struct {
	cl      int64 // -1: none
	chunked bool
}

func goRequestFraming(head []byte) (*http.Request, goFraming, error) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return nil, goFraming{}, err
	}
	f := goFraming{cl: req.ContentLength}
	if len(req.TransferEncoding) > 0 {
		f.chunked = req.TransferEncoding[0] == "chunked"
	}
	return req, f, nil
}

// deliberateRequest names the inputs shellac accepts and Go's
// http.ReadRequest refuses on purpose, or returns "".
func deliberateRequest(head []byte, goErr error) string {
	msg := goErr.Error()
	switch {
	case strings.Contains(msg, "unsupported protocol version") || strings.Contains(msg, "malformed HTTP version"):
		// RFC 9110 2.5: HTTP/1.2-1.9 are processed as HTTP/1.1.
		return "a higher minor version"
	case strings.Contains(msg, "too many transfer encodings") || strings.Contains(msg, "unsupported transfer encoding"):
		return "" // shellac never accepts those: a real difference
	}
	return ""
}

func FuzzDifferentialRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"GET http://h/p HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	for _, tc := range malformedRequests {
		if len(tc.req) < 2000 {
			f.Add([]byte(tc.req))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		n, err := r.Parse(data, generous)
		if err != nil || r.MethodID == MethodCONNECT {
			return // refused (or incomplete): nothing to compare
		}
		// RFC 9112 2.2: shellac skips up to four empty lines (CRLF)
		// before the request line, as a server SHOULD; Go's reader
		// does not. The rest of the head is compared as usual.
		head := data[:n]
		for bytes.HasPrefix(head, []byte("\r\n")) {
			head = head[2:]
		}
		req, g, gerr := goRequestFraming(head)
		if gerr != nil {
			if deliberateRequest(head, gerr) == "" {
				t.Fatalf("shellac accepts %q; Go refuses it: %v", head, gerr)
			}
			return
		}
		if req.Method != string(r.Method) {
			t.Fatalf("%q: method %q; Go %q", head, r.Method, req.Method)
		}
		want := goFraming{cl: r.ContentLength, chunked: r.Chunked}
		if !r.Chunked && r.ContentLength < 0 {
			want.cl = 0 // Go reports no body as 0
		}
		if r.Chunked {
			want.cl = -1
		}
		if g != want {
			t.Fatalf("%q: shellac frames the body %+v; Go %+v", head, want, g)
		}
	})
}

// deliberateResponse names the responses shellac accepts and Go's
// http.ReadResponse refuses on purpose (documented tolerances of
// Response.Parse), or returns "".
func deliberateResponse(head []byte, status int, goErr error) string {
	msg := goErr.Error()
	switch {
	case (status < 200 || status == 204 || status == 304) &&
		(strings.Contains(msg, "transfer encoding") || strings.Contains(msg, "Content-Length")):
		// RFC 9112 6.3 rule 1: these have no content whatever their
		// framing fields say, so shellac does not read them; it forwards
		// neither field with a 1xx or 204 (RFC 9112 6.1, RFC 9110 8.6).
		return "the framing fields of a status without content"
	case strings.Contains(msg, "malformed MIME header line") && bytes.Contains(head, []byte(" :")):
		return "whitespace before a colon is removed (RFC 9112 5.1)"
	case strings.Contains(msg, "malformed HTTP status code") || strings.Contains(msg, "malformed HTTP response"):
		if !bytes.Contains(bytes.SplitN(head, []byte("\n"), 2)[0], []byte(" ")) ||
			bytes.Count(bytes.SplitN(head, []byte("\n"), 2)[0], []byte(" ")) == 1 {
			return "a status line without its reason phrase"
		}
	case strings.Contains(msg, "bad Content-Length") && bytes.Contains(head, []byte(",")):
		// RFC 9110 8.6: a list of identical values is taken as one; the
		// head forwarded carries one.
		return "a Content-Length list of identical values"
	case strings.Contains(msg, "unsupported transfer encoding"):
		// RFC 9112 6.3 rule 4: a response whose codings do not end in
		// chunked is close-delimited; shellac relays it so.
		return "a transfer coding without chunked (close-delimited)"
	case strings.Contains(msg, "invalid header field") || strings.Contains(msg, "malformed MIME header"):
		// Go's textproto refuses field names with bytes Go does not allow
		// (shellac's token set is RFC 9110's).
		return "field-name bytes Go refuses"
	}
	return ""
}

func FuzzDifferentialResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length: 2, 2\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Response
		n, err := r.Parse(data, generous)
		if err != nil {
			return
		}
		head := data[:n]
		resp, gerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: "GET"})
		if gerr != nil {
			if deliberateResponse(head, r.Status, gerr) == "" {
				t.Fatalf("shellac accepts %q; Go refuses it: %v", head, gerr)
			}
			return
		}
		if resp.StatusCode != r.Status {
			t.Fatalf("%q: status %d; Go %d", head, r.Status, resp.StatusCode)
		}
		body := r.Status >= 200 && r.Status != 204 && r.Status != 304
		if !body {
			return
		}
		chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[len(resp.TransferEncoding)-1] == "chunked"
		switch {
		case r.Chunked != chunked:
			t.Fatalf("%q: chunked %v; Go %v", head, r.Chunked, chunked)
		case !r.Chunked && r.ContentLength != resp.ContentLength:
			t.Fatalf("%q: Content-Length %d; Go %d", head, r.ContentLength, resp.ContentLength)
		}
	})
}
