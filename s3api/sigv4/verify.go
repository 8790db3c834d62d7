package sigv4

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxSkew is the clock skew Verifier allows when MaxSkew is zero.
const DefaultMaxSkew = 15 * time.Minute

// Verifier checks AWS Signature Version 4 on incoming requests. Its fields
// are read-only once Verify is in use; it is safe for concurrent use if
// Secret and Now are.
type Verifier struct {
	// Secret returns the secret key of an access key; ok=false if unknown.
	Secret func(accessKey string) (secret string, ok bool)
	// Now returns the current time; nil = time.Now.
	Now func() time.Time
	// MaxSkew is the clock skew allowed for header auth; 0 = 15 minutes.
	// For presigned requests it bounds how far in the future X-Amz-Date may be.
	MaxSkew time.Duration
	// RequireContentSHA256 refuses header-signed requests without
	// x-amz-content-sha256 (ErrMissingContentSHA256), as S3 does; other
	// services read its absence as the hash of an empty payload.
	RequireContentSHA256 bool
	// Region, when set, is the only region a credential scope may name:
	// a request signed for another is refused with a *RegionError before
	// its access key is looked up or its signature checked. Empty (the
	// default) accepts any region. Compared exactly, as AWS compares it.
	Region string
}

// Auth is an authenticated request's identity and what Body needs to verify
// the payload. It holds the derived signing key: it is printed redacted and
// must not be serialized.
type Auth struct {
	// AccessKey is the access key the request was signed with.
	AccessKey string
	// Presigned is true for query-string (presigned URL) authentication.
	Presigned bool
	// Time is X-Amz-Date (or Date) in UTC.
	Time time.Time
	// Region is the region of the credential scope.
	Region string
	// PayloadHash is x-amz-content-sha256 as sent ("UNSIGNED-PAYLOAD", a hex
	// SHA-256, "STREAMING-..." mode), "UNSIGNED-PAYLOAD" for presigned
	// requests without it, and the SHA-256 of the empty string for header
	// auth without it (the payload must then be empty).
	PayloadHash string

	key     [32]byte // signing key of the scope
	seed    [32]byte // the request's signature, first link of the chunk chain
	scope   string   // "20130524/us-east-1/s3/aws4_request"
	amzDate string   // "20130524T000000Z", as in the string to sign
}

// String describes a without its signing key.
func (a Auth) String() string {
	return fmt.Sprintf("sigv4.Auth{AccessKey:%q Presigned:%t Time:%s Region:%q PayloadHash:%q}",
		a.AccessKey, a.Presigned, a.Time.Format(iso8601), a.Region, a.PayloadHash)
}

// GoString keeps %#v from printing the signing key.
func (a Auth) GoString() string { return a.String() }

// LogValue keeps slog from printing the signing key.
func (a Auth) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key", a.AccessKey),
		slog.Bool("presigned", a.Presigned),
		slog.Time("time", a.Time),
		slog.String("region", a.Region),
		slog.String("payload_hash", a.PayloadHash),
	)
}

// Verify authenticates r by the Authorization header (AWS4-HMAC-SHA256) or by
// presigned query parameters (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires (1..604800), X-Amz-SignedHeaders, X-Amz-Signature). It does
// not read the body. Every x-amz-* header of r must be signed
// (ErrHeadersNotSigned). It returns ErrMissingAuth when the request carries no
// authentication at all (anonymous). Service "s3" and any region in the
// credential scope are accepted (the scope's own region derives the key),
// or only Region when it is set (*RegionError otherwise).
// Signatures are compared in constant time.
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	if r == nil || r.URL == nil {
		return nil, wrapf(ErrAuthorizationHeaderMalformed, "no request")
	}
	query := parseQuery(r.URL.RawQuery)
	authz, hasHeader := r.Header["Authorization"]
	presign := hasPresignParams(query)
	switch {
	case hasHeader && presign:
		return nil, wrapf(ErrAuthorizationHeaderMalformed, "both an Authorization header and presigned query parameters")
	case hasHeader:
		if len(authz) != 1 {
			return nil, wrapf(ErrAuthorizationHeaderMalformed, "%d Authorization headers", len(authz))
		}
		return v.verifyHeader(r, authz[0], query)
	case presign:
		return v.verifyPresigned(r, query)
	case hasV2Presign(query):
		return nil, wrapf(ErrUnsupportedAlgorithm, "signature version 2 query authentication")
	}
	return nil, ErrMissingAuth
}

func hasPresignParams(q []queryPair) bool {
	for _, p := range q {
		switch p.Key {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature":
			return true
		}
	}
	return false
}

func hasV2Presign(q []queryPair) bool {
	for _, p := range q {
		if p.Key == "AWSAccessKeyId" {
			return true
		}
	}
	return false
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// checkRegion refuses a scope's region other than v.Region, when set.
func (v *Verifier) checkRegion(region string, presigned bool) error {
	if v.Region == "" || region == v.Region {
		return nil
	}
	if len(region) > 64 {
		region = region[:64]
	}
	return &RegionError{Got: region, Want: v.Region, Presigned: presigned}
}

func (v *Verifier) secret(accessKey string) (string, error) {
	if v.Secret != nil {
		if s, ok := v.Secret(accessKey); ok {
			return s, nil
		}
	}
	return "", wrapf(ErrInvalidAccessKeyID, "access key %q", accessKey)
}

// authHeader is a parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
type authHeader struct {
	cred      credential
	signed    []string
	signature [32]byte
}

// parseAuthorization parses the Authorization header value. The three
// elements may come in any order, separated by ',' with optional spaces.
func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	rest, ok := strings.CutPrefix(h, algorithm)
	if !ok || (rest != "" && rest[0] != ' ') {
		alg, _, _ := strings.Cut(h, " ")
		if len(alg) > 32 {
			alg = alg[:32]
		}
		return a, wrapf(ErrUnsupportedAlgorithm, "authorization type %q", alg)
	}
	var haveCred, haveSigned, haveSig bool
	for elem := range strings.SplitSeq(rest, ",") {
		elem = strings.TrimSpace(elem)
		k, val, ok := strings.Cut(elem, "=")
		if !ok {
			return a, wrapf(ErrAuthorizationHeaderMalformed, "element %q is not key=value", truncate(elem))
		}
		var err error
		switch k {
		case "Credential":
			if haveCred {
				return a, wrapf(ErrAuthorizationHeaderMalformed, "Credential given twice")
			}
			haveCred = true
			a.cred, err = parseCredential(val, ErrAuthorizationHeaderMalformed)
		case "SignedHeaders":
			if haveSigned {
				return a, wrapf(ErrAuthorizationHeaderMalformed, "SignedHeaders given twice")
			}
			haveSigned = true
			a.signed, err = parseSignedHeaders(val, ErrAuthorizationHeaderMalformed)
		case "Signature":
			if haveSig {
				return a, wrapf(ErrAuthorizationHeaderMalformed, "Signature given twice")
			}
			haveSig = true
			a.signature, err = parseSignature(val, ErrAuthorizationHeaderMalformed)
		default:
			return a, wrapf(ErrAuthorizationHeaderMalformed, "unknown element %q", truncate(k))
		}
		if err != nil {
			return a, err
		}
	}
	switch {
	case !haveCred:
		return a, wrapf(ErrAuthorizationHeaderMalformed, "missing Credential")
	case !haveSigned:
		return a, wrapf(ErrAuthorizationHeaderMalformed, "missing SignedHeaders")
	case !haveSig:
		return a, wrapf(ErrAuthorizationHeaderMalformed, "missing Signature")
	}
	return a, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// requestTime reads X-Amz-Date, or Date when X-Amz-Date is absent.
func requestTime(r *http.Request) (time.Time, error) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(iso8601, v)
		if err != nil {
			return t, wrapf(ErrMissingDate, "X-Amz-Date %q is not yyyymmddThhmmssZ", truncate(v))
		}
		return t, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return t, wrapf(ErrMissingDate, "Date %q is not an HTTP date", truncate(v))
		}
		return t.UTC(), nil
	}
	return time.Time{}, ErrMissingDate
}

func (v *Verifier) verifyHeader(r *http.Request, h string, query []queryPair) (*Auth, error) {
	ah, err := parseAuthorization(h)
	if err != nil {
		return nil, err
	}
	if err := v.checkRegion(ah.cred.region, false); err != nil {
		return nil, err
	}
	t, err := requestTime(r)
	if err != nil {
		return nil, err
	}
	if ah.cred.date != t.Format(yyyymmdd) {
		return nil, wrapf(ErrAuthorizationHeaderMalformed, "credential date %s is not the request date %s", ah.cred.date, t.Format(yyyymmdd))
	}
	// Compare times, not their difference: Sub saturates for a time
	// centuries away, and the negated minimum Duration is itself, so
	// such a request would pass a check on d and never expire.
	if now, skew := v.now(), v.maxSkew(); t.Before(now.Add(-skew)) || t.After(now.Add(skew)) {
		d := now.Sub(t)
		return nil, wrapf(ErrRequestTimeTooSkewed, "request time %s, server time differs by %s", t.Format(iso8601), d.Round(time.Second))
	}

	payload := emptySHA256
	vals, ok := r.Header["X-Amz-Content-Sha256"]
	if !ok && v.RequireContentSHA256 {
		return nil, ErrMissingContentSHA256
	}
	if ok {
		// Unsigned, the header would let anyone swap the body (and its
		// hash, or the whole streaming mode) under a valid signature.
		if !slices.Contains(ah.signed, "x-amz-content-sha256") {
			return nil, wrapf(ErrAuthorizationHeaderMalformed, "x-amz-content-sha256 is present but not signed")
		}
		if len(vals) != 1 {
			return nil, wrapf(ErrInvalidContentSHA256, "x-amz-content-sha256 given %d times", len(vals))
		}
		payload = vals[0]
	}
	if err := checkPayloadHash(payload, false); err != nil {
		return nil, err
	}

	secret, err := v.secret(ah.cred.accessKey)
	if err != nil {
		return nil, err
	}
	a := &Auth{
		AccessKey:   ah.cred.accessKey,
		Time:        t,
		Region:      ah.cred.region,
		PayloadHash: payload,
		key:         deriveKey(secret, ah.cred.date, ah.cred.region),
		seed:        ah.signature,
		scope:       ah.cred.scope(),
		amzDate:     t.Format(iso8601),
	}
	if !a.matches(r, canonicalQueries(query, ""), ah.signed, payload, ah.signature) {
		return nil, ErrSignatureDoesNotMatch
	}
	if err := checkAmzHeadersSigned(r.Header, ah.signed); err != nil {
		return nil, err
	}
	return a, nil
}

// checkAmzHeadersSigned refuses a request carrying x-amz-* headers that
// signed does not list, as AWS does: unsigned, anyone on the path, or
// anyone holding a presigned URL, could add a copy source, metadata or
// encryption settings the signer never agreed to.
func checkAmzHeadersSigned(h http.Header, signed []string) error {
	var unsigned []string
	for k := range h {
		if len(k) < len("x-amz-") || !strings.EqualFold(k[:len("x-amz-")], "x-amz-") {
			continue
		}
		if !slices.ContainsFunc(signed, func(s string) bool { return strings.EqualFold(s, k) }) {
			unsigned = append(unsigned, strings.ToLower(k))
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	slices.Sort(unsigned)
	return wrapf(ErrHeadersNotSigned, "%s", truncate(strings.Join(unsigned, ", ")))
}

// matches computes the signature for each candidate canonical path and
// query (see canonicalPaths and canonicalQueries; a request normally has one
// of each) and compares it with want in constant time.
func (a *Auth) matches(r *http.Request, queries []string, signed []string, payload string, want [32]byte) bool {
	for _, p := range canonicalPaths(r.URL) {
		for _, q := range queries {
			got := signString(a.key, a.amzDate, a.scope, canonicalRequest(r, p, q, signed, payload))
			if hmac.Equal(got[:], want[:]) {
				return true
			}
		}
	}
	return false
}

// checkPayloadHash accepts the x-amz-content-sha256 values this package can
// verify: UNSIGNED-PAYLOAD, a hex SHA-256 and (header auth only) the three
// STREAMING modes.
func checkPayloadHash(p string, presigned bool) error {
	switch p {
	case UnsignedPayload:
		return nil
	case StreamingPayload, StreamingUnsignedTrailer, StreamingPayloadTrailer:
		if presigned {
			return wrapf(ErrUnsupportedAlgorithm, "%s with a presigned URL", p)
		}
		return nil
	}
	if strings.HasPrefix(p, "STREAMING-") {
		return wrapf(ErrUnsupportedAlgorithm, "payload mode %q", truncate(p))
	}
	if len(p) == 64 {
		if _, err := hex.DecodeString(p); err == nil {
			return nil
		}
	}
	return wrapf(ErrInvalidContentSHA256, "%q", truncate(p))
}

// presignParams are the query parameters of a presigned request.
type presignParams struct {
	algorithm, credential, date, expires, signedHeaders, signature, contentSHA string
}

func collectPresign(q []queryPair) (presignParams, error) {
	var p presignParams
	seen := map[string]bool{}
	for _, kv := range q {
		var dst *string
		switch kv.Key {
		case "X-Amz-Algorithm":
			dst = &p.algorithm
		case "X-Amz-Credential":
			dst = &p.credential
		case "X-Amz-Date":
			dst = &p.date
		case "X-Amz-Expires":
			dst = &p.expires
		case "X-Amz-SignedHeaders":
			dst = &p.signedHeaders
		case "X-Amz-Signature":
			dst = &p.signature
		case "X-Amz-Content-Sha256":
			dst = &p.contentSHA
		default:
			continue
		}
		if seen[kv.Key] {
			return p, wrapf(ErrMalformedPresign, "%s given twice", kv.Key)
		}
		seen[kv.Key] = true
		*dst = kv.Value
	}
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if !seen[k] {
			return p, wrapf(ErrMalformedPresign, "missing %s", k)
		}
	}
	return p, nil
}

func (v *Verifier) verifyPresigned(r *http.Request, query []queryPair) (*Auth, error) {
	// The algorithm is checked first so that a SigV4a URL reports the
	// algorithm rather than whatever else it lacks.
	for _, kv := range query {
		if kv.Key == "X-Amz-Algorithm" && kv.Value != algorithm {
			return nil, wrapf(ErrUnsupportedAlgorithm, "X-Amz-Algorithm %q", truncate(kv.Value))
		}
	}
	p, err := collectPresign(query)
	if err != nil {
		return nil, err
	}
	cred, err := parseCredential(p.credential, ErrMalformedPresign)
	if err != nil {
		return nil, err
	}
	if err := v.checkRegion(cred.region, true); err != nil {
		return nil, err
	}
	t, err := time.Parse(iso8601, p.date)
	if err != nil {
		return nil, wrapf(ErrMalformedPresign, "X-Amz-Date %q is not yyyymmddThhmmssZ", truncate(p.date))
	}
	if cred.date != t.Format(yyyymmdd) {
		return nil, wrapf(ErrMalformedPresign, "credential date %s is not X-Amz-Date's %s", cred.date, t.Format(yyyymmdd))
	}
	expires, err := strconv.ParseInt(p.expires, 10, 64)
	if err != nil || expires < 1 || expires > maxPresignExpires || p.expires[0] == '+' {
		return nil, wrapf(ErrInvalidExpires, "X-Amz-Expires %q", truncate(p.expires))
	}
	signed, err := parseSignedHeaders(p.signedHeaders, ErrMalformedPresign)
	if err != nil {
		return nil, err
	}
	sig, err := parseSignature(p.signature, ErrMalformedPresign)
	if err != nil {
		return nil, err
	}
	now := v.now()
	if t.After(now.Add(v.maxSkew())) {
		return nil, wrapf(ErrPresignNotYetValid, "X-Amz-Date %s is in the future", t.Format(iso8601))
	}
	if now.After(t.Add(time.Duration(expires) * time.Second)) {
		return nil, wrapf(ErrExpiredPresign, "signed at %s for %ds", t.Format(iso8601), expires)
	}

	// A presigned URL normally signs UNSIGNED-PAYLOAD; a client may bind a
	// hash by the query parameter or by a signed header.
	payload := UnsignedPayload
	switch {
	case p.contentSHA != "":
		payload = p.contentSHA
	case slices.Contains(signed, "x-amz-content-sha256") && r.Header.Get("X-Amz-Content-Sha256") != "":
		payload = r.Header.Get("X-Amz-Content-Sha256")
	}
	if err := checkPayloadHash(payload, true); err != nil {
		return nil, err
	}

	secret, err := v.secret(cred.accessKey)
	if err != nil {
		return nil, err
	}
	a := &Auth{
		AccessKey:   cred.accessKey,
		Presigned:   true,
		Time:        t,
		Region:      cred.region,
		PayloadHash: payload,
		key:         deriveKey(secret, cred.date, cred.region),
		seed:        sig,
		scope:       cred.scope(),
		amzDate:     p.date,
	}
	if !a.matches(r, canonicalQueries(query, "X-Amz-Signature"), signed, payload, sig) {
		return nil, ErrSignatureDoesNotMatch
	}
	if err := checkAmzHeadersSigned(r.Header, signed); err != nil {
		return nil, err
	}
	return a, nil
}
