package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/tkx-dev/tkx/backend"
)

const serveUsage = `Usage: tkx serve [--addr 127.0.0.1:8100] [--data-dir DIR] [--api-key KEY]
                 [--allow-remote] [--faults SPEC] [--seq-gap-timeout 30s]
                 [--log-requests] [--idle-unload 0]

Serves the embedded local backend over HTTP with the Tinker protocol, so any
Tinker client (tkx, or the Python SDK with TINKER_BASE_URL) can train and
sample against it.

  --addr ADDR            listen address (default 127.0.0.1:8100). A
                         non-loopback address is refused unless
                         --allow-remote is given.
  --allow-remote         allow listening on a non-loopback address.
  --api-key KEY          require X-API-Key: KEY on every request (default
                         $TKX_SERVE_API_KEY; empty = no key required).
  --data-dir DIR         checkpoints and run metadata (default $TKX_HOME, or
                         <user cache dir>/tkx).
  --faults SPEC          inject faults for resilience tests, e.g.
                         rate=0.1,kinds=5xx+429+408+drop+slow,seed=1
                         (deterministic for a given seed; slow=1.5s sets the
                         delay of "slow").
  --seq-gap-timeout D    how long a model waits for a missing seq_id while
                         later requests are queued before skipping it
                         (default 30s).
  --idle-unload D        unload a model after D without requests (e.g. 2h),
                         freeing its memory; checkpoints stay on disk
                         (default 0: keep models until unload or shutdown).
  --log-requests         log every request (method, path, status, time) to
                         stderr; retrieve_future polls that answer try_again
                         are not logged.

Stops gracefully on SIGINT/SIGTERM: in-flight requests finish, checkpoints on
disk are complete.`

func init() {
	register(&command{
		name:    "serve",
		summary: "serve the local backend over HTTP (Tinker protocol)",
		usage:   serveUsage,
		run:     runServe,
	})
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8100", "")
	allowRemote := fs.Bool("allow-remote", false, "")
	apiKey := fs.String("api-key", os.Getenv("TKX_SERVE_API_KEY"), "")
	dataDir := fs.String("data-dir", "", "")
	faults := fs.String("faults", "", "")
	gap := fs.Duration("seq-gap-timeout", 30*time.Second, "")
	logReq := fs.Bool("log-requests", false, "")
	idle := fs.Duration("idle-unload", 0, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, serveUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "tkx serve: %v\n\n%s\n", err, serveUsage)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tkx serve: unexpected argument %q\n\n%s\n", fs.Arg(0), serveUsage)
		return exitUsage
	}
	if err := checkLoopback(*addr, *allowRemote); err != nil {
		fmt.Fprintf(stderr, "tkx serve: %v\n", err)
		return exitUsage
	}
	fc, err := backend.ParseFaults(*faults)
	if err != nil {
		fmt.Fprintf(stderr, "tkx serve: --faults: %v\n", err)
		return exitUsage
	}
	if *idle < 0 {
		fmt.Fprintf(stderr, "tkx serve: --idle-unload must be ≥ 0\n")
		return exitUsage
	}
	if *gap <= 0 {
		fmt.Fprintf(stderr, "tkx serve: --seq-gap-timeout must be > 0\n")
		return exitUsage
	}
	dir := *dataDir
	if dir == "" {
		dir = backend.DefaultDataDir()
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, time.Now().Format("15:04:05 ")+format+"\n", a...)
	}
	e, err := backend.NewEngine(backend.Options{DataDir: dir, APIKey: *apiKey, Faults: fc, SeqGapTimeout: *gap, IdleUnload: *idle, Logf: logf})
	if err != nil {
		fmt.Fprintf(stderr, "tkx serve: %v\n", err)
		return exitFailure
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "tkx serve: %v\n", err)
		return exitFailure
	}
	var h http.Handler = e.Handler()
	if *logReq {
		h = logRequests(h, logf)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	fmt.Fprintf(stdout, "tkx serve: listening on http://%s (data dir %s", ln.Addr(), e.DataDir())
	if *apiKey != "" {
		fmt.Fprint(stdout, ", API key required")
	}
	if fc != nil {
		fmt.Fprintf(stdout, ", faults %s", fc)
	}
	fmt.Fprintln(stdout, ")")
	fmt.Fprintf(stdout, "tkx serve: use TINKER_BASE_URL=http://%s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "tkx serve: %v\n", err)
		e.Close()
		return exitFailure
	case s := <-sigs:
		fmt.Fprintf(stderr, "tkx serve: %v: shutting down\n", s)
	}
	// Wake long-polls so they answer try_again at once, let in-flight
	// handlers finish, then stop the engine.
	e.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "tkx serve: shutdown: %v\n", err)
	}
	e.Close()
	if counts := e.FaultCounts(); counts != nil {
		fmt.Fprintf(stderr, "tkx serve: injected faults: %v\n", counts)
	}
	return exitOK
}

// checkLoopback refuses non-loopback listen addresses unless allowed.
func checkLoopback(addr string, allow bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %v (want host:port, e.g. 127.0.0.1:8100)", addr, err)
	}
	if allow {
		return nil
	}
	refuse := fmt.Errorf("--addr %q is not a loopback address; the server has no TLS and trains on your machine, so pass --allow-remote (and --api-key) to listen on it", addr)
	if host == "" {
		return refuse
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return nil
		}
		return refuse
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("--addr %q: cannot resolve %s", addr, host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return refuse
		}
	}
	return nil
}

// statusRecorder remembers a response's status and size.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int
	head  []byte // the first bytes of the body
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	if len(s.head) < 64 {
		s.head = append(s.head, b[:min(len(b), 64-len(s.head))]...)
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Hijack passes through so fault injection can drop connections.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := s.ResponseWriter.(http.Hijacker); ok {
		s.code = -1
		return hj.Hijack()
	}
	return nil, nil, fmt.Errorf("hijacking not supported")
}

// logRequests logs each request with its status and duration.
func logRequests(next http.Handler, logf func(string, ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if r.URL.Path == "/api/v1/retrieve_future" && bytes.Contains(rec.head, []byte(`"try_again"`)) {
			return // polling would flood the log
		}
		status := strconv.Itoa(rec.code)
		if rec.code == -1 {
			status = "dropped"
		}
		logf("%s %s %s %dB %s", r.Method, r.URL.Path, status, rec.bytes, time.Since(start).Round(time.Microsecond))
	})
}
