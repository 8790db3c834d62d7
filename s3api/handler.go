package s3api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/s3api/sigv2"
	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// ObjectLayer is the part of the object layer (*storage.Store) that the
// S3 API calls. Implementations must be safe for concurrent use.
type ObjectLayer interface {
	MakeBucket(ctx context.Context, bucket, location string) error
	BucketInfo(ctx context.Context, bucket string) (storage.BucketInfo, error)
	ListBuckets(ctx context.Context) ([]storage.BucketInfo, error)
	DeleteBucket(ctx context.Context, bucket string) error

	PutObject(ctx context.Context, bucket, key string, body io.Reader, opts storage.PutOptions) (storage.ObjectInfo, error)
	OpenObject(ctx context.Context, bucket, key string, opts storage.GetOptions) (storage.ObjectReader, error)
	ObjectInfo(ctx context.Context, bucket, key string, opts storage.GetOptions) (storage.ObjectInfo, error)
	DeleteObject(ctx context.Context, bucket, key string, opts storage.DeleteOptions) error
	UpdateMetadata(ctx context.Context, bucket, key, versionID string, md map[string]string, precondition func(*storage.ObjectInfo) error) (storage.ObjectInfo, error)
	ListObjects(ctx context.Context, bucket string, opts storage.ListOptions) (storage.ListResult, error)

	NewMultipartUpload(ctx context.Context, bucket, key string, md map[string]string) (uploadID string, err error)
	PutObjectPart(ctx context.Context, bucket, key, uploadID string, partNumber int, body io.Reader, opts storage.PutOptions) (storage.PartInfo, error)
	ListParts(ctx context.Context, bucket, key, uploadID string, partNumberMarker, maxParts int) (storage.ListPartsResult, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []storage.CompletePart, opts storage.CompleteOptions) (storage.ObjectInfo, error)
	CompletedUpload(ctx context.Context, bucket, key, uploadID string, parts []storage.CompletePart) (storage.ObjectInfo, error)
	ListMultipartUploads(ctx context.Context, bucket string, opts storage.ListUploadsOptions) (storage.ListUploadsResult, error)
}

// Config configures a Handler.
type Config struct {
	// Store is the object layer. Required.
	Store ObjectLayer
	// Credentials returns the secret key of a root access key. Required.
	// Requests signed with these are root: allowed everything, and
	// reported as root to OnRequest.
	Credentials func(accessKey string) (secret string, ok bool)
	// Identities resolves IAM users' access keys, checked after the root
	// credentials; nil: only root signs requests.
	Identities Identities
	// Authorizer decides every non-root request (see authorize); nil is
	// an engine without users, where only bucket policies grant anything
	// (to anonymous requests).
	Authorizer Authorizer
	// OnRequest, if set, is called once per finished request, after the
	// response; the server feeds metrics and the audit log from it. It
	// must not block for long.
	OnRequest func(Event)
	// Region is the server's region, as the operator named it (see
	// ValidRegion). Empty, the default, names none: buckets created
	// without a LocationConstraint report "us-east-1" (GetBucketLocation,
	// x-amz-bucket-region), and a SigV4 credential scope may name any
	// region, as MinIO accepts any when none is configured. Set, those
	// buckets report it, and it is enforced as AWS enforces an
	// endpoint's region: a SigV4 request (header, presigned URL, POST
	// form) signed for another region is refused (400
	// AuthorizationHeaderMalformed, AuthorizationQueryParametersError or
	// InvalidArgument, with the expected region in the Error document's
	// Region element and in x-amz-bucket-region, from which clients
	// retry), and CreateBucket naming another LocationConstraint is 400
	// IllegalLocationConstraintException. SigV2 requests name no region
	// and are not affected.
	Region string
	// Domain, if set, enables virtual-host style requests:
	// <bucket>.<Domain>. Path style always works.
	Domain string
	// Logger receives one line per request. Default: discard.
	Logger *slog.Logger
	// Now is the clock for signature checks. Default time.Now.
	Now func() time.Time
	// Keys encrypts every object at rest (SSE-S3 by default, SSE-KMS,
	// SSE-C). The server always sets it; nil stores plaintext and refuses
	// SSE headers, for tests of other features only.
	Keys *encryption.Keys
	// InsecureSSEC accepts SSE-C keys over plain HTTP (development only;
	// AWS refuses them).
	InsecureSSEC bool
	// DisableSigV2 refuses Signature Version 2 requests (HMAC-SHA1, no
	// body signing; see package sigv2 for its limits) with
	// InvalidRequest, for deployments whose clients all speak SigV4.
	DisableSigV2 bool
	// StallTimeout is how long a request may wait on its client: for
	// the next bytes of the request body, or for room to write the
	// response, before it fails (RequestTimeout) and its connection
	// closes, so that clients who stop sending or reading cannot hold
	// connections and goroutines for ever. Default 30 s (AWS gives up
	// after about 20 s); negative: never.
	StallTimeout time.Duration
	// SmallBodyTimeout bounds the whole read of a small request body:
	// the XML document of DeleteObjects, CreateBucket,
	// CompleteMultipartUpload, PutBucketPolicy or PutBucketEncryption
	// (read in an admission slot), and a browser form's fields before
	// its file (read before any signature is checked). StallTimeout
	// bounds each read only, so a client sending a byte now and then
	// held such a request, and its slot, for ever. The bound is
	// SmallBodyTimeout plus one second per 16 KiB received
	// (minSmallBodyRate): a body that falls behind that fails with
	// RequestTimeout, while a steady client on a slow link (a 4 MiB
	// CompleteMultipartUpload at 128 kbit/s) is never cut off.
	// Object bodies (PUT, UploadPart, a form's file) have no total
	// bound: their time grows with their size. Default 30 s; negative:
	// none.
	SmallBodyTimeout time.Duration
	// MaxRequests bounds the requests that run their operation at once
	// (after authentication); more wait up to RequestWait for a slot,
	// then answer 503 SlowDown. 0: no bound.
	MaxRequests int
	// RequestWait is how long a request waits for a slot under
	// MaxRequests. Default 10 s.
	RequestWait time.Duration
	// RefuseChanges, if set, is asked before a state-changing request
	// (PUT, POST, DELETE, as Event.Mutating) runs its operation, after
	// authorization: an error refuses it with 503 ServiceUnavailable
	// and Retry-After, the operation not run. The server sets it with
	// --audit-fail-closed, to refuse changes the audit log cannot record.
	RefuseChanges func() error
	// Account names the one account that owns every bucket and object
	// (the server passes its cluster's id); responses report it as the
	// Owner ID, the same to every caller, as AWS reports the owning
	// account. Default "".
	Account string
}

// defaultRequestWait is Config.RequestWait's default: long enough to
// ride out a burst, short enough that a client retries elsewhere (or
// later) before its own timeout.
const defaultRequestWait = 10 * time.Second

// defaultStallTimeout is Config.StallTimeout's default.
const defaultStallTimeout = 30 * time.Second

// defaultSmallBodyTimeout is Config.SmallBodyTimeout's default: the
// time a small body gets before what it has sent counts, as long as
// StallTimeout, so that a client that connects and pauses is not cut
// off where it would not be between two reads.
const defaultSmallBodyTimeout = 30 * time.Second

// minSmallBodyRate is the slowest a small body may arrive, in bytes a
// second, once SmallBodyTimeout is spent: each byte received extends
// the bound by 1/minSmallBodyRate of a second. A fixed total cut off
// every steady client slower than size/SmallBodyTimeout (a 10,000-part
// CompleteMultipartUpload with checksums, about 1.6 MB, below
// 430 kbit/s), on every retry, and its whole upload was lost; 16 KiB/s
// (128 kbit/s) is below any link that uploads parts, and holds a slot
// at most SmallBodyTimeout + 256 s for the largest body (4 MiB), while
// a client trickling a byte now and then still fails after about
// SmallBodyTimeout.
const minSmallBodyRate = 16 << 10

// maxClockSkew is how far a signed request's time may be from Now, as
// in AWS.
const maxClockSkew = 15 * time.Minute

// Handler serves the S3 API. It implements http.Handler and is safe for
// concurrent use.
type Handler struct {
	store    ObjectLayer
	region   string
	domain   string
	log      *slog.Logger
	verifier *sigv4.Verifier
	ops      map[string]func(*request) error

	keys         *encryption.Keys
	insecureSSEC bool
	noSigV2      bool

	rootSecret func(accessKey string) (string, bool)
	identities Identities
	authz      Authorizer
	onRequest  func(Event)
	refuse     func() error  // Config.RefuseChanges
	stall      time.Duration // Config.StallTimeout; 0: none
	smallBody  time.Duration // Config.SmallBodyTimeout; 0: none
	policies   policyCache
	bodyBlocks bodyBlocks // blocks for hashing large PUT bodies (object.go)
	listBufs   sync.Pool  // *[]byte listing documents, reused (list.go)
	admit      *admission // Config.MaxRequests; nil: unbounded
	owner      owner      // Config.Account's Owner element
	accountID  string     // Config.Account's 12-digit id, in user ARNs
}

// New checks cfg, fills in its defaults and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("s3api: Config.Store is required")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("s3api: Config.Credentials is required")
	}
	named := cfg.Region
	if named != "" && !ValidRegion(named) {
		return nil, fmt.Errorf("s3api: Config.Region %q: %s", named, regionRule)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.StallTimeout == 0:
		cfg.StallTimeout = defaultStallTimeout
	case cfg.StallTimeout < 0:
		cfg.StallTimeout = 0
	}
	switch {
	case cfg.SmallBodyTimeout == 0:
		cfg.SmallBodyTimeout = defaultSmallBodyTimeout
	case cfg.SmallBodyTimeout < 0:
		cfg.SmallBodyTimeout = 0
	}
	if cfg.RequestWait <= 0 {
		cfg.RequestWait = defaultRequestWait
	}
	domain := strings.Trim(strings.ToLower(cfg.Domain), ".")
	h := &Handler{
		store:      cfg.Store,
		region:     cfg.Region,
		domain:     domain,
		log:        cfg.Logger,
		rootSecret: cfg.Credentials,
		identities: cfg.Identities,
		authz:      cfg.Authorizer,
		onRequest:  cfg.OnRequest,
		refuse:     cfg.RefuseChanges,
		stall:      cfg.StallTimeout,
		smallBody:  cfg.SmallBodyTimeout,
		admit:      newAdmission(cfg.MaxRequests, cfg.RequestWait),
		owner:      accountOwner(cfg.Account),
		accountID:  accountID(cfg.Account),
	}
	h.keys, h.insecureSSEC = cfg.Keys, cfg.InsecureSSEC
	h.noSigV2 = cfg.DisableSigV2
	if h.authz == nil {
		h.authz = iam.NewEngine(nil, iam.EngineOptions{Now: cfg.Now})
	}
	h.verifier = &sigv4.Verifier{
		Secret:  h.secret,
		Now:     cfg.Now,
		MaxSkew: maxClockSkew,
		// S3 requires it on header-signed requests (other AWS services
		// read its absence as an empty payload).
		RequireContentSHA256: true,
		// Only a region the operator named is enforced.
		Region: named,
	}
	h.ops = map[string]func(*request) error{
		"ListBuckets":             h.listBuckets,
		"CreateBucket":            h.createBucket,
		"HeadBucket":              h.headBucket,
		"DeleteBucket":            h.deleteBucket,
		"GetBucketLocation":       h.getBucketLocation,
		"GetBucketVersioning":     h.getBucketVersioning,
		"ListObjects":             h.listObjectsV1,
		"ListObjectsV2":           h.listObjectsV2,
		"ListObjectVersions":      h.listObjectVersions,
		"ListMultipartUploads":    h.listMultipartUploads,
		"DeleteObjects":           h.deleteObjects,
		"PutObject":               h.putObject,
		"CopyObject":              h.copyObject,
		"GetObject":               h.getObject,
		"HeadObject":              h.getObject,
		"DeleteObject":            h.deleteObject,
		"CreateMultipartUpload":   h.createMultipartUpload,
		"UploadPart":              h.uploadPart,
		"UploadPartCopy":          h.uploadPartCopy,
		"CompleteMultipartUpload": h.completeMultipartUpload,
		"AbortMultipartUpload":    h.abortMultipartUpload,
		"ListParts":               h.listParts,
		"GetObjectAttributes":     h.getObjectAttributes,
		"PostObject":              h.postObject,
	}
	h.registerPolicyOps()
	h.registerEncryptionOps()
	return h, nil
}

// request is the state of one request as handlers see it.
type request struct {
	w      *responseWriter
	r      *http.Request
	ctx    context.Context
	id     string
	op     string
	bucket string
	key    string
	query  url.Values
	auth   *sigv4.Auth
	body   *sigv4.Body

	identity   Identity
	formSigned bool // a browser form's signature verified (identity is its signer)
	in         *countingBody
	smallBody  time.Duration // Config.SmallBodyTimeout; 0: none
	conds      map[string][]string
	listAll    bool // ListBuckets: s3:ListAllMyBuckets allowed
	denied     bool
	denyReason string
}

// ServeHTTP authenticates, routes and serves one S3 request, and logs
// one line about it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &responseWriter{ResponseWriter: w, stall: h.stall}
	if h.stall > 0 {
		// (net/http clears a connection's write deadline after each
		// request, so none is left for net/http's own 100 Continue.)
		rw.rc = http.NewResponseController(w)
	}
	if r.ContentLength == 0 && r.ProtoAtLeast(1, 1) && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		// net/http sends 100 Continue only when a non-empty body is
		// first read, so an empty PUT that asked for one would get just
		// the final response. botocore (aws cli, boto3) then keeps that
		// early status on the kept-alive connection and misreads the
		// next response on it, waiting 60 s for a read timeout. AWS
		// always answers the expectation; so do we, before anything
		// else is written.
		w.WriteHeader(http.StatusContinue)
	}
	rq := &request{w: rw, r: r, ctx: r.Context(), id: newRequestID(), op: "Unknown", smallBody: h.smallBody}
	rw.beforeHeader = rq.boundBodyDrain
	rw.Header().Set("x-amz-request-id", rq.id)
	rw.Header().Set("x-amz-id-2", newHostID())
	rw.Header().Set("Server", "objstore")

	var failure error
	defer func() {
		if p := recover(); p != nil {
			// Last resort: a bug, not bad input, got us here. Log it with
			// the stack and answer 500 if nothing was sent yet.
			failure = fmt.Errorf("s3api: panic: %v", p)
			h.log.LogAttrs(rq.ctx, slog.LevelError, "s3api: panic serving request",
				slog.String("request_id", rq.id), slog.String("op", rq.op),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			h.writeError(rq, failure)
		}
		rw.refreshDeadline() // for net/http's flush of what is buffered
		h.logRequest(rq, start, failure)
		if h.onRequest != nil {
			h.onRequest(h.event(rq, start, failure))
		}
	}()

	failure = h.serve(rq)
	if failure != nil {
		if rq.in != nil && rq.in.fault != nil {
			// The client sent less than it declared, or stalled: what
			// storage made of the cut-off body (a failed erasure read,
			// a write quorum lost to the cancelled request) is not the
			// cause, and a 5xx would invite a retry of the same.
			failure = fmt.Errorf("%w (%v)", rq.in.fault, failure)
		}
		h.writeError(rq, failure)
	}
}

// serve resolves the resource and the operation, authenticates and runs
// the operation. Authentication comes before reporting routing errors so
// that anonymous requests learn nothing but AccessDenied.
func (h *Handler) serve(rq *request) error {
	r := rq.r
	// A SigV2 presigned URL may carry signed headers in its query; they
	// act as headers, so they must be headers before routing
	// (x-amz-copy-source picks the operation) and before anything reads
	// them.
	if !h.noSigV2 { // else authenticate refuses SigV2 requests
		if err := sigv2.PromoteQueryHeaders(r); err != nil {
			return fmt.Errorf("s3api: authenticate: %w", v2Error(err))
		}
	}
	// A query url.ParseQuery refuses (a raw ';', a bad escape) is
	// refused whole: it drops such parts, while the signature verifiers
	// keep them, so the operation could differ from the one signed.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return withMessage(errInvalidArgument, "The query string is malformed.")
	}
	rq.query = q
	bucket, key, routeErr := parseResource(h.domain, r.Host, r.URL.Path)
	rq.bucket, rq.key = bucket, key
	op, opErr := selectOp(r.Method, bucket, key, rq.query, r.Header)
	if op != "" {
		rq.op = op
	}

	if op == "PostObject" && routeErr == nil && opErr == nil {
		// A browser upload is not a signed request: the form carries
		// a signed policy, which postObject verifies before it reads
		// any of the file (and only then waits for a slot).
		return h.postObject(rq)
	}
	if err := h.authenticate(rq); err != nil {
		return err
	}
	anonymous := rq.auth == nil
	if routeErr != nil {
		if anonymous {
			return h.deny(rq, "anonymous request for an invalid resource")
		}
		return routeErr
	}
	if opErr != nil {
		if anonymous {
			return h.deny(rq, "anonymous request for an unknown operation")
		}
		return opErr
	}
	fn := h.ops[op]
	if fn == nil {
		return fmt.Errorf("%w: operation %s", errNotImplemented, op)
	}
	if err := h.authorize(rq); err != nil {
		return err
	}
	if err := checkSSEHeadersFor(op, r.Header); err != nil {
		return err
	}
	return h.admitted(rq, fn)
}

// admitted runs fn once the request holds an admission slot. Requests
// are admitted after authentication, so that unsigned junk cannot take
// the slots of real clients (postObject takes its slot itself, once its
// form's policy is verified).
func (h *Handler) admitted(rq *request, fn func(*request) error) error {
	if err := h.refuseChange(rq); err != nil {
		return err
	}
	leave, err := h.admit.enter(rq.ctx, rq.principal())
	if err != nil {
		return err
	}
	defer leave()
	return fn(rq)
}

// refuseChange asks Config.RefuseChanges about a state-changing
// request.
func (h *Handler) refuseChange(rq *request) error {
	if h.refuse == nil || !(Event{Method: rq.r.Method}).Mutating() {
		return nil
	}
	if err := h.refuse(); err != nil {
		return fmt.Errorf("%w: %w", errChangesRefused, err)
	}
	return nil
}

// parseResource finds the bucket and key a request addresses, from the
// Host header for virtual-host style (<bucket>.<domain>) and from the
// decoded path otherwise. A returned key is always valid (checkObjectKey)
// and a returned bucket a valid name.
func parseResource(domain, host, path string) (bucket, key string, err error) {
	if !strings.HasPrefix(path, "/") {
		return "", "", fmt.Errorf("%w: path %q", errInvalidURI, path)
	}
	rest := path[1:]
	if vb := hostBucket(domain, host); vb != "" {
		bucket, key = vb, rest
	} else {
		bucket, key, _ = strings.Cut(rest, "/")
	}
	if bucket == "" {
		if key != "" {
			return "", "", fmt.Errorf("%w: empty bucket name", errInvalidBucketName)
		}
		return "", "", nil
	}
	if !validBucketName(bucket) {
		return "", "", fmt.Errorf("%w: %q", errInvalidBucketName, bucket)
	}
	if key != "" {
		if err := checkObjectKey(key); err != nil {
			return bucket, "", err
		}
	}
	return bucket, key, nil
}

// hostBucket returns the bucket of a virtual-host style Host header, or
// "" when host is not a subdomain of domain.
func hostBucket(domain, host string) string {
	if domain == "" || host == "" {
		return ""
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if !strings.HasSuffix(host, "."+domain) {
		return ""
	}
	return host[:len(host)-len(domain)-1]
}

// unsupportedSubresource names the first sub-resource in q that this
// server does not implement, "" if none. A request naming one must get
// NotImplemented, never be served as the plain operation.
func unsupportedSubresource(q url.Values) string {
	for _, s := range [...]string{
		"acl", "cors", "lifecycle", "tagging", "website",
		"logging", "notification", "replication", "object-lock",
		"retention", "legal-hold", "requestPayment", "accelerate", "analytics",
		"inventory", "metrics", "intelligent-tiering", "ownershipControls",
		"publicAccessBlock", "torrent", "restore", "select",
		"session", "metadataTable", "renameObject", "abac",
	} {
		if _, ok := q[s]; ok {
			return s
		}
	}
	return ""
}

// selectOp names the S3 operation of a request, and refuses a request
// whose query names something that operation does not take.
func selectOp(method, bucket, key string, q url.Values, h http.Header) (string, error) {
	op, err := routeOp(method, bucket, key, q, h)
	if err != nil {
		return "", err
	}
	if err := checkParams(method, op, q); err != nil {
		return "", err
	}
	return op, nil
}

// opParams lists the query parameters each operation takes, beside
// those of every request (requestParam). routeOp picks an operation by
// the sub-resources it knows and falls back to the plain one
// (ListObjects, DeleteBucket, PutObject...), so a sub-resource it does
// not know would otherwise be served as that: before this check, AWS's
// DELETE /<bucket>?metadataConfiguration deleted the bucket.
var opParams = map[string][]string{
	"ListBuckets":             {"max-buckets", "continuation-token", "prefix", "bucket-region"},
	"ListObjects":             {"prefix", "delimiter", "marker", "max-keys", "encoding-type", "list-type"},
	"ListObjectsV2":           {"prefix", "delimiter", "max-keys", "encoding-type", "list-type", "continuation-token", "fetch-owner", "start-after", "metadata"},
	"ListObjectVersions":      {"versions", "prefix", "delimiter", "key-marker", "version-id-marker", "max-keys", "encoding-type"},
	"ListMultipartUploads":    {"uploads", "prefix", "delimiter", "key-marker", "upload-id-marker", "max-uploads", "encoding-type"},
	"GetBucketLocation":       {"location"},
	"GetBucketVersioning":     {"versioning"},
	"DeleteObjects":           {"delete"},
	"GetBucketPolicy":         {"policy"},
	"PutBucketPolicy":         {"policy"},
	"DeleteBucketPolicy":      {"policy"},
	"GetBucketPolicyStatus":   {"policyStatus"},
	"GetBucketEncryption":     {"encryption"},
	"PutBucketEncryption":     {"encryption"},
	"DeleteBucketEncryption":  {"encryption"},
	"GetObject":               readParams(),
	"HeadObject":              readParams(),
	"GetObjectAttributes":     {"attributes", "versionId"},
	"ListParts":               {"uploadId", "max-parts", "part-number-marker", "encoding-type"},
	"UploadPart":              {"uploadId", "partNumber"},
	"UploadPartCopy":          {"uploadId", "partNumber"},
	"CreateMultipartUpload":   {"uploads"},
	"CompleteMultipartUpload": {"uploadId"},
	"AbortMultipartUpload":    {"uploadId"},
	"DeleteObject":            {"versionId"},
}

// readParams are the parameters of GetObject and HeadObject: a version,
// a part, and the response-* overrides of contentHeaders.
func readParams() []string {
	ps := []string{"versionId", "partNumber"}
	for _, ch := range contentHeaders {
		ps = append(ps, ch.override)
	}
	return ps
}

// servedSubresources are the sub-resources some operation serves: one
// named with a method that has no operation for it is MethodNotAllowed
// rather than NotImplemented.
var servedSubresources = map[string]bool{
	"location": true, "versioning": true, "uploads": true, "versions": true,
	"delete": true, "policy": true, "policyStatus": true, "encryption": true,
	"attributes": true, "uploadId": true, "partNumber": true,
}

// requestParam reports whether name is a query parameter any request
// may carry: presigned-URL authentication (SigV4, SigV2), headers a
// presigner moved into the query (x-amz-*), and the SDKs' x-id hint.
func requestParam(name string) bool {
	switch name {
	case "AWSAccessKeyId", "Signature", "Expires", "x-id":
		return true
	}
	return len(name) > 6 && strings.EqualFold(name[:6], "x-amz-")
}

// checkParams refuses a query parameter op does not take. On GET and
// HEAD only a parameter without a value counts (a sub-resource, such as
// ?metadataConfiguration); one with a value is ignored there, as
// clients send extensions (minio-go's unsorted=true) that change
// nothing. Other methods change state, so nothing unknown passes.
func checkParams(method, op string, q url.Values) error {
	readOnly := method == http.MethodGet || method == http.MethodHead
	for _, name := range slices.Sorted(maps.Keys(q)) { // the same answer for the same request
		vs := q[name]
		if name == "" || requestParam(name) || slices.Contains(opParams[op], name) {
			continue
		}
		if readOnly && slices.ContainsFunc(vs, func(v string) bool { return v != "" }) {
			continue
		}
		if servedSubresources[name] {
			return fmt.Errorf("%w: %s with sub-resource %q", errMethodNotAllowed, method, name)
		}
		return fmt.Errorf("%w: query parameter %q on %s", errNotImplemented, name, op)
	}
	return nil
}

// routeOp names the S3 operation of a request by its method, target
// and the sub-resources it knows.
func routeOp(method, bucket, key string, q url.Values, h http.Header) (string, error) {
	has := func(k string) bool { _, ok := q[k]; return ok }
	if sub := unsupportedSubresource(q); sub != "" {
		return "", fmt.Errorf("%w: sub-resource %q", errNotImplemented, sub)
	}
	notAllowed := fmt.Errorf("%w: %s", errMethodNotAllowed, method)
	if has("policy") || has("policyStatus") {
		return bucketPolicyOp(method, bucket, key, has("policyStatus"))
	}
	if has("encryption") {
		return bucketEncryptionOp(method, bucket, key)
	}
	if has("attributes") {
		if method != http.MethodGet || key == "" {
			// Only GET of an object has attributes; anything else must
			// not be served as the plain operation.
			return "", fmt.Errorf("%w: sub-resource %q", errNotImplemented, "attributes")
		}
		return "GetObjectAttributes", nil
	}
	switch {
	case bucket == "":
		if method == http.MethodGet {
			return "ListBuckets", nil
		}
		return "", notAllowed
	case key == "":
		switch method {
		case http.MethodGet:
			switch {
			case has("location"):
				return "GetBucketLocation", nil
			case has("versioning"):
				return "GetBucketVersioning", nil
			case has("uploads"):
				return "ListMultipartUploads", nil
			case has("versions"):
				return "ListObjectVersions", nil
			case q.Get("list-type") == "2":
				return "ListObjectsV2", nil
			}
			return "ListObjects", nil
		case http.MethodHead:
			return "HeadBucket", nil
		case http.MethodPut:
			if has("versioning") || has("location") {
				return "", fmt.Errorf("%w: PutBucketVersioning", errNotImplemented)
			}
			return "CreateBucket", nil
		case http.MethodDelete:
			return "DeleteBucket", nil
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects", nil
			}
			return "PostObject", nil
		}
		return "", notAllowed
	}
	copySource := h.Get("x-amz-copy-source") != ""
	switch method {
	case http.MethodGet:
		if has("uploadId") {
			return "ListParts", nil
		}
		return "GetObject", nil
	case http.MethodHead:
		return "HeadObject", nil
	case http.MethodPut:
		if has("uploadId") || has("partNumber") {
			if copySource {
				return "UploadPartCopy", nil
			}
			return "UploadPart", nil
		}
		if copySource {
			return "CopyObject", nil
		}
		return "PutObject", nil
	case http.MethodPost:
		if has("uploads") {
			return "CreateMultipartUpload", nil
		}
		if has("uploadId") {
			return "CompleteMultipartUpload", nil
		}
		return "", notAllowed
	case http.MethodDelete:
		if has("uploadId") {
			return "AbortMultipartUpload", nil
		}
		return "DeleteObject", nil
	}
	return "", notAllowed
}

// payload returns the verified request body (signature, aws-chunked
// decoding, trailers), created once per request.
func (rq *request) payload() (*sigv4.Body, error) {
	if rq.body != nil {
		return rq.body, nil
	}
	b, err := rq.auth.Body(rq.countedRequest())
	if err != nil {
		return nil, fmt.Errorf("s3api: request body: %w", err)
	}
	rq.body = b
	return b, nil
}

// declaredSize is the decoded length of the body: Content-Length, or
// x-amz-decoded-content-length for aws-chunked bodies.
func (rq *request) declaredSize(body *sigv4.Body) (int64, error) {
	if rq.r.ContentLength == 0 && rq.r.ProtoMajor == 1 && len(rq.r.TransferEncoding) == 0 &&
		rq.r.Header.Get("Content-Length") == "" {
		// HTTP/1 reads a request with neither header as empty; a client
		// that forgot the length would store an empty object it never
		// meant to. AWS answers 411.
		return 0, errMissingContentLength
	}
	if n := body.DecodedLength(); n >= 0 {
		return n, nil
	}
	if v := rq.r.Header.Get("x-amz-decoded-content-length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, withMessage(errInvalidArgument, "Invalid x-amz-decoded-content-length.")
		}
		return n, nil
	}
	if !isAWSChunked(rq.r) && rq.r.ContentLength >= 0 {
		return rq.r.ContentLength, nil
	}
	return 0, errMissingContentLength
}

func isAWSChunked(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-") ||
		strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "aws-chunked")
}

// readBody reads a small request body (an XML document) of at most limit
// bytes, within SmallBodyTimeout.
func (rq *request) readBody(limit int64) ([]byte, error) {
	body, err := rq.payload()
	if err != nil {
		return nil, err
	}
	defer rq.in.within(rq.smallBody, limit)()
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("s3api: read request body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errMaxMessageLength, limit)
	}
	return b, nil
}

// decodeXML parses a request body into v.
func decodeXML(b []byte, v any) error {
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", errMalformedXML, err)
	}
	return nil
}

// accountOwner is the Owner element of everything the account holds.
// The ID is derived from the account's name (a cluster id says nothing
// secret, but it need not be shown either) and is the same for every
// caller, root or IAM user, and across changes of credentials: before, it
// was derived from the caller's access key, so two users saw two owners
// of one bucket. There is no DisplayName: AWS stopped returning it on
// 21 November 2025.
func accountOwner(account string) owner {
	sum := sha256.Sum256([]byte("objstore-owner:" + account))
	return owner{ID: hex.EncodeToString(sum[:])}
}

// accountID is the 12-digit account id in the ARNs of the account's IAM
// users (the Initiator of an upload a user started), derived from the
// account's name as the Owner ID is: the same across restarts and
// changes of credentials, and an account id bucket policies accept, so
// that such an ARN copied into a policy names the user.
func accountID(account string) string {
	sum := sha256.Sum256([]byte("objstore-account-id:" + account))
	return fmt.Sprintf("%012d", binary.BigEndian.Uint64(sum[:8])%1_000_000_000_000)
}

// --- Responses ------------------------------------------------------------

// marshalXML renders a response document with its XML declaration.
func marshalXML(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("s3api: encode response: %w", err)
	}
	return buf.Bytes(), nil
}

// writeXML sends v as an XML body with status.
func (rq *request) writeXML(status int, v any) error {
	b, err := marshalXML(v)
	if err != nil {
		return err
	}
	h := rq.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	rq.w.WriteHeader(status)
	if rq.r.Method != http.MethodHead {
		_, _ = rq.w.Write(b) // a failed write means the client left
	}
	return nil
}

// writeEmpty sends a response without a body.
func (rq *request) writeEmpty(status int) error {
	if status != http.StatusNoContent && status != http.StatusNotModified {
		rq.w.Header().Set("Content-Length", "0")
	}
	rq.w.WriteHeader(status)
	return nil
}

// keptOnError are the response headers an error response keeps.
func keptOnError(k string) bool {
	switch k {
	case "X-Amz-Request-Id", "X-Amz-Id-2", "Server":
		return true
	}
	return false
}

// writeError is the single writer of error responses: it maps err
// through the table, logs what the table does not know, and renders the
// Error document (no body for HEAD and 304).
func (h *Handler) writeError(rq *request, err error) {
	ae, known := apiErrorFor(err)
	if !known {
		ae = errInternal
	}
	if rq.w.wrote {
		// Headers are gone; the short body makes the client see the
		// failure (Content-Length is not met and the connection closes).
		return
	}
	hdr := rq.w.Header()
	for k := range hdr {
		if !keptOnError(k) {
			delete(hdr, k)
		}
	}
	var re *rangeError
	if errors.As(err, &re) {
		hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", re.size))
	}
	var nm *notModifiedError
	if errors.As(err, &nm) {
		hdr.Set("ETag", nm.etag)
		hdr.Set("Last-Modified", nm.lastModified)
		if nm.cacheControl != "" {
			hdr.Set("Cache-Control", nm.cacheControl)
		}
		if nm.expires != "" {
			hdr.Set("Expires", nm.expires)
		}
	}
	if ae.Status == http.StatusServiceUnavailable {
		hdr.Set("Retry-After", "1")
	}
	rd, regionErr := wrongRegion(err)
	if regionErr {
		// Also in the header: a HEAD's answer has no document.
		hdr.Set("x-amz-bucket-region", rd.want)
	}
	if ae.Status == http.StatusNotModified || rq.r.Method == http.MethodHead {
		rq.w.WriteHeader(ae.Status)
		return
	}
	body := errorResponse{
		Code:      ae.Code,
		Message:   ae.Message,
		Resource:  rq.r.URL.Path,
		RequestID: rq.id,
		HostID:    rq.w.Header().Get("x-amz-id-2"),
	}
	bucket, key := rq.bucket, rq.key
	var se *copySourceError
	if errors.As(err, &se) {
		bucket, key = se.bucket, se.key
	}
	if regionErr {
		body.Region, body.ArgumentName, body.ArgumentValue = rd.want, rd.argumentName, rd.argumentValue
	}
	switch ae.Code {
	case "NoSuchBucket", "BucketNotEmpty", "BucketAlreadyOwnedByYou":
		body.BucketName = bucket
	case "NoSuchKey":
		body.Key = key
	}
	b, xerr := marshalXML(body)
	if xerr != nil {
		rq.w.WriteHeader(ae.Status)
		return
	}
	hdr.Set("Content-Type", "application/xml")
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	rq.w.WriteHeader(ae.Status)
	_, _ = rq.w.Write(b)
}

// logRequest writes the one line per request: at debug level for a
// request that succeeded, at info for a client error, at warn or error
// for a server failure. Successes stay out of the default (info) log on
// purpose: one line per request is a write(2) and a formatted line each,
// about 2% of the server's CPU at 2,000 small PUTs a second, and a log
// that size buries the failures an operator reads it for. The audit log
// keeps every state-changing and every denied request anyway.
// It never logs secrets: no headers, no query (presigned URLs carry
// signatures), no bodies.
func (h *Handler) logRequest(rq *request, start time.Time, failure error) {
	status := rq.w.status
	if !rq.w.wrote {
		status = http.StatusOK
	}
	level := slog.LevelDebug
	var code, detail string
	if status >= 400 {
		level = slog.LevelInfo
	}
	if failure != nil {
		ae, known := apiErrorFor(failure)
		switch {
		case !known:
			level, code, detail = slog.LevelError, errInternal.Code, failure.Error()
		case ae.Status >= 500:
			level, code, detail = slog.LevelWarn, ae.Code, failure.Error()
		default:
			level, code = slog.LevelInfo, ae.Code
		}
	}
	if level == slog.LevelInfo && rq.identity == (Identity{}) {
		// Refused to a caller nobody authenticated: the audit log
		// accounts for it (counted, not recorded, when it floods), and
		// a line each at info would let anyone fill the server's log.
		level = slog.LevelDebug
	}
	if !h.log.Enabled(rq.ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", rq.id),
		slog.String("method", rq.r.Method),
		slog.String("op", rq.op),
		slog.String("bucket", rq.bucket),
		slog.Int("status", status),
		slog.Int64("bytes", rq.w.bytes),
		slog.Duration("duration", time.Since(start)),
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if detail != "" {
		attrs = append(attrs, slog.String("error", detail))
	}
	h.log.LogAttrs(rq.ctx, level, "s3 request", attrs...)
}

// boundBodyDrain runs before the response starts. net/http reads what
// is left of an unread request body (up to 256 KiB, to keep the
// connection) before it sends the response: a client that declared
// more than it sends would hold the response, and the connection, for
// ever. That read gets StallTimeout, and the response's first write
// room for it. (A body that failed keeps its expired deadline or its
// closed connection, and the drain fails at once.)
func (rq *request) boundBodyDrain() {
	if rq.r.ProtoMajor != 1 || rq.r.ContentLength == 0 || (rq.in != nil && (rq.in.eof || rq.in.fault != nil)) {
		// Nothing left to read (and once the body is read, a read
		// deadline would reach net/http's background read of the
		// connection and cancel a long response). HTTP/2 drains
		// nothing: an unread body's stream is reset.
		return
	}
	if rq.w.rc != nil {
		// The drain runs at the response's first flush, within a Write
		// or after the handler: both give it room (refreshDeadline).
		_ = rq.w.rc.SetReadDeadline(time.Now().Add(rq.w.stall))
		rq.w.drain = rq.w.stall
	}
}

// responseWriter records the status and the bytes sent, and gives each
// write StallTimeout to find room in the connection.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
	stall  time.Duration
	rc     *http.ResponseController // nil: no deadlines
	// beforeHeader, if set, runs before the status line is written.
	beforeHeader func()
	// drain is the time net/http may spend reading an unread body
	// before its first write (boundBodyDrain).
	drain time.Duration
}

// refreshDeadline gives the next write StallTimeout from now (and the
// drain's time, once one is due).
func (w *responseWriter) refreshDeadline() {
	if w.rc != nil {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.stall + w.drain)) // unsupported: no deadline
	}
}

// clearDeadline ends a write's deadline once it returned: an HTTP/2
// deadline is a timer that fires even between writes, and would cut a
// response short for the server's own pauses (a slow drive).
func (w *responseWriter) clearDeadline() {
	if w.rc != nil {
		_ = w.rc.SetWriteDeadline(time.Time{})
	}
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.status = code
	w.refreshDeadline()
	if w.beforeHeader != nil {
		w.beforeHeader()
	}
	w.ResponseWriter.WriteHeader(code)
	w.clearDeadline()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.refreshDeadline()
	n, err := w.ResponseWriter.Write(p)
	w.clearDeadline()
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID returns 16 upper-case hex digits, as AWS request ids look.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// newHostID returns an opaque x-amz-id-2 value.
func newHostID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
