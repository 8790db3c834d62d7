package sigv2

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxSkew is the clock skew Verifier allows when MaxSkew is zero.
const DefaultMaxSkew = 15 * time.Minute

// Verifier checks AWS Signature Version 2 on incoming requests. Its fields
// are read-only once Verify is in use; it is safe for concurrent use if
// Secret and Now are.
type Verifier struct {
	// Secret returns the secret key of an access key; ok=false if unknown.
	Secret func(accessKey string) (secret string, ok bool)
	// Now returns the current time; nil = time.Now.
	Now func() time.Time
	// MaxSkew is the clock skew allowed for header auth; 0 = 15 minutes.
	MaxSkew time.Duration
}

// Auth is an authenticated request's identity. It holds no secret.
type Auth struct {
	// AccessKey is the access key the request was signed with.
	AccessKey string
	// Presigned is true for query-string (presigned URL) authentication.
	Presigned bool
	// Time is x-amz-date (or Date) in UTC; zero for presigned requests,
	// which carry no signing time.
	Time time.Time
	// Expires is a presigned request's Expires; zero for header auth.
	Expires time.Time
	// ContentSHA256 is the x-amz-content-sha256 header (signed, as every
	// x-amz-* header is), "" when absent. Verify refuses the signed
	// aws-chunked modes; any other value is the body reader's to check.
	ContentSHA256 string
}

// Detect reports whether r is meant to be authenticated by Signature
// Version 2: its Authorization header is "AWS <key>:<signature>", or it has
// no Authorization header and no SigV4 presign parameters but an
// AWSAccessKeyId or Signature query parameter. A request Detect refuses
// belongs to SigV4 (or is anonymous).
func Detect(r *http.Request) bool {
	if r == nil || r.URL == nil {
		return false
	}
	if authz, ok := r.Header["Authorization"]; ok {
		for _, h := range authz {
			if strings.HasPrefix(h, "AWS ") {
				return true
			}
		}
		return false
	}
	v2 := false
	for _, p := range parseQuery(r.URL.RawQuery) {
		switch p.Key {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature":
			return false
		case "AWSAccessKeyId", "Signature":
			v2 = true
		}
	}
	return v2
}

// Verify authenticates r by its Authorization header ("AWS
// AccessKeyId:Signature") or its presigned query (AWSAccessKeyId, Expires,
// Signature). hostBucket is the bucket named by the Host header when r is
// virtual-host style, "" for path style: the handler knows which, and the
// string to sign names the bucket either way. Verify does not read the
// body. It returns ErrMissingAuth when r carries no SigV2 authentication.
// Signatures are compared in constant time.
func (v *Verifier) Verify(r *http.Request, hostBucket string) (*Auth, error) {
	if r == nil || r.URL == nil {
		return nil, wrapf(ErrAuthorizationHeaderMalformed, "no request")
	}
	q := parseQuery(r.URL.RawQuery)
	authz, hasHeader := r.Header["Authorization"]
	presign := false
	for _, p := range q {
		if p.Key == "AWSAccessKeyId" || p.Key == "Signature" {
			presign = true
		}
		// SigV2 signs sub-resource values decoded and unescaped, so a
		// value holding '&' (a presigned response-content-disposition
		// with a user-chosen file name) could be re-split into another
		// signed sub-resource: refuse what is ambiguous (SigV4 has no
		// such gap).
		if isSubResource(p.Key) && strings.IndexByte(p.Value, '&') >= 0 {
			return nil, wrapf(ErrAuthorizationHeaderMalformed, "sub-resource %s holds '&', which SigV2 cannot sign unambiguously; use SigV4", p.Key)
		}
	}
	switch {
	case hasHeader && presign:
		return nil, wrapf(ErrAuthorizationHeaderMalformed, "both an Authorization header and presigned query parameters")
	case hasHeader:
		if len(authz) != 1 {
			return nil, wrapf(ErrAuthorizationHeaderMalformed, "%d Authorization headers", len(authz))
		}
		return v.verifyHeader(r, authz[0], q, hostBucket)
	case presign:
		if err := PromoteQueryHeaders(r); err != nil {
			return nil, err
		}
		return v.verifyPresigned(r, q, hostBucket)
	}
	return nil, ErrMissingAuth
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

func (v *Verifier) secret(accessKey string) (string, error) {
	if v.Secret != nil {
		if s, ok := v.Secret(accessKey); ok {
			return s, nil
		}
	}
	return "", wrapf(ErrInvalidAccessKeyID, "access key %q", truncate(accessKey))
}

// parseAuthorization splits "AWS AccessKeyId:Signature". The access key is
// everything up to the last ':' (a base64 signature holds none).
func parseAuthorization(h string) (accessKey, signature string, err error) {
	rest, ok := strings.CutPrefix(h, "AWS ")
	if !ok {
		alg, _, _ := strings.Cut(h, " ")
		return "", "", wrapf(ErrAuthorizationHeaderMalformed, "authorization type %q is not AWS", truncate(alg))
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", "", wrapf(ErrAuthorizationHeaderMalformed, "no ':' between access key and signature")
	}
	accessKey, signature = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
	if accessKey == "" {
		return "", "", wrapf(ErrAuthorizationHeaderMalformed, "empty access key")
	}
	if signature == "" {
		return "", "", wrapf(ErrAuthorizationHeaderMalformed, "empty signature")
	}
	return accessKey, signature, nil
}

// decodeSignature decodes a base64 HMAC-SHA1. Anything else cannot match.
// A space stands for '+': a presigned URL whose '+' was not escaped decodes
// to one.
func decodeSignature(s string) ([sha1.Size]byte, error) {
	var sig [sha1.Size]byte
	s = strings.ReplaceAll(s, " ", "+")
	if base64.StdEncoding.DecodedLen(len(s)) < sha1.Size || len(s) > 64 {
		return sig, wrapf(ErrSignatureDoesNotMatch, "signature is not a base64 HMAC-SHA1")
	}
	var buf [48]byte
	n, err := base64.StdEncoding.Decode(buf[:], []byte(s))
	if err != nil || n != sha1.Size {
		return sig, wrapf(ErrSignatureDoesNotMatch, "signature is not a base64 HMAC-SHA1")
	}
	copy(sig[:], buf[:n])
	return sig, nil
}

// requestTime reads x-amz-date, or Date when x-amz-date is absent, and
// returns it with the forms of the Date line it allows (see candidates).
func requestTime(r *http.Request, hostBucket string) (time.Time, []form, error) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, ok := parseTime(v)
		if !ok {
			return t, nil, wrapf(ErrMissingDate, "x-amz-date %q is not an HTTP or ISO 8601 date", truncate(v))
		}
		return t, []form{
			{hostBucket: hostBucket},
			{hostBucket: hostBucket, dateLine: v, omitAmzDate: true},
		}, nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, ok := parseTime(v)
		if !ok {
			return t, nil, wrapf(ErrMissingDate, "Date %q is not an HTTP date", truncate(v))
		}
		return t, []form{{hostBucket: hostBucket, dateLine: v}}, nil
	}
	return time.Time{}, nil, wrapf(ErrMissingDate, "neither x-amz-date nor Date")
}

// parseTime reads the date forms SigV2 clients send: net/http's three,
// RFC 1123 with a numeric zone (the AWS examples, Python's formatdate) and
// ISO 8601 basic (x-amz-date as SigV4 writes it).
func parseTime(v string) (time.Time, bool) {
	for _, layout := range [...]string{
		http.TimeFormat, time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC, "20060102T150405Z",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// contentSHA256 returns x-amz-content-sha256, refusing the signed
// aws-chunked modes: their chunk signatures chain from a SigV4 signature.
func contentSHA256(r *http.Request, q []queryPair, presigned bool) (string, error) {
	// One value, as SigV4 requires: with two, the signed header would
	// say one thing and the body check read another.
	if vv := r.Header.Values("X-Amz-Content-Sha256"); len(vv) > 1 {
		return "", wrapf(ErrAuthorizationHeaderMalformed, "%d x-amz-content-sha256 headers", len(vv))
	}
	v := r.Header.Get("X-Amz-Content-Sha256")
	if v == "" && presigned {
		for _, p := range q {
			if strings.EqualFold(p.Key, "x-amz-content-sha256") {
				v = p.Value
				break
			}
		}
	}
	// Signed streaming payloads carry chunk signatures only SigV4
	// defines. The unsigned trailer form (botocore's default upload) is
	// fine with header auth, where nothing of the body is signed anyway,
	// but a presigned URL, as in SigV4, takes one plain payload.
	if strings.HasPrefix(v, "STREAMING-AWS4-") || (presigned && strings.HasPrefix(v, "STREAMING-")) {
		return "", wrapf(ErrUnsupportedPayload, "x-amz-content-sha256 %q", truncate(v))
	}
	return v, nil
}

func (v *Verifier) verifyHeader(r *http.Request, h string, q []queryPair, hostBucket string) (*Auth, error) {
	accessKey, sigText, err := parseAuthorization(h)
	if err != nil {
		return nil, err
	}
	t, forms, err := requestTime(r, hostBucket)
	if err != nil {
		return nil, err
	}
	// Compare times, not their difference: Sub saturates for a time
	// centuries away, and the negated minimum Duration is itself, so
	// such a request would pass a check on d and never expire.
	if now, skew := v.now(), v.maxSkew(); t.Before(now.Add(-skew)) || t.After(now.Add(skew)) {
		d := now.Sub(t)
		return nil, wrapf(ErrRequestTimeTooSkewed, "request time %s, server time differs by %s",
			t.Format(time.RFC3339), d.Round(time.Second))
	}
	payload, err := contentSHA256(r, q, false)
	if err != nil {
		return nil, err
	}
	secret, err := v.secret(accessKey)
	if err != nil {
		return nil, err
	}
	sig, err := decodeSignature(sigText)
	if err != nil {
		return nil, err
	}
	if !matches(r, q, forms, secret, sig) {
		return nil, ErrSignatureDoesNotMatch
	}
	return &Auth{AccessKey: accessKey, Time: t, ContentSHA256: payload}, nil
}

// presignParams collects AWSAccessKeyId, Expires and Signature, each
// exactly once.
func presignParams(q []queryPair) (accessKey, expires, signature string, err error) {
	var seenKey, seenExp, seenSig bool
	for _, p := range q {
		var dst *string
		var seen *bool
		switch p.Key {
		case "AWSAccessKeyId":
			dst, seen = &accessKey, &seenKey
		case "Expires":
			dst, seen = &expires, &seenExp
		case "Signature":
			dst, seen = &signature, &seenSig
		default:
			continue
		}
		if *seen {
			return "", "", "", wrapf(ErrMalformedPresign, "%s given twice", p.Key)
		}
		*seen, *dst = true, p.Value
	}
	switch {
	case accessKey == "":
		return "", "", "", wrapf(ErrMalformedPresign, "missing AWSAccessKeyId")
	case !seenExp:
		return "", "", "", wrapf(ErrMalformedPresign, "missing Expires")
	case signature == "":
		return "", "", "", wrapf(ErrMalformedPresign, "missing Signature")
	}
	return accessKey, expires, signature, nil
}

// parseExpires reads Unix seconds: decimal digits only, no sign.
func parseExpires(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func (v *Verifier) verifyPresigned(r *http.Request, q []queryPair, hostBucket string) (*Auth, error) {
	accessKey, expiresText, sigText, err := presignParams(q)
	if err != nil {
		return nil, err
	}
	expires, ok := parseExpires(expiresText)
	if !ok {
		return nil, wrapf(ErrMalformedPresign, "Expires %q is not Unix seconds", truncate(expiresText))
	}
	exp := time.Unix(expires, 0).UTC()
	if v.now().After(exp) {
		return nil, wrapf(ErrExpiredPresign, "expired at %s", exp.Format(time.RFC3339))
	}
	payload, err := contentSHA256(r, q, true)
	if err != nil {
		return nil, err
	}
	secret, err := v.secret(accessKey)
	if err != nil {
		return nil, err
	}
	sig, err := decodeSignature(sigText)
	if err != nil {
		return nil, err
	}
	if !matches(r, q, []form{{presigned: true, dateLine: expiresText, hostBucket: hostBucket}}, secret, sig) {
		return nil, ErrSignatureDoesNotMatch
	}
	return &Auth{AccessKey: accessKey, Presigned: true, Expires: exp, ContentSHA256: payload}, nil
}

// matches computes the signature of each candidate reading of r (see
// candidates) and compares it with want in constant time.
func matches(r *http.Request, q []queryPair, forms []form, secret string, want [sha1.Size]byte) bool {
	ok := false
	for _, f := range candidates(r, forms) {
		got := sign(secret, stringToSign(r, q, f))
		if hmac.Equal(got[:], want[:]) {
			ok = true
		}
	}
	return ok
}

// candidates crosses the Date-line forms with the spellings of the path
// (resourcePaths). A request without x-amz-date whose path is sent the
// way SDKs encode it has exactly one. Every candidate reads the same
// method, headers, time, bucket, decoded path and sub-resources: accepting
// any of them lets no one change what the signer signed.
func candidates(r *http.Request, forms []form) []form {
	paths := resourcePaths(r)
	out := make([]form, 0, len(forms)*len(paths))
	for _, f := range forms {
		for _, p := range paths {
			f.path = p
			out = append(out, f)
		}
	}
	return out
}

// sign is HMAC-SHA1(secret, stringToSign).
func sign(secret, stringToSign string) [sha1.Size]byte {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	var out [sha1.Size]byte
	m.Sum(out[:0])
	return out
}
