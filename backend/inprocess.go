package backend

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// NewInProcessClient returns an *http.Client whose requests are served by h
// directly, without sockets. The URL's scheme and host are ignored (use
// e.g. "http://local"), so the Tinker client runs exactly the same code
// path against the embedded engine as against a remote `tkx serve`.
func NewInProcessClient(h http.Handler) *http.Client {
	return &http.Client{Transport: NewInProcessTransport(h)}
}

// NewInProcessTransport returns an http.RoundTripper that serves requests
// with h in the calling process. Request contexts are honoured (a
// long-polling retrieve_future ends when its context does). A handler that
// drops the connection (fault injection "drop") surfaces as a connection
// reset error, like it would over TCP.
func NewInProcessTransport(h http.Handler) http.RoundTripper {
	return &inProcessTransport{h: h}
}

type inProcessTransport struct {
	h http.Handler
}

// errConnReset is what a dropped in-process "connection" returns.
var errConnReset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

func (t *inProcessTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	sreq := req.Clone(ctx)
	if req.Body == nil || req.Body == http.NoBody {
		sreq.Body = http.NoBody
	} else {
		// Read the body up front, as a server would receive it; the caller's
		// body is closed as RoundTrip's contract requires.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		sreq.Body = io.NopCloser(bytes.NewReader(b))
		sreq.ContentLength = int64(len(b))
	}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "127.0.0.1:0"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	rec := &inProcessWriter{header: http.Header{}}
	done := make(chan struct{})
	var panicVal any
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				panicVal = r
			}
		}()
		t.h.ServeHTTP(rec, sreq)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if rec.hijacked || panicVal == http.ErrAbortHandler {
		return nil, errConnReset
	}
	if panicVal != nil {
		return nil, fmt.Errorf("in-process backend: handler panic: %v", panicVal)
	}
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	body := rec.buf.Bytes()
	resp := &http.Response{
		Status:        strconv.Itoa(rec.code) + " " + http.StatusText(rec.code),
		StatusCode:    rec.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
	return resp, nil
}

// inProcessWriter records a response.
type inProcessWriter struct {
	header   http.Header
	code     int
	buf      bytes.Buffer
	hijacked bool
}

func (w *inProcessWriter) Header() http.Header { return w.header }

func (w *inProcessWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *inProcessWriter) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.buf.Write(b)
}

func (w *inProcessWriter) Flush() {}

// Hijack lets the fault injector "drop" the connection.
func (w *inProcessWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, errors.New("already hijacked")
	}
	w.hijacked = true
	c := deadConn{}
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// deadConn is a closed connection.
type deadConn struct{}

func (deadConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (deadConn) Write(b []byte) (int, error)      { return 0, net.ErrClosed }
func (deadConn) Close() error                     { return nil }
func (deadConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (deadConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (deadConn) SetDeadline(time.Time) error      { return nil }
func (deadConn) SetReadDeadline(time.Time) error  { return nil }
func (deadConn) SetWriteDeadline(time.Time) error { return nil }
