package s3api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/objstore/objstore/encryption"
	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/s3api/sigv2"
	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// Identities resolves the access keys of data identities (IAM users).
// *iam.Store implements it. Implementations must be safe for concurrent
// use and cheap: Secret runs on every signed request.
type Identities interface {
	// Secret returns the secret key of accessKey and the user owning it;
	// ok is false when the key is unknown, disabled or expired, or its
	// user is disabled.
	Secret(accessKey string) (secret, user string, ok bool)
	// UserCreated returns when user was created, zero when there is no
	// such user: a bucket policy is bound to the users it names as they
	// are when it is written (iam.Policy.Bound).
	UserCreated(user string) time.Time
}

// Authorizer decides whether an identity may perform one action on one
// resource. *iam.Engine implements it. bucketPolicy is the policy of the
// resource's bucket, nil when it has none.
type Authorizer interface {
	Authorize(r iam.Request, bucketPolicy *iam.Policy) iam.Decision
	// MayAllow reports whether Authorize could allow r for some value of
	// what u leaves unknown (the keys or location a body will name);
	// false lets a request be refused before its body is read.
	MayAllow(r iam.Request, bucketPolicy *iam.Policy, u iam.Unknown) bool
}

// Identity is who made a request.
type Identity struct {
	// Root marks the root credentials (Config.Credentials).
	Root bool
	// User is the IAM user's name; "" with Root false is anonymous.
	User string
	// AccessKey is the access key id the request was signed with.
	AccessKey string
}

// String returns the identity in the audit log's form: "root",
// "user:<name>" or "anonymous".
func (id Identity) String() string {
	switch {
	case id.Root:
		return "root"
	case id.User != "":
		return "user:" + id.User
	}
	return "anonymous"
}

// Event describes one finished S3 request, for Config.OnRequest. It
// holds no header, body or secret: only what metrics and the audit log
// need.
type Event struct {
	// Operation is the S3 operation ("PutObject"), "Unknown" when the
	// request could not be routed.
	Operation string
	// Method is the HTTP method.
	Method string
	// Status is the HTTP status sent.
	Status int
	// Identity is Identity.String() of the requester.
	Identity string
	// AccessKey is the access key id the request was signed with, if any.
	AccessKey string
	// Source is the client's IP address (no port).
	Source string
	// Secure is true when the request came over TLS.
	Secure bool
	// Bucket and Key name the resource, when there is one.
	Bucket, Key string
	// RequestID is the x-amz-request-id sent to the client.
	RequestID string
	// BytesIn counts the request body bytes read (as sent, framing
	// included); BytesOut the response body bytes written.
	BytesIn, BytesOut int64
	// Duration is the time from the request's arrival to the end of the
	// response.
	Duration time.Duration
	// ErrorCode is the S3 error code sent, "" on success.
	ErrorCode string
	// Denied is true when authorization refused the request (or one key
	// of a DeleteObjects); DenyReason then says which policy decided.
	Denied     bool
	DenyReason string
	// Replayable is true when the credential that identified the
	// requester is not bound to whoever sent it: a presigned URL (SigV4
	// or SigV2 query authentication) or a signed browser form. Anyone
	// holding the URL or form may send it again, after it expired too,
	// so a refusal of such a request does not show that its signer is
	// the sender; the audit log aggregates those refusals like
	// unauthenticated ones (audit.Aggregator.AppendReplayable).
	Replayable bool
}

// Mutating reports whether the request was of a state-changing kind
// (PUT, POST, DELETE), whether or not it succeeded.
func (e Event) Mutating() bool {
	switch e.Method {
	case http.MethodPut, http.MethodPost, http.MethodDelete:
		return true
	}
	return false
}

// errAccessDenied: authorization refused the request.
var errAccessDenied = errors.New("s3api: access denied")

// bucketPolicyKey is the bucket metadata entry holding the bucket
// policy, as the client sent it (compacted JSON).
const bucketPolicyKey = "policy"

// bucketPolicyBoundKey is the bucket metadata entry binding the policy
// to the users it names: JSON {"name": creation time in unix
// nanoseconds} of each, as they were when the policy was written
// (iam.Policy.Bound).
const bucketPolicyBoundKey = "policy-users"

// secret is the Verifier's lookup: the root credentials first, then the
// IAM users' keys.
func (h *Handler) secret(accessKey string) (string, bool) {
	if s, ok := h.rootSecret(accessKey); ok {
		return s, true
	}
	if h.identities != nil {
		s, _, ok := h.identities.Secret(accessKey)
		return s, ok
	}
	return "", false
}

// identify says who owns an access key whose signature was verified.
// ok is false if the key vanished in between (deleted, disabled).
func (h *Handler) identify(accessKey string) (Identity, bool) {
	if _, ok := h.rootSecret(accessKey); ok {
		return Identity{Root: true, AccessKey: accessKey}, true
	}
	if h.identities != nil {
		if _, user, ok := h.identities.Secret(accessKey); ok {
			return Identity{User: user, AccessKey: accessKey}, true
		}
	}
	return Identity{}, false
}

// authenticate verifies the request's signature and sets rq.auth and
// rq.identity. A request without any authentication is anonymous: it
// proceeds to authorization, which lets it in only where a bucket policy
// grants Principal "*".
func (h *Handler) authenticate(rq *request) error {
	if err := checkSecurityToken(rq.r.Header, rq.query); err != nil {
		return err
	}
	if sigv2.Detect(rq.r) {
		if h.noSigV2 {
			return withMessage(errInvalidRequest, "Signature Version 2 is disabled on this server. Please use AWS4-HMAC-SHA256.")
		}
		return h.authenticateV2(rq)
	}
	auth, err := h.verifier.Verify(rq.r)
	if errors.Is(err, sigv4.ErrMissingAuth) {
		rq.identity = Identity{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("s3api: authenticate: %w", err)
	}
	id, ok := h.identify(auth.AccessKey)
	if !ok {
		return fmt.Errorf("s3api: authenticate: %w", sigv4.ErrInvalidAccessKeyID)
	}
	rq.auth, rq.identity = auth, id
	return nil
}

// checkSecurityToken refuses a request carrying a session token
// (x-amz-security-token, or X-Amz-Security-Token in a presigned URL), as
// AWS refuses one that is not valid: this server issues no temporary
// credentials, so every token is unknown, and accepting the signature of
// the long-term key beside it would ignore whatever the token was meant to
// restrict.
// The query is read decoded (serve parsed it), so a percent-encoded
// name is caught too.
func checkSecurityToken(h http.Header, q url.Values) error {
	tok := h.Get("X-Amz-Security-Token") != ""
	for k, v := range q {
		if strings.EqualFold(k, "X-Amz-Security-Token") && slices.ContainsFunc(v, func(s string) bool { return s != "" }) {
			tok = true
		}
	}
	if tok {
		return fmt.Errorf("%w: temporary credentials are not issued here", errInvalidToken)
	}
	return nil
}

// authenticateV2 is authenticate for requests signed with Signature
// Version 2. The identity, and so authorization, anonymous handling and
// error codes, are the SigV4 path's: only the signature check differs.
func (h *Handler) authenticateV2(rq *request) error {
	v := sigv2.Verifier{Secret: h.secret, Now: h.verifier.Now, MaxSkew: h.verifier.MaxSkew}
	a, err := v.Verify(rq.r, hostBucket(h.domain, rq.r.Host))
	if err != nil {
		return fmt.Errorf("s3api: authenticate: %w", v2Error(err))
	}
	id, ok := h.identify(a.AccessKey)
	if !ok {
		return fmt.Errorf("s3api: authenticate: %w", sigv4.ErrInvalidAccessKeyID)
	}
	// SigV2 does not sign the body: it is read as UNSIGNED-PAYLOAD, or
	// checked against x-amz-content-sha256 when the client sent one (an
	// x-amz-* header, so signed). Content-MD5 is the PUT path's to check.
	payload := a.ContentSHA256
	if payload == "" {
		payload = sigv4.UnsignedPayload
	}
	rq.auth = &sigv4.Auth{AccessKey: a.AccessKey, Presigned: a.Presigned, Time: a.Time, PayloadHash: payload}
	rq.identity = id
	return nil
}

// v2Error gives a sigv2 failure the sigv4 sentinel of the same meaning,
// which the error table maps to its S3 code, keeping sigv2's text.
func v2Error(err error) error {
	for _, k := range v2Kinds {
		if errors.Is(err, k.v2) {
			return &v2AuthError{err: err, kind: k.v4}
		}
	}
	return err
}

// v2Kinds pairs each sigv2 error with the sigv4 kind it answers as.
var v2Kinds = [...]struct{ v2, v4 error }{
	{sigv2.ErrAuthorizationHeaderMalformed, sigv4.ErrAuthorizationHeaderMalformed},
	{sigv2.ErrSignatureDoesNotMatch, sigv4.ErrSignatureDoesNotMatch},
	{sigv2.ErrInvalidAccessKeyID, sigv4.ErrInvalidAccessKeyID},
	{sigv2.ErrRequestTimeTooSkewed, sigv4.ErrRequestTimeTooSkewed},
	{sigv2.ErrExpiredPresign, sigv4.ErrExpiredPresign},
	{sigv2.ErrMalformedPresign, sigv4.ErrMalformedPresign},
	{sigv2.ErrMissingDate, sigv4.ErrMissingDate},
	{sigv2.ErrUnsupportedPayload, sigv4.ErrUnsupportedAlgorithm},
	{sigv2.ErrMissingAuth, sigv4.ErrMissingAuth},
}

// v2AuthError is a sigv2 error that also matches its sigv4 kind.
type v2AuthError struct{ err, kind error }

func (e *v2AuthError) Error() string   { return e.err.Error() }
func (e *v2AuthError) Unwrap() []error { return []error{e.err, e.kind} }

// authorize decides the request's operation for its identity: every
// permission iam.Permissions lists must be allowed. Root is allowed
// everything (and logged as root by OnRequest). ListBuckets is decided
// per bucket by listBuckets, DeleteObjects per key by deleteObjects,
// PostObject once the form named its key (authorizeForm), CreateBucket
// once the body named its location (authorizeCreateBucket).
//
// DeleteObjects and CreateBucket are refused here already when no
// statement could allow them, whatever their body says: that body is
// read in an admission slot, and a caller who can never be allowed
// (anonymous, or a user without a grant) must not hold one by sending it
// slowly. The same refusal answers whether or not the bucket exists, so
// an anonymous caller learns nothing from it.
func (h *Handler) authorize(rq *request) error {
	if rq.identity.Root {
		return nil
	}
	switch rq.op {
	case "ListBuckets":
		if rq.identity.User == "" {
			return h.deny(rq, "anonymous requests cannot list buckets")
		}
		d := h.decide(rq, "s3:ListAllMyBuckets", "", "")
		if d.Explicit {
			return h.deny(rq, d.Reason)
		}
		rq.listAll = d.Allowed
		return nil
	case "PostObject":
		return nil
	case "DeleteObjects":
		spec, _ := iam.Operation(rq.op)
		u := iam.Unknown{AnyKey: true, Conditions: []string{iam.KeyVersionID}}
		if !h.mayAllow(rq, spec.Action, u) && !h.mayAllow(rq, spec.VersionAction, u) {
			return h.deny(rq, "no statement allows "+spec.Action+" on any key of "+rq.bucket)
		}
		return nil
	case "CreateBucket":
		if rq.identity.User == "" {
			return h.deny(rq, "anonymous requests cannot create buckets")
		}
		// Decided by createBucket once the body named the location:
		// s3:LocationConstraint is a condition key of this action.
		if !h.mayAllow(rq, "s3:CreateBucket", iam.Unknown{Conditions: []string{iam.KeyLocationConstraint}}) {
			return h.deny(rq, "no statement allows s3:CreateBucket on "+rq.bucket+" in any location")
		}
		return nil
	}
	t := iam.Target{Bucket: rq.bucket, Key: rq.key, VersionID: rq.query.Get("versionId")}
	if rq.op == "CopyObject" || rq.op == "UploadPartCopy" {
		src, err := parseCopySource(rq.r.Header.Get("x-amz-copy-source"))
		if err != nil {
			return err
		}
		t.SourceBucket, t.SourceKey, t.SourceVersionID = src.bucket, src.key, src.versionID
	}
	perms, err := iam.Permissions(rq.op, t)
	if err != nil {
		// An operation without an entry in the action table is refused:
		// a new operation must be given its action before users reach it.
		return h.deny(rq, "operation "+rq.op+" has no IAM action")
	}
	for _, p := range perms {
		d := h.decide(rq, p.Action, p.Bucket, p.Key)
		if !d.Allowed {
			return h.deny(rq, d.Reason)
		}
	}
	return nil
}

// authorizeKey decides the request's operation on one key of its bucket
// ("" for the bucket itself), for the operations authorize leaves to
// their handlers: each key of a DeleteObjects (a denied key fails alone,
// as in AWS; the request is still marked as denied for the audit log), a
// form's key, CreateBucket once its location is known.
func (h *Handler) authorizeKey(rq *request, key, versionID string) error {
	if rq.identity.Root {
		return nil
	}
	perms, err := iam.Permissions(rq.op, iam.Target{Bucket: rq.bucket, Key: key, VersionID: versionID})
	if err != nil {
		return h.deny(rq, "operation "+rq.op+" has no IAM action")
	}
	for _, p := range perms {
		if d := h.decide(rq, p.Action, p.Bucket, p.Key); !d.Allowed {
			return h.deny(rq, d.Reason)
		}
	}
	return nil
}

// authorizeForm decides s3:PutObject on a browser upload form's key for
// its signer (rq.identity, set by authorizePost once the signature held).
//
// A form is not a signed request, so the condition keys a signed
// request gets from its signature and headers are set here from the
// form: s3:signatureversion (a Deny on "AWS" must stop SigV2 forms as it
// stops SigV2 requests), s3:authType POST, and the encryption and
// storage-class fields, which a PUT would send as headers.
func (h *Handler) authorizeForm(rq *request, sigVersion string, fields map[string]string) error {
	c := rq.conditions()
	// The POST's own headers and query are neither signed nor what the
	// upload applies (postHeaders takes these from the form): they must
	// not answer for a field the form lacks.
	for _, key := range []string{iam.KeySSE, iam.KeySSEKMSKeyID, iam.KeyStorageClass, iam.KeyCopySource, iam.KeyMetadataDirective, iam.KeyVersionID} {
		delete(c, key)
	}
	c[iam.KeySignatureVersion] = []string{sigVersion}
	c[iam.KeyAuthType] = []string{"POST"}
	for field, key := range map[string]string{
		"x-amz-server-side-encryption":                iam.KeySSE,
		"x-amz-server-side-encryption-aws-kms-key-id": iam.KeySSEKMSKeyID,
		"x-amz-storage-class":                         iam.KeyStorageClass,
	} {
		if v := fields[field]; v != "" {
			c[key] = []string{v}
		}
	}
	return h.authorizeKey(rq, rq.key, "")
}

// authorizeKMSKey decides whether the request's identity may have data of
// the request's bucket sealed under master key id, which the request
// names (an SSE-KMS key id header or form field, PutBucketEncryption's
// KMSMasterKeyID): it needs kms:GenerateDataKey on the key from its
// identity policies, as AWS S3 asks for, or the key's disabling,
// rotation and custody would reach data its holder did not agree to
// carry. Decided before the KMS is asked, so a caller without the grant
// gets the same AccessDenied whether or not the key exists, and learns
// no key names; root still gets KMS.NotFoundException.
//
// No grant is needed for a key the write would use without naming any,
// so that naming it gains nothing: the server's default key (every
// SSE-S3 and SSE-C object is under it) and the bucket's configured
// SSE-KMS key, chosen by someone allowed s3:PutEncryptionConfiguration.
// Writes that name no key are not checked at all (see
// docs/architecture.md for why).
func (h *Handler) authorizeKMSKey(rq *request, id kms.KeyID) error {
	if rq.identity.Root {
		return nil
	}
	if id == "" {
		return h.deny(rq, "an empty KMS key id")
	}
	if id == h.keys.DefaultKeyID() {
		return nil
	}
	cfg, ok, err := h.keys.Config(rq.ctx, rq.bucket)
	if err != nil {
		return fmt.Errorf("s3api: encryption of %s: %w", rq.bucket, err)
	}
	if ok && cfg.Algorithm == encryption.AlgorithmKMS && cfg.KeyID == id {
		return nil
	}
	d := h.authz.Authorize(iam.Request{
		Principal:  rq.identity.User,
		Action:     iam.ActionKMSGenerateDataKey,
		KMSKey:     string(id),
		Conditions: rq.conditions(),
	}, nil)
	if !d.Allowed {
		return h.deny(rq, d.Reason)
	}
	return nil
}

// hideMissing turns the NoSuchKey of a read (or of a conditional
// delete) into AccessDenied for a caller without s3:ListBucket on the
// bucket, as AWS answers reads: a caller who may not list the bucket must
// not learn which keys do not exist.
func (h *Handler) hideMissing(rq *request, err error) error {
	if rq.identity.Root || !errors.Is(err, storage.ErrObjectNotFound) {
		return err
	}
	if h.decide(rq, "s3:ListBucket", rq.bucket, "").Allowed {
		return err
	}
	return h.deny(rq, "no such key, and the caller may not list the bucket")
}

// authorizeCreateBucket decides CreateBucket with its location
// (s3:LocationConstraint, absent when the request names none), which
// only the body says: policies restrict where users may create buckets
// with it, as in AWS.
func (h *Handler) authorizeCreateBucket(rq *request, location string) error {
	if rq.identity.Root {
		return nil
	}
	if location != "" {
		rq.conditions()[iam.KeyLocationConstraint] = []string{location}
	}
	return h.authorizeKey(rq, "", "")
}

// mayListBucket is ListBuckets' filter for users without
// s3:ListAllMyBuckets: a bucket is shown when the user may list it.
func (h *Handler) mayListBucket(rq *request, bucket string) bool {
	if rq.identity.Root || rq.listAll {
		return true
	}
	return h.decide(rq, "s3:ListBucket", bucket, "").Allowed
}

// decide asks the authorizer about one action on one resource, with the
// bucket's policy.
func (h *Handler) decide(rq *request, action, bucket, key string) iam.Decision {
	var pol *iam.Policy
	if bucket != "" {
		p, err := h.policies.get(rq, h.store, bucket)
		if err != nil {
			// A stored policy that no longer parses fails closed.
			return iam.Decision{Reason: "bucket policy of " + bucket + " is unreadable"}
		}
		pol = p
	}
	return h.authz.Authorize(iam.Request{
		Principal:  rq.identity.User,
		Action:     action,
		Bucket:     bucket,
		Key:        key,
		Conditions: rq.conditions(),
	}, pol)
}

// mayAllow asks the authorizer whether action on the request's bucket
// could be allowed once the body says what u leaves unknown
// (iam.Engine.MayAllow).
func (h *Handler) mayAllow(rq *request, action string, u iam.Unknown) bool {
	pol, err := h.policies.get(rq, h.store, rq.bucket)
	if err != nil {
		return false // an unreadable policy fails closed, as in decide
	}
	return h.authz.MayAllow(iam.Request{
		Principal:  rq.identity.User,
		Action:     action,
		Bucket:     rq.bucket,
		Conditions: rq.conditions(),
	}, pol, u)
}

// deny records a refusal for the audit log and returns AccessDenied.
func (h *Handler) deny(rq *request, reason string) error {
	rq.denied = true
	if rq.denyReason == "" {
		rq.denyReason = reason
	}
	return fmt.Errorf("%w: %s", errAccessDenied, reason)
}

// conditions builds the request's condition keys once.
func (rq *request) conditions() map[string][]string {
	if rq.conds != nil {
		return rq.conds
	}
	r := rq.r
	c := make(map[string][]string, 8)
	set := func(k, v string) {
		if v != "" {
			c[k] = []string{v}
		}
	}
	set(iam.KeySourceIP, clientIP(r))
	set(iam.KeySecureTransport, strconv.FormatBool(r.TLS != nil))
	set(iam.KeyUserAgent, r.Header.Get("User-Agent"))
	set(iam.KeyReferer, r.Header.Get("Referer"))
	switch rq.op {
	case "ListObjects", "ListObjectsV2", "ListObjectVersions":
		// Present only when sent, so that a StringLike on s3:prefix
		// refuses a listing that names no prefix, as in AWS.
		for _, k := range [...]struct{ param, key string }{
			{"prefix", iam.KeyPrefix}, {"delimiter", iam.KeyDelimiter}, {"max-keys", iam.KeyMaxKeys},
		} {
			if v, ok := rq.query[k.param]; ok && len(v) > 0 {
				c[k.key] = []string{v[0]}
			}
		}
	}
	set(iam.KeyVersionID, rq.query.Get("versionId"))
	if rq.op == "CopyObject" || rq.op == "UploadPartCopy" {
		// The source the copy reads, "bucket/key" decoded (without the
		// versionId), as AWS evaluates it: the raw header let a Deny on
		// "pub/private/*" miss "%70ub/private/x", the same object.
		if src, err := parseCopySource(r.Header.Get("x-amz-copy-source")); err == nil {
			set(iam.KeyCopySource, src.bucket+"/"+src.key)
		}
	}
	set(iam.KeyMetadataDirective, r.Header.Get("x-amz-metadata-directive"))
	set(iam.KeySSE, r.Header.Get("x-amz-server-side-encryption"))
	set(iam.KeySSEKMSKeyID, r.Header.Get("x-amz-server-side-encryption-aws-kms-key-id"))
	set(iam.KeyStorageClass, r.Header.Get("x-amz-storage-class"))
	if rq.auth != nil {
		if sigv2.Detect(r) {
			set(iam.KeySignatureVersion, "AWS")
		} else {
			set(iam.KeySignatureVersion, "AWS4-HMAC-SHA256")
		}
		set(iam.KeyContentSHA256, rq.auth.PayloadHash)
		if rq.auth.Presigned {
			set(iam.KeyAuthType, "REST-QUERY-STRING")
		} else {
			set(iam.KeyAuthType, "REST-HEADER")
		}
		if !rq.auth.Time.IsZero() {
			set(iam.KeySignatureAge, strconv.FormatInt(max(0, time.Since(rq.auth.Time).Milliseconds()), 10))
		}
	}
	rq.conds = c
	return c
}

// principal names who a request's admission slot counts against
// (admission.share): its access key when it was signed, else the
// caller's address, an IPv6 one by its /64, which one host has whole.
//
// A presigned URL or a signed form counts against its key and the
// caller's address together: anyone holding one may send it, and must
// not use up the slots of the key's owner.
func (rq *request) principal() string {
	addr := rq.addressPrincipal()
	switch {
	case rq.identity.AccessKey == "":
		return "addr:" + addr
	case rq.formSigned || rq.auth != nil && rq.auth.Presigned:
		return "key:" + rq.identity.AccessKey + "@" + addr
	}
	return "key:" + rq.identity.AccessKey
}

// addressPrincipal is the caller's address as principal counts it: an
// IPv4 address, or an IPv6 one's /64.
func (rq *request) addressPrincipal() string {
	ip := clientIP(rq.r)
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.WithZone("").Unmap(); a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// clientIP is the connection's remote address without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// policyCache keeps each bucket's parsed policy, keyed by the stored
// document: a request costs a map lookup and a string comparison (the
// same backing bytes, so usually a pointer comparison), and a changed
// document, from this node or another, is parsed once.
type policyCache struct {
	mu sync.RWMutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	doc, bound string
	policy     *iam.Policy
}

// decodeBound reads the bucketPolicyBoundKey entry.
func decodeBound(v string) (map[string]time.Time, error) {
	var raw map[string]int64
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(raw))
	for name, ns := range raw {
		out[name] = time.Unix(0, ns)
	}
	return out, nil
}

// get returns bucket's policy, nil when it has none or does not exist
// (a missing bucket is the handler's NoSuchBucket to report, after
// authorization).
func (c *policyCache) get(rq *request, store ObjectLayer, bucket string) (*iam.Policy, error) {
	info, err := store.BucketInfo(rq.ctx, bucket)
	if err != nil {
		if errors.Is(err, storage.ErrBucketNotFound) {
			c.forget(bucket)
			return nil, nil
		}
		return nil, err
	}
	doc, bound := info.Metadata[bucketPolicyKey], info.Metadata[bucketPolicyBoundKey]
	if doc == "" {
		return nil, nil
	}
	c.mu.RLock()
	e, ok := c.m[bucket]
	c.mu.RUnlock()
	if ok && e.doc == doc && e.bound == bound {
		return e.policy, nil
	}
	// Lenient on purpose: PutBucketPolicy's stricter checks
	// (iam.ParseBucketPolicyStrict) are for new documents; a policy an
	// older build stored must keep applying.
	p, err := iam.ParseBucketPolicy([]byte(doc), bucket)
	if err != nil {
		return nil, fmt.Errorf("s3api: stored policy of %s: %w", bucket, err)
	}
	if bound != "" {
		if p.Bound, err = decodeBound(bound); err != nil {
			return nil, fmt.Errorf("s3api: stored policy users of %s: %w", bucket, err)
		}
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]cachedPolicy)
	}
	c.m[bucket] = cachedPolicy{doc: doc, bound: bound, policy: p}
	c.mu.Unlock()
	return p, nil
}

// forget drops a bucket's entry (policy changed or bucket gone).
func (c *policyCache) forget(bucket string) {
	c.mu.Lock()
	delete(c.m, bucket)
	c.mu.Unlock()
}

// countingBody counts the request body bytes the handlers read, gives
// each read StallTimeout to receive something (and no more than what is
// left of a deadline set by within), and records why the body failed
// when the client is at fault.
type countingBody struct {
	io.ReadCloser
	n     int64
	stall time.Duration            // 0: none
	rc    *http.ResponseController // nil: no deadlines
	// deadline, when set, is the end of the time the body's reader has
	// for the whole of it (within); each byte received moves it on by
	// 1/minSmallBodyRate of a second, up to deadlineCap.
	deadline time.Time
	// deadlineCap is the latest the deadline moves to: the time a body of
	// within's size limit takes at minSmallBodyRate, after the grace.
	// The bytes counted are those on the wire (a signed aws-chunked body
	// decodes to nothing until a whole chunk is in and verified, so the
	// decoded bytes cannot be counted as they come), and such a body may
	// carry kilobytes of chunk extensions per byte it decodes to: without
	// the cap, framing alone would buy time without end.
	deadlineCap time.Time
	// fault is errIncompleteBody (the connection ended before the
	// declared length) or errRequestTimeout (the client stalled), once
	// a read failed so.
	fault error
	eof   bool // the body was read to its end
}

func (b *countingBody) Read(p []byte) (int, error) {
	// The deadline covers this call only. Not after the end: HTTP/1 then
	// reads the connection in the background to see the client leave,
	// and cancels the request if that read fails, so a deadline left
	// would cancel a request still working (a long Complete). Cleared
	// after a read that got something: an HTTP/2 deadline is a timer
	// that fires even between reads, and would blame the client for the
	// server's own pauses. (After a failed read it stays: net/http's
	// drain of the rest then fails at once too.)
	var deadline time.Time
	if b.rc != nil && !b.eof {
		if b.stall > 0 {
			deadline = time.Now().Add(b.stall)
		}
		if !b.deadline.IsZero() && (deadline.IsZero() || b.deadline.Before(deadline)) {
			deadline = b.deadline
		}
	}
	if !deadline.IsZero() {
		_ = b.rc.SetReadDeadline(deadline) // unsupported: no deadline
	}
	n, err := b.ReadCloser.Read(p)
	if !deadline.IsZero() && err == nil {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	b.n += int64(n)
	b.credit(n)
	switch {
	case err == nil:
	case err == io.EOF:
		b.eof = true
	case errors.Is(err, io.ErrUnexpectedEOF):
		b.fault = errIncompleteBody
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.fault = errRequestTimeout
	}
	return n, err
}

// within gives the reads until the returned function is called d in
// all, plus 1/minSmallBodyRate of a second for each byte they receive
// (d <= 0: no bound): a client that sends a small body a byte at a
// time fails with RequestTimeout instead of holding its request for
// ever, and one that sends a large one steadily at minSmallBodyRate or
// faster is never cut off, however large. A read that passes the
// deadline fails as a stalled one does.
//
// The same rule serves bodies of a declared length and those without
// one (aws-chunked, chunked): it needs no length, and a declared length
// could not be trusted to extend the bound before its bytes arrive.
//
// The time in all is at most d plus max bytes' worth at
// minSmallBodyRate, max being the reader's limit on what the body
// decodes to, whatever the wire carries besides.
func (b *countingBody) within(d time.Duration, max int64) (done func()) {
	if d <= 0 {
		return func() {}
	}
	b.deadline = time.Now().Add(d)
	b.deadlineCap = b.deadline.Add(time.Duration(max) * time.Second / minSmallBodyRate)
	return func() { b.deadline, b.deadlineCap = time.Time{}, time.Time{} }
}

// credit moves a within deadline on by n bytes' worth at
// minSmallBodyRate, up to its cap.
func (b *countingBody) credit(n int) {
	if b.deadline.IsZero() {
		return
	}
	if b.deadline = b.deadline.Add(time.Duration(n) * time.Second / minSmallBodyRate); b.deadline.After(b.deadlineCap) {
		b.deadline = b.deadlineCap
	}
}

// event builds the OnRequest event of a finished request.
func (h *Handler) event(rq *request, start time.Time, failure error) Event {
	status := rq.w.status
	if !rq.w.wrote {
		status = http.StatusOK
	}
	ev := Event{
		Operation:  rq.op,
		Method:     rq.r.Method,
		Status:     status,
		Identity:   rq.identity.String(),
		AccessKey:  rq.identity.AccessKey,
		Source:     clientIP(rq.r),
		Secure:     rq.r.TLS != nil,
		Bucket:     rq.bucket,
		Key:        rq.key,
		RequestID:  rq.id,
		BytesOut:   rq.w.bytes,
		Duration:   time.Since(start),
		Denied:     rq.denied,
		DenyReason: rq.denyReason,
		Replayable: rq.formSigned || rq.auth != nil && rq.auth.Presigned,
	}
	if rq.in != nil {
		ev.BytesIn = rq.in.n
	}
	if failure != nil {
		ae, known := apiErrorFor(failure)
		if !known {
			ae = errInternal
		}
		ev.ErrorCode = ae.Code
	}
	return ev
}

// countedRequest returns a shallow copy of the request whose Body counts
// what is read, for Event.BytesIn. The original request keeps its own
// Body: net/http looks at its type after the handler to decide whether
// an unread body may be drained or the connection must close, and a
// wrapper there would make it wait for a body the client never sends.
func (rq *request) countedRequest() *http.Request {
	if rq.in == nil {
		body := rq.r.Body
		if body == nil {
			body = http.NoBody
		}
		rq.in = &countingBody{ReadCloser: body, stall: rq.w.stall, rc: rq.w.rc}
		if rq.in.rc == nil && rq.smallBody > 0 {
			// No stall deadlines, but within still needs the connection.
			rq.in.rc = http.NewResponseController(rq.w)
		}
	}
	r := *rq.r
	r.Body = rq.in
	return &r
}
