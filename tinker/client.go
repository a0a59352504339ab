// Package tinker is a Go client for the Tinker training API (the wire
// protocol of the Python SDK 0.25, see package protocol). It works against
// the hosted service, a `tkx serve` server, or the embedded local backend
// plugged in as an http.RoundTripper (Options.HTTPClient).
//
// Entry point: NewServiceClient. Training calls return *Future values
// immediately after their seq_id is allocated; requests of one
// TrainingClient go on the wire in seq_id order and their results are
// polled concurrently, so submitting ForwardBackward and then OptimStep
// before waiting on either puts both on the wire back to back.
//
// The API key (TINKER_API_KEY) is sent in X-API-Key and never appears in
// log lines or error messages: both are redacted.
package tinker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tkx-dev/tkx/protocol"
)

// Version is the tkx client version sent in User-Agent as tkx/<Version>.
var Version = "0.1.0"

// LocalBaseURL is the base URL value that selects the embedded backend.
const LocalBaseURL = "local"

// Options configure a ServiceClient. Zero values take the defaults noted.
type Options struct {
	// BaseURL of the service (default protocol.DefaultBaseURL, or
	// TINKER_BASE_URL via OptionsFromEnv). A trailing "/" or "/api/v1" is
	// dropped. "local" is not handled here: builtins/startinker (or any
	// caller) passes HTTPClient with the in-process backend transport and a
	// base URL such as "http://local".
	BaseURL string
	// APIKey is sent as X-API-Key (TINKER_API_KEY). May be empty for a
	// local server.
	APIKey string
	// HTTPClient performs requests (default: a client with no overall
	// timeout; per-attempt timeouts come from contexts).
	HTTPClient *http.Client
	// Logger receives warnings and info (default slog.Default()). Lines are
	// redacted of the API key.
	Logger *slog.Logger
	// Clock drives back-off sleeps (default RealClock).
	Clock Clock
	// Rand returns uniform [0,1) numbers for jitter (default math/rand/v2).
	Rand func() float64

	Tags         []string          // sent with create_session (TINKER_TAGS)
	ProjectID    string            // TINKER_PROJECT_ID
	UserMetadata map[string]string // sent with create_session
	// Headers are extra headers on every request.
	Headers http.Header

	// HeartbeatInterval between session heartbeats (default 10 s; < 0
	// disables heartbeats).
	HeartbeatInterval time.Duration
	// RequestTimeout bounds one HTTP attempt (default 60 s).
	RequestTimeout time.Duration
	// PollTimeout bounds one retrieve_future attempt (default 45 s; the
	// server may long-poll).
	PollTimeout time.Duration
	// SubmitRetryBudget bounds retries of one submit (default 5 min).
	SubmitRetryBudget time.Duration
	// MaxServerErrorPolls is how many consecutive 5xx answers a future
	// tolerates before failing (default 30).
	MaxServerErrorPolls int
	// Telemetry enables session start/end telemetry events (off unless set
	// or TINKER_TELEMETRY=1).
	Telemetry bool
	// OnQueueState, if set, is called whenever a future reports a queue
	// state other than "active" (besides the rate-limited log line).
	OnQueueState func(requestID string, qs QueueState)
}

// OptionsFromEnv reads TINKER_API_KEY, TINKER_BASE_URL, TINKER_TAGS,
// TINKER_PROJECT_ID and TINKER_TELEMETRY.
func OptionsFromEnv() Options {
	o := Options{
		APIKey:    os.Getenv("TINKER_API_KEY"),
		BaseURL:   os.Getenv("TINKER_BASE_URL"),
		ProjectID: os.Getenv("TINKER_PROJECT_ID"),
		Telemetry: os.Getenv("TINKER_TELEMETRY") == "1",
	}
	if t := os.Getenv("TINKER_TAGS"); t != "" {
		for _, s := range strings.Split(t, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.Tags = append(o.Tags, s)
			}
		}
	}
	return o
}

// WantsLocal reports whether the options select the embedded local
// backend: base URL "local", or no API key and no base URL.
func WantsLocal(baseURL, apiKey string) bool {
	return baseURL == LocalBaseURL || (apiKey == "" && baseURL == "")
}

// NormalizeBaseURL trims a trailing "/" or "/api/v1" and checks the URL is
// absolute http(s).
func NormalizeBaseURL(s string) (string, error) {
	if s == "" {
		s = protocol.DefaultBaseURL
	}
	if s == LocalBaseURL {
		return "", fmt.Errorf("tinker: base URL %q selects the embedded backend; pass Options.HTTPClient with its in-process transport and an http:// base URL", s)
	}
	s = strings.TrimRight(s, "/")
	s = strings.TrimSuffix(s, "/api/v1")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("tinker: base URL %q: want http://host[:port][/prefix] or https://…", s)
	}
	if u.User != nil {
		return "", fmt.Errorf("tinker: base URL must not carry credentials; use TINKER_API_KEY")
	}
	return s, nil
}

// core is the transport shared by all clients of one ServiceClient.
type core struct {
	base    string
	http    *http.Client
	log     *slog.Logger
	clock   Clock
	rand    func() float64
	opts    Options
	secrets []string

	credMu sync.Mutex
	cred   string // value of X-API-Key (key or JWT)
	jwtExp time.Time

	cfgMu sync.Mutex
	cfg   *protocol.ClientConfigResponse

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
}

func newCore(opts Options) (*core, error) {
	base, err := NormalizeBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		// Many futures poll at once: keep their connections alive.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = 10 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = 45 * time.Second
	}
	if opts.SubmitRetryBudget <= 0 {
		opts.SubmitRetryBudget = 5 * time.Minute
	}
	if opts.MaxServerErrorPolls <= 0 {
		opts.MaxServerErrorPolls = 30
	}
	c := &core{base: base, http: opts.HTTPClient, log: opts.Logger, clock: opts.Clock, rand: opts.Rand, opts: opts, cred: opts.APIKey}
	if opts.APIKey != "" {
		c.secrets = append(c.secrets, opts.APIKey)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// redact removes every secret (API key, JWT) from s.
func (c *core) redact(s string) string {
	c.credMu.Lock()
	secrets := c.secrets
	c.credMu.Unlock()
	for _, k := range secrets {
		if k != "" {
			s = strings.ReplaceAll(s, k, "[REDACTED]")
		}
	}
	return s
}

func (c *core) logf(level slog.Level, format string, args ...any) {
	c.log.Log(context.Background(), level, c.redact(fmt.Sprintf(format, args...)))
}

// request is one logical HTTP call.
type request struct {
	method      string
	path        string
	query       url.Values
	body        []byte
	contentType string // default JSON when body != nil
	accept      string
	header      http.Header
	timeout     time.Duration
	// retry: submit-style retries (connection errors, timeouts, 408, 429,
	// 5xx with back-off, 402 billing pause) within SubmitRetryBudget.
	retry bool
	// noRedirect: return 3xx answers instead of following them.
	noRedirect bool
}

// response is a completed HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "tkx-retry-" + hex.EncodeToString(b[:])
}

// once performs a single HTTP attempt.
func (c *core) once(ctx context.Context, r *request, idem string) (*response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	timeout := r.timeout
	if timeout <= 0 {
		timeout = c.opts.RequestTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("tinker: building %s %s: %v", r.method, r.path, err)
	}
	for k, vs := range c.opts.Headers {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", "tkx/"+Version)
	accept := r.accept
	if accept == "" {
		accept = protocol.ContentTypeJSON
	}
	req.Header.Set("Accept", accept)
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = protocol.ContentTypeJSON
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.method != http.MethodGet && idem != "" {
		req.Header.Set(protocol.HeaderIdempotencyKey, idem)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if cred := c.credential(); cred != "" {
		req.Header.Set(protocol.HeaderAPIKey, cred)
	}
	hc := c.http
	if r.noRedirect {
		cp := *hc
		cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		hc = &cp
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, &ConnectionError{Method: r.method, Path: r.path, BaseURL: c.base, Err: errors.New(c.redact(err.Error()))}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, &ConnectionError{Method: r.method, Path: r.path, BaseURL: c.base, Err: fmt.Errorf("reading body: %s", c.redact(err.Error()))}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (c *core) apiError(r *request, resp *response) *APIError {
	body := c.redact(string(resp.body))
	if len(body) > 1000 {
		body = body[:1000] + "…"
	}
	return &APIError{Method: r.method, Path: r.path, Status: resp.status, Body: body}
}

// do performs r with the retries it allows and returns a 2xx (or, with
// noRedirect, 3xx) answer; anything else becomes an error.
func (c *core) do(ctx context.Context, r *request) (*response, error) {
	idem := newIdempotencyKey()
	start := c.clock.Now()
	attempt := 0
	var billingStart time.Time
	bo := Backoff{Base: time.Second, Max: 30 * time.Second, Jitter: 0.25, Rand: c.rand}
	for {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		resp, err := c.once(ctx, r, idem)
		var wait time.Duration
		switch {
		case err != nil:
			var ce *ConnectionError
			if !r.retry || !errors.As(err, &ce) {
				return nil, err
			}
			wait = bo.Delay(attempt)
		case resp.status >= 200 && resp.status < 300:
			return resp, nil
		case r.noRedirect && resp.status >= 300 && resp.status < 400:
			return resp, nil
		case r.retry && resp.status == http.StatusPaymentRequired:
			if billingStart.IsZero() {
				billingStart = c.clock.Now()
			}
			if c.clock.Now().Sub(billingStart) >= time.Duration(c.config().BillingExceptionMaxPauseDurationSec)*time.Second {
				return nil, c.apiError(r, resp)
			}
			c.logf(slog.LevelWarn, "tinker: %s %s: billing pause (402), retrying in 5s: %s", r.method, r.path, resp.body)
			if err := c.clock.Sleep(ctx, 5*time.Second); err != nil {
				return nil, err
			}
			continue
		case r.retry && (resp.status == http.StatusRequestTimeout || resp.status == http.StatusTooManyRequests || resp.status >= 500):
			if resp.header.Get(protocol.HeaderShouldRetry) == "false" {
				return nil, c.apiError(r, resp)
			}
			wait = bo.Delay(attempt)
			if ra, ok := retryAfter(resp.header, c.clock.Now()); ok {
				wait = ra
			}
			err = c.apiError(r, resp)
		default:
			return nil, c.apiError(r, resp)
		}
		if c.clock.Now().Add(wait).Sub(start) > c.opts.SubmitRetryBudget {
			return nil, err
		}
		c.logf(slog.LevelDebug, "tinker: %s %s: %v; retry %d in %s", r.method, r.path, err, attempt+1, wait)
		if serr := c.clock.Sleep(ctx, wait); serr != nil {
			return nil, serr
		}
		attempt++
	}
}

// doJSON sends in (JSON, unless nil) and decodes a 2xx answer into out
// (unless nil).
func (c *core) doJSON(ctx context.Context, method, path string, query url.Values, in, out any, retry bool) error {
	r := &request{method: method, path: path, query: query, retry: retry}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("tinker: encoding %s %s: %w", method, path, err)
		}
		r.body = b
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	return c.decodeJSON(r, resp.body, out)
}

func (c *core) decodeJSON(r *request, body []byte, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		snippet := string(body)
		if len(snippet) > 200 {
			snippet = snippet[:200] + "…"
		}
		return &MalformedResponseError{Method: r.method, Path: r.path, Err: fmt.Errorf("%v (body %q)", err, c.redact(snippet))}
	}
	return nil
}

func (c *core) credential() string {
	c.credMu.Lock()
	defer c.credMu.Unlock()
	return c.cred
}

func (c *core) config() protocol.ClientConfigResponse {
	c.cfgMu.Lock()
	defer c.cfgMu.Unlock()
	if c.cfg == nil {
		return protocol.DefaultClientConfig()
	}
	return *c.cfg
}

// bootstrap fetches client/config, the JWT when enabled, and the dynamic
// config (404 = defaults). It runs once per ServiceClient.
func (c *core) bootstrap(ctx context.Context) error {
	var cfg protocol.ClientConfigResponse
	if err := c.doJSON(ctx, http.MethodPost, protocol.PathClientConfig, nil, protocol.ClientConfigRequest{SDKVersion: protocol.SDKVersion}, &cfg, true); err != nil {
		return err
	}
	c.cfgMu.Lock()
	c.cfg = &cfg
	c.cfgMu.Unlock()
	if cfg.PJWTAuthEnabled {
		if err := c.refreshJWT(ctx); err != nil {
			return err
		}
	}
	var dyn protocol.DynamicConfigResponse
	r := &request{method: http.MethodPost, path: protocol.PathClientDynamicConfig, timeout: 10 * time.Second}
	r.body, _ = json.Marshal(protocol.ClientConfigRequest{SDKVersion: protocol.SDKVersion})
	resp, err := c.do(ctx, r)
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
	case err != nil:
		c.logf(slog.LevelDebug, "tinker: dynamic config unavailable: %v", err)
	default:
		_ = c.decodeJSON(r, resp.body, &dyn)
	}
	return nil
}

// refreshJWT exchanges the API key for a JWT sent in the same header.
func (c *core) refreshJWT(ctx context.Context) error {
	c.credMu.Lock()
	c.cred = c.opts.APIKey
	c.credMu.Unlock()
	var tok protocol.AuthTokenResponse
	if err := c.doJSON(ctx, http.MethodPost, protocol.PathAuthToken, nil, struct{}{}, &tok, true); err != nil {
		return err
	}
	if tok.JWT == "" {
		return &MalformedResponseError{Method: http.MethodPost, Path: protocol.PathAuthToken, Err: errors.New("empty jwt")}
	}
	exp := jwtExpiry(tok.JWT)
	c.credMu.Lock()
	c.cred, c.jwtExp = tok.JWT, exp
	c.secrets = append(c.secrets, tok.JWT)
	c.credMu.Unlock()
	return nil
}

// maybeRefreshJWT refreshes a JWT that expires within 5 minutes.
func (c *core) maybeRefreshJWT(ctx context.Context) error {
	c.credMu.Lock()
	exp := c.jwtExp
	c.credMu.Unlock()
	if exp.IsZero() || c.clock.Now().Add(5*time.Minute).Before(exp) {
		return nil
	}
	return c.refreshJWT(ctx)
}

func jwtExpiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		return time.Time{}
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(int64(claims.Exp), 0)
}
