package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8100", "localhost:0", "[::1]:9"} {
		if err := checkLoopback(a, false); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{":8100", "0.0.0.0:8100", "10.1.2.3:80", "[::]:1"} {
		err := checkLoopback(a, false)
		if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("%s: err = %v", a, err)
		}
		if err := checkLoopback(a, true); err != nil {
			t.Errorf("%s with --allow-remote: %v", a, err)
		}
	}
	if err := checkLoopback("nonsense", false); err == nil {
		t.Error("address without a port accepted")
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", "0.0.0.0:8100"},
		{"--faults", "rate=5"},
		{"--bogus"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if code := runServe(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, errb.String(), exitUsage)
		}
	}
}

// tkx serve answers on its address, requires the key, and stops cleanly on
// SIGINT.
func TestServeRunsAndShutsDown(t *testing.T) {
	pr, pw := io.Pipe()
	var errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runServe([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--api-key", "tml-k"}, pw, &errb)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var base string
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "listening on "); i >= 0 {
			base = strings.Fields(line[i+len("listening on "):])[0]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" {
		t.Fatalf("no listening line; stderr: %s", errb.String())
	}
	resp, err := http.Post(base+"/api/v1/create_session", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("without key: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/create_session", strings.NewReader("{}"))
	req.Header.Set("X-API-Key", "tml-k")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with key: %d", resp.StatusCode)
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d; stderr: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
