package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

// Prefix is the path every admin route lives under.
const Prefix = "/admin/v1"

// maxBody bounds a request body: policies are the largest documents.
const maxBody = iam.MaxPolicySize + 4096

// ObjectLayer is what the admin API needs of the object layer;
// *storage.Store implements it.
type ObjectLayer interface {
	DriveStates(ctx context.Context) [][]storage.DriveState
	Ready(ctx context.Context) error
	ListBuckets(ctx context.Context) ([]storage.BucketInfo, error)
	BucketInfo(ctx context.Context, bucket string) (storage.BucketInfo, error)
	MakeBucket(ctx context.Context, bucket, location string) error
	UpdateBucketMetadata(ctx context.Context, bucket string, fn func(md map[string]string) error) (storage.BucketInfo, error)
	StartHeal(opts storage.HealOptions) error
	StopHeal()
	HealStatus() storage.HealStatus
}

// Config configures a Handler.
type Config struct {
	// IAM holds users, keys, policies and admin tokens. Required.
	IAM *iam.Store
	// Store is the object layer. Required.
	Store ObjectLayer
	// Audit is the audit log; nil disables the audit endpoints (503) and
	// the recording of admin requests.
	Audit *audit.Log
	// Recorder, when set, takes the records of requests instead of
	// Audit.Append: the server passes its *audit.Aggregator, which
	// counts the refusals of unauthenticated callers rather than
	// recording each.
	Recorder interface {
		Append(context.Context, audit.Entry) error
	}
	// RefuseChanges, if set, is asked before a change (any method but
	// GET) runs, after authentication: an error refuses it with 503
	// AuditUnavailable and Retry-After. The server sets it with
	// --audit-fail-closed, to refuse changes the audit log cannot record.
	// Changes that only take access away (disable or delete a user or
	// an access key, revoke a token) are not asked: refusing them would
	// keep a compromised credential working until the log resumes.
	// When the log cannot take their record, it goes to Logger.
	RefuseChanges func() error
	// Root returns the root credentials, which may mint tokens (HTTP
	// Basic, over TLS or loopback only). Required.
	Root func() (accessKey, secret string)
	// Keys manages KMS master keys and bucket keys; nil answers the KMS
	// endpoints with 503.
	Keys KeyManager
	// Usage counts bucket usage; nil leaves usage out of bucket
	// responses and answers the usage endpoint with 503.
	Usage UsageSource
	// KMSHealth reports the KMS backend's state for /cluster (the
	// server passes kms.Manager.Health); nil leaves it out, for a KMS
	// that cannot tell.
	KMSHealth func() kms.Health
	// Node names this server in /cluster; default the host name.
	Node string
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the admin API under Prefix. It is safe for concurrent
// use.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	routes []route
}

// caller is who made an admin request.
type caller struct {
	root  bool
	token iam.TokenInfo
}

func (c caller) identity() string {
	if c.root {
		return audit.Root
	}
	if c.token.ID != "" {
		return audit.AdminToken(c.token.ID)
	}
	return audit.Anonymous
}

// call is one admin request in flight.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	id     string
	who    caller
	status int
	code   string
	reason string
	// detail says what a change was about (its target and non-secret
	// parameters); audited in Reason after any refusal reason.
	detail string
	bucket string
	out    int64
}

// route is one endpoint: its method and pattern (net/http ServeMux
// syntax, below Prefix), the scopes any one of which lets a token in
// ("" scopes: root only; public: no authentication), the operation name
// audited as "admin:<Name>", and the function serving it.
type route struct {
	Method, Path string
	Name         string
	Scopes       []string
	Public       bool
	Query        []string // query parameters, for the OpenAPI document
	Summary      string
	// Revokes: the change only takes access away, so that it can
	// widen nobody's (a key, a user or a token stops working). Served
	// while RefuseChanges refuses the others.
	Revokes bool
	fn      func(*call) error
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.IAM == nil:
		return nil, errors.New("admin: Config.IAM is required")
	case cfg.Store == nil:
		return nil, errors.New("admin: Config.Store is required")
	case cfg.Root == nil:
		return nil, errors.New("admin: Config.Root is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.routes = h.table()
	for _, rt := range h.routes {
		h.mux.HandleFunc(rt.Method+" "+Prefix+rt.Path, h.wrap(rt))
	}
	return h, nil
}

// ServeHTTP serves one admin request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := h.mux.Handler(r)
	if pattern == "" {
		c := &call{w: w, r: r, ctx: r.Context(), id: newID()}
		code, status := "NotFound", http.StatusNotFound
		if h.pathKnown(r.URL.Path) {
			code, status = "MethodNotAllowed", http.StatusMethodNotAllowed
		}
		h.writeError(c, &Error{Status: status, Code: code, Message: "no admin endpoint " + r.Method + " " + r.URL.Path})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// pathKnown reports whether any method serves path.
func (h *Handler) pathKnown(path string) bool {
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		r, _ := http.NewRequest(m, path, nil)
		if r == nil {
			continue
		}
		if _, p := h.mux.Handler(r); p != "" {
			return true
		}
	}
	return false
}

// wrap authenticates, authorizes, serves and audits one route.
func (h *Handler) wrap(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, ctx: r.Context(), id: newID()}
		w.Header().Set("X-Request-Id", c.id)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		// Browser requests and the media type are checked before the
		// credentials so that a cross-site request never reaches
		// authentication at all.
		err := checkBrowser(c)
		if err == nil {
			err = checkContentType(c)
		}
		if err == nil {
			err = h.authenticate(c, rt)
		}
		if err == nil && !rt.Revokes {
			err = h.refuseChange(c)
		}
		if err == nil {
			err = rt.fn(c)
		}
		if err != nil {
			h.writeError(c, err)
		}
		if r.Method != http.MethodGet || c.status == http.StatusUnauthorized || c.status == http.StatusForbidden {
			h.record(c, rt)
		}
	}
}

// Require returns a handler that serves next to the callers the admin
// API would let into a route needing scope: a bearer token holding it,
// or the root credentials by HTTP Basic, either over TLS or from the
// loopback interface only (authenticate). A refusal is answered as on
// the admin API, with the JSON error (401 with WWW-Authenticate:
// Bearer; 403 for a token without the scope) and X-Request-Id, and is
// audited as "admin:<name>" the way the routes' refusals are (through
// Config.Recorder when set: the server's aggregator counts refusals of
// unauthenticated callers instead of recording each). What next serves
// is not audited, as GET routes are not. The server serves /metrics
// through it, with iam.ScopeMetricsRead.
func (h *Handler) Require(name, scope string, next http.Handler) http.Handler {
	rt := route{Name: name, Scopes: []string{scope}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, ctx: r.Context(), id: newID()}
		if err := h.authenticate(c, rt); err != nil {
			w.Header().Set("X-Request-Id", c.id)
			h.writeError(c, err)
			h.record(c, rt)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuseChange asks Config.RefuseChanges about a change.
func (h *Handler) refuseChange(c *call) error {
	if h.cfg.RefuseChanges == nil || c.r.Method == http.MethodGet {
		return nil
	}
	if err := h.cfg.RefuseChanges(); err != nil {
		c.reason = err.Error()
		c.w.Header().Set("Retry-After", "1")
		return &Error{Status: http.StatusServiceUnavailable, Code: "AuditUnavailable",
			Message: "the audit log cannot be written; changes are refused until it resumes"}
	}
	return nil
}

// checkContentType refuses a request body that is not declared as JSON
// (parameters such as charset allowed) with 415. Browsers send text/plain,
// form and multipart bodies cross-site without a CORS preflight, and with
// any Basic credentials they hold for the server; application/json needs
// a preflight, which this API never grants, so cross-site forms stop here.
func checkContentType(c *call) error {
	if c.r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		c.reason = "request body is not declared as application/json"
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType",
			Message: "request bodies must be JSON sent with Content-Type: application/json"}
	}
	return nil
}

// checkBrowser refuses requests a browser sent on behalf of a web page
// (an Origin header, or Sec-Fetch-Site naming another site than the
// user's own navigation): the admin API has no browser clients, and a
// page could otherwise make a browser holding credentials for the server
// (Basic ones it cached, say) send state-changing requests, bodiless ones
// included, which no Content-Type rule stops.
func checkBrowser(c *call) error {
	site := c.r.Header.Get("Sec-Fetch-Site")
	if c.r.Header.Get("Origin") != "" || (site != "" && site != "none") {
		c.reason = "browser request from a web page"
		return &Error{Status: http.StatusForbidden, Code: "Forbidden",
			Message: "the admin API does not serve requests from web pages"}
	}
	return nil
}

// secureTransport reports whether credentials on r crossed no network
// in clear: r came over TLS or from the loopback interface.
func secureTransport(r *http.Request) bool {
	return r.TLS != nil || loopback(r.RemoteAddr)
}

// authenticate checks the caller: a bearer token holding one of the
// route's scopes, or the root credentials by HTTP Basic, either over TLS
// or the loopback interface only.
func (h *Handler) authenticate(c *call, rt route) error {
	if rt.Public {
		return nil
	}
	authz := c.r.Header.Get("Authorization")
	if user, pass, ok := c.r.BasicAuth(); ok {
		if !secureTransport(c.r) {
			c.reason = "root credentials over plain HTTP from a remote address"
			return &Error{Status: http.StatusUnauthorized, Code: "InsecureTransport",
				Message: "root credentials are accepted over TLS or from the loopback interface only"}
		}
		ak, secret := h.cfg.Root()
		okUser := subtle.ConstantTimeCompare([]byte(user), []byte(ak))
		okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(secret))
		if okUser&okPass != 1 {
			c.reason = "wrong root credentials"
			return &Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: "invalid credentials"}
		}
		c.who = caller{root: true}
		return nil
	}
	// RFC 9110 section 11.1: the scheme is case-insensitive.
	scheme, token, _ := strings.Cut(authz, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		c.reason = "no credentials"
		return &Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: "an admin token (Authorization: Bearer) is required"}
	}
	info, err := h.cfg.IAM.CheckToken(token, "")
	// A genuine token is named in the audit record even when it is
	// refused (expired, revoked, or sent in clear), so that a query by
	// identity finds every use of a stolen or withdrawn token.
	if info.ID != "" {
		c.who = caller{token: info}
	}
	if !secureTransport(c.r) {
		c.reason = "admin token over plain HTTP from a remote address"
		return &Error{Status: http.StatusUnauthorized, Code: "InsecureTransport",
			Message: "admin tokens are accepted over TLS or from the loopback interface only"}
	}
	if err != nil {
		c.reason = err.Error()
		return err
	}
	if len(rt.Scopes) == 0 {
		c.reason = "endpoint reserved to the root credentials"
		return &Error{Status: http.StatusForbidden, Code: "Forbidden", Message: "only the root credentials may call this endpoint"}
	}
	for _, s := range rt.Scopes {
		if info.Has(s) {
			return nil
		}
	}
	c.reason = "token lacks scope " + strings.Join(rt.Scopes, " or ")
	return fmt.Errorf("admin: %w: needs %s", iam.ErrInsufficientScope, strings.Join(rt.Scopes, " or "))
}

// record appends the audit record of a request. It runs after the
// request was served: a failed Append is logged and the change stands.
func (h *Handler) record(c *call, rt route) {
	if h.cfg.Audit == nil {
		return
	}
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	// audit.Entry has no field of its own for what a change was about;
	// Reason, free text shown with the record, carries it.
	reason := c.reason
	switch {
	case reason == "":
		reason = c.detail
	case c.detail != "":
		reason += "; " + c.detail
	}
	e := audit.Entry{
		Identity:  c.who.identity(),
		Source:    hostOnly(c.r.RemoteAddr),
		Action:    "admin:" + rt.Name,
		Bucket:    c.bucket,
		Key:       c.r.URL.Path,
		Status:    status,
		Error:     c.code,
		RequestID: c.id,
		BytesIn:   max(c.r.ContentLength, 0),
		BytesOut:  c.out,
		Reason:    reason,
	}
	var err error
	if h.cfg.Recorder != nil {
		err = h.cfg.Recorder.Append(c.ctx, e)
	} else {
		_, err = h.cfg.Audit.Append(c.ctx, e)
	}
	switch {
	case err != nil && rt.Revokes:
		// Served whatever the log's state (Config.RefuseChanges): what
		// was done must be somewhere. The record's fields, no secrets.
		h.cfg.Logger.Error("admin: audit log did not take the record of a revocation; it is recorded here only",
			"request_id", c.id, "identity", e.Identity, "source", e.Source, "action", e.Action, "path", e.Key,
			"status", e.Status, "error", e.Error, "reason", e.Reason, "err", err)
	case err != nil:
		h.cfg.Logger.Error("admin: audit append failed", "request_id", c.id, "err", err)
	}
}

// Error is the admin API's error: the JSON body of every failed request
// and what Client returns for one.
type Error struct {
	// Status is the HTTP status.
	Status int `json:"-"`
	// Code is stable: clients match on it (see the OpenAPI document).
	Code string `json:"code"`
	// Message is for people.
	Message string `json:"message"`
	// RequestID identifies the request in logs and the audit log.
	RequestID string `json:"requestId"`
}

// Error renders e for people. A client gets Code and Message from the
// server, which could put terminal escapes in them: any that hold
// unprintable characters are shown quoted.
func (e *Error) Error() string {
	if e.RequestID != "" {
		return fmt.Sprintf("admin: %s: %s (request %s)", Printable(e.Code), Printable(e.Message), Printable(e.RequestID))
	}
	return fmt.Sprintf("admin: %s: %s", Printable(e.Code), Printable(e.Message))
}

// Printable returns s, or s quoted Go-style when it holds a character
// that is not printable (controls, escapes, invalid UTF-8) or starts
// with a quote (so that a quoted string is never mistaken for one that
// was not), so that text from the network cannot drive a terminal or
// fake a line. Text output of server-provided strings goes through it.
func Printable(s string) string {
	notPrint := func(r rune) bool { return !strconv.IsPrint(r) }
	if utf8.ValidString(s) && strings.IndexFunc(s, notPrint) < 0 && !strings.HasPrefix(s, `"`) {
		return s
	}
	return strconv.Quote(s)
}

// errorFor maps an error to the API error: the one table of codes.
func errorFor(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	e := func(status int, code string) *Error {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": iam: "); i >= 0 {
			msg = msg[i+2:]
		}
		return &Error{Status: status, Code: code, Message: msg}
	}
	switch {
	case errors.As(err, &mbe):
		return e(http.StatusRequestEntityTooLarge, "RequestTooLarge")
	case errors.Is(err, iam.ErrInvalidToken):
		return &Error{Status: 401, Code: "Unauthorized", Message: "invalid admin token"}
	case errors.Is(err, iam.ErrTokenExpired):
		return &Error{Status: 401, Code: "TokenExpired", Message: "the admin token has expired"}
	case errors.Is(err, iam.ErrTokenRevoked):
		return &Error{Status: 401, Code: "TokenRevoked", Message: "the admin token was revoked"}
	case errors.Is(err, iam.ErrInsufficientScope):
		return e(403, "Forbidden")
	case errors.Is(err, iam.ErrNoSuchUser):
		return e(404, "NoSuchUser")
	case errors.Is(err, iam.ErrNoSuchAccessKey):
		return e(404, "NoSuchAccessKey")
	case errors.Is(err, iam.ErrNoSuchPolicy):
		return e(404, "NoSuchPolicy")
	case errors.Is(err, iam.ErrNoSuchToken):
		return e(404, "NoSuchToken")
	case errors.Is(err, storage.ErrBucketNotFound):
		return e(404, "NoSuchBucket")
	case errors.Is(err, iam.ErrUserExists):
		return e(409, "UserExists")
	case errors.Is(err, iam.ErrAccessKeyExists):
		return e(409, "AccessKeyExists")
	case errors.Is(err, storage.ErrBucketExists):
		return e(409, "BucketExists")
	case errors.Is(err, iam.ErrPolicyInUse):
		return e(409, "PolicyInUse")
	case errors.Is(err, iam.ErrBuiltinPolicy):
		return e(409, "BuiltinPolicy")
	case errors.Is(err, storage.ErrHealRunning):
		return e(409, "HealRunning")
	case errors.Is(err, iam.ErrMalformedPolicy):
		return e(400, "MalformedPolicy")
	case errors.Is(err, iam.ErrInvalidName):
		return e(400, "InvalidName")
	case errors.Is(err, iam.ErrInvalidScope):
		return e(400, "InvalidScope")
	case errors.Is(err, iam.ErrInvalidExpiry):
		return e(400, "InvalidExpiry")
	case errors.Is(err, iam.ErrInvalidSecret):
		return e(400, "InvalidSecret")
	case errors.Is(err, storage.ErrNoSuchPlacement), errors.Is(err, storage.ErrInvalidArgument):
		return e(400, "InvalidRequest")
	case errors.Is(err, storage.ErrWriteQuorum), errors.Is(err, storage.ErrReadQuorum):
		return e(503, "Unavailable")
	case errors.Is(err, kms.ErrKeyDisabled):
		return e(409, "KeyDisabled")
	case errors.Is(err, kms.ErrBackend):
		// The KMS unreachable or failing: worth a retry, not a bug.
		return e(503, "KMSUnavailable")
	}
	return &Error{Status: 500, Code: "InternalError", Message: "internal error; see the server log"}
}

// badRequest is an InvalidRequest error with a message.
func badRequest(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: fmt.Sprintf(format, args...)}
}

// writeError sends err as the JSON error body.
func (h *Handler) writeError(c *call, err error) {
	ae := *errorFor(err)
	ae.RequestID = c.id
	if ae.Status >= 500 {
		h.cfg.Logger.Error("admin: request failed", "request_id", c.id, "method", c.r.Method, "path", c.r.URL.Path, "err", err)
	}
	c.code = ae.Code
	if c.reason == "" && (ae.Status == 401 || ae.Status == 403) {
		c.reason = ae.Message
	}
	if ae.Status == http.StatusUnauthorized {
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="objstore-admin"`)
	}
	_ = c.writeJSON(ae.Status, ae)
}

// writeJSON sends v with status.
func (c *call) writeJSON(status int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("admin: encode response: %w", err)
	}
	b = append(b, '\n')
	c.w.Header().Set("Content-Type", "application/json")
	c.status = status
	c.w.WriteHeader(status)
	n, _ := c.w.Write(b)
	c.out += int64(n)
	return nil
}

// decode reads a JSON request body into v, strictly.
func (c *call) decode(v any) error {
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("request body: trailing data after the JSON document")
	}
	return nil
}

// loopback reports whether a remote address is on the loopback
// interface.
func loopback(addr string) bool {
	ip := net.ParseIP(hostOnly(addr))
	return ip != nil && ip.IsLoopback()
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// newID returns a 16-hex-digit request id.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
