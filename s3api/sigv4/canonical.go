package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/objstore/objstore/s3api/internal/rawquery"
)

// Payload hash values of x-amz-content-sha256 besides a hex SHA-256.
const (
	// UnsignedPayload: the payload is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingPayload: aws-chunked body with chained chunk signatures.
	StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingUnsignedTrailer: aws-chunked body without signatures, then trailers.
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	// StreamingPayloadTrailer: signed chunks, then trailers with x-amz-trailer-signature.
	StreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

const (
	algorithm   = "AWS4-HMAC-SHA256"
	iso8601     = "20060102T150405Z"
	yyyymmdd    = "20060102"
	serviceS3   = "s3"
	terminator  = "aws4_request"
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// maxPresignExpires is AWS's limit for X-Amz-Expires: seven days.
	maxPresignExpires = 7 * 24 * 60 * 60
)

// credential is the parsed Credential element: access key and scope.
type credential struct {
	accessKey string
	date      string // yyyymmdd
	region    string
}

// scope returns "date/region/s3/aws4_request".
func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + serviceS3 + "/" + terminator
}

// parseCredential splits "AKID/20130524/us-east-1/s3/aws4_request". The
// access key is everything before the last four fields, so a key containing
// '/' still parses. Errors wrap bad, which names the auth style.
func parseCredential(s string, bad error) (credential, error) {
	var c credential
	parts := strings.Split(s, "/")
	n := len(parts)
	if n < 5 {
		return c, wrapf(bad, "credential %q does not have the form key/date/region/service/aws4_request", s)
	}
	c.accessKey = strings.Join(parts[:n-4], "/")
	c.date, c.region = parts[n-4], parts[n-3]
	switch {
	case c.accessKey == "":
		return c, wrapf(bad, "credential has an empty access key")
	case !validDate(c.date):
		return c, wrapf(bad, "credential date %q is not yyyymmdd", c.date)
	case c.region == "":
		return c, wrapf(bad, "credential has an empty region")
	case parts[n-2] != serviceS3:
		return c, wrapf(bad, "credential service %q is not s3", parts[n-2])
	case parts[n-1] != terminator:
		return c, wrapf(bad, "credential does not end in aws4_request")
	}
	return c, nil
}

func validDate(d string) bool {
	if len(d) != 8 {
		return false
	}
	_, err := time.Parse(yyyymmdd, d)
	return err == nil
}

// parseSignedHeaders checks "host;range;x-amz-date": non-empty lower-case
// token names, no duplicates, host included. The order is kept as sent
// because the client hashed exactly that list.
func parseSignedHeaders(s string, bad error) ([]string, error) {
	if s == "" {
		return nil, wrapf(bad, "empty SignedHeaders")
	}
	names := strings.Split(s, ";")
	// The list is parsed before the access key is looked up, so its cost
	// must stay linear in its length: 15,000 names fit in the headers a
	// server allows, and a scan of the names before each is quadratic.
	seen := make(map[string]struct{}, len(names))
	host := false
	for _, n := range names {
		if n == "" {
			return nil, wrapf(bad, "empty name in SignedHeaders")
		}
		for j := 0; j < len(n); j++ {
			if !isLowerToken(n[j]) {
				return nil, wrapf(bad, "SignedHeaders name %q is not a lower-case header name", n)
			}
		}
		if _, dup := seen[n]; dup {
			return nil, wrapf(bad, "SignedHeaders lists %q twice", n)
		}
		seen[n] = struct{}{}
		host = host || n == "host"
	}
	if !host {
		return nil, wrapf(bad, "SignedHeaders does not include host")
	}
	return names, nil
}

// isLowerToken reports whether c may appear in a lower-cased header name
// (RFC 9110 tchar without upper-case letters).
func isLowerToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseSignature decodes a 64-digit hex signature.
func parseSignature(s string, bad error) ([32]byte, error) {
	var sig [32]byte
	if len(s) != 64 {
		return sig, wrapf(bad, "signature is not 64 hex digits")
	}
	if _, err := hex.Decode(sig[:], []byte(s)); err != nil {
		return sig, wrapf(bad, "signature is not 64 hex digits")
	}
	return sig, nil
}

// deriveKey computes the signing key for a credential scope.
func deriveKey(secret, date, region string) [32]byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k[:], region)
	k = hmacSum(k[:], serviceS3)
	return hmacSum(k[:], terminator)
}

func hmacSum(key []byte, data string) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// signString returns HMAC(key, "AWS4-HMAC-SHA256\n" amzDate "\n" scope "\n" hex(SHA256(canonical))).
func signString(key [32]byte, amzDate, scope, canonical string) [32]byte {
	h := sha256.Sum256([]byte(canonical))
	var hx [64]byte
	hex.Encode(hx[:], h[:])
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(algorithm + "\n" + amzDate + "\n" + scope + "\n"))
	m.Write(hx[:])
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// queryPair is one decoded query parameter.
type queryPair = rawquery.Pair

// parseQuery splits a raw query into decoded pairs (see rawquery.Parse).
func parseQuery(raw string) []queryPair { return rawquery.Parse(raw) }

// canonicalQuery encodes pairs with UriEncode, sorts them by key then value,
// and joins them; a pair whose key is skip (X-Amz-Signature) is left out.
func canonicalQuery(pairs []queryPair, skip string) string {
	return canonicalQueries(pairs, skip)[0]
}

// canonicalQueries returns the canonical query as SigV4 defines it (sorted
// by key, then value) and, when it differs, the form minio-go signs, which
// keeps the values of a repeated key in request order. Both are the same
// set of parameters, so accepting either widens nothing.
func canonicalQueries(pairs []queryPair, skip string) []string {
	enc := make([]queryPair, 0, len(pairs))
	for _, p := range pairs {
		if skip != "" && p.Key == skip {
			continue
		}
		enc = append(enc, queryPair{Key: uriEncode(p.Key, false), Value: uriEncode(p.Value, false)})
	}
	byKey := func(a, b queryPair) int { return strings.Compare(a.Key, b.Key) }
	stable := slices.Clone(enc)
	slices.SortStableFunc(stable, byKey)
	slices.SortFunc(enc, func(a, b queryPair) int {
		if c := byKey(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	first, second := joinQuery(enc), joinQuery(stable)
	if first == second {
		return []string{first}
	}
	return []string{first, second}
}

func joinQuery(pairs []queryPair) string {
	var sb strings.Builder
	for i, p := range pairs {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(p.Key)
		sb.WriteByte('=')
		sb.WriteString(p.Value)
	}
	return sb.String()
}

// uriEncode is AWS's UriEncode: every byte except A-Z a-z 0-9 - _ . ~ becomes
// %XX (upper-case hex); '/' is kept when keepSlash (object key paths).
func uriEncode(s string, keepSlash bool) string {
	const hexdig = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && (s[i] != '/' || !keepSlash) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && keepSlash) {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexdig[c>>4])
		sb.WriteByte(hexdig[c&15])
	}
	return sb.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// canonicalPaths returns the canonical URI candidates for r: first the
// decoded path encoded the AWS way (what SDKs and minio-go sign, and what
// makes "/test$file.text" sign as "/test%24file.text"), then the escaped path
// as sent when that differs (a client that signed its own wire form). Both
// decode to the same object key, so accepting either widens nothing.
func canonicalPaths(u *url.URL) []string {
	p := u.Path
	if p == "" {
		p = "/"
	}
	first := uriEncode(p, true)
	sent := u.EscapedPath()
	if sent == "" {
		sent = "/"
	}
	if sent == first {
		return []string{first}
	}
	return []string{first, sent}
}

// canonicalHeaders writes "name:value\n" for each signed header. Values are
// trimmed, inner runs of spaces collapse to one, and repeated headers join
// with ','. Go's server moves Host, Content-Length (sometimes) and
// Transfer-Encoding out of r.Header; they are read back from r.
func canonicalHeaders(sb *strings.Builder, r *http.Request, signed []string) {
	for _, name := range signed {
		sb.WriteString(name)
		sb.WriteByte(':')
		switch vals := r.Header.Values(name); {
		case name == "host":
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			sb.WriteString(trimAll(host))
		case len(vals) > 0:
			for i, v := range vals {
				if i > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(trimAll(v))
			}
		case name == "content-length" && r.ContentLength >= 0:
			sb.WriteString(strconv.FormatInt(r.ContentLength, 10))
		case name == "transfer-encoding" && len(r.TransferEncoding) > 0:
			sb.WriteString(strings.Join(r.TransferEncoding, ","))
		}
		sb.WriteByte('\n')
	}
}

// trimAll trims spaces and tabs at both ends and collapses inner runs of
// spaces to one, as SigV4's Trimall does.
func trimAll(v string) string {
	v = strings.Trim(v, " \t")
	if !strings.Contains(v, "  ") {
		return v
	}
	var sb strings.Builder
	sb.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		sb.WriteByte(v[i])
	}
	return sb.String()
}

// canonicalRequest assembles the canonical request for one path candidate.
func canonicalRequest(r *http.Request, path, query string, signed []string, payloadHash string) string {
	var sb strings.Builder
	sb.Grow(256 + len(path) + len(query))
	sb.WriteString(r.Method)
	sb.WriteByte('\n')
	sb.WriteString(path)
	sb.WriteByte('\n')
	sb.WriteString(query)
	sb.WriteByte('\n')
	canonicalHeaders(&sb, r, signed)
	sb.WriteByte('\n')
	for i, n := range signed {
		if i > 0 {
			sb.WriteByte(';')
		}
		sb.WriteString(n)
	}
	sb.WriteByte('\n')
	sb.WriteString(payloadHash)
	return sb.String()
}
