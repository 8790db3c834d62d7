package sigv2

import (
	"bytes"
	"net/http"
	"slices"
	"strings"

	"github.com/objstore/objstore/s3api/internal/rawquery"
)

// queryPair is one decoded query parameter, in the order sent.
type queryPair = rawquery.Pair

// parseQuery splits a raw query into decoded pairs (see rawquery.Parse).
func parseQuery(raw string) []queryPair { return rawquery.Parse(raw) }

// isSubResource reports whether a query parameter belongs in the
// CanonicalizedResource: the AWS documentation's list, and what minio-go
// and botocore add to it (each client signs exactly its own list, so every
// name either of them signs must be here, or its requests fail), and
// policyStatus, which none of them signs: unsigned, it would turn a
// signed request for a bucket (a presigned listing) into
// GetBucketPolicyStatus, an operation of another permission.
func isSubResource(k string) bool {
	switch k {
	case "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete",
		"encryption", "inventory", "legal-hold", "lifecycle", "location", "logging",
		"metrics", "notification", "object-lock", "partNumber", "policy", "policyStatus",
		"replication", "requestPayment", "restore", "retention", "select",
		"select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads",
		"versionId", "versioning", "versions", "website",
		"response-cache-control", "response-content-disposition",
		"response-content-encoding", "response-content-language",
		"response-content-type", "response-expires":
		return true
	}
	return false
}

// writeResource writes the CanonicalizedResource: "/" bucket when the
// bucket came from the Host header, the path, then the sub-resources
// sorted by name (stable, so repeated ones keep their order), values
// decoded, "=value" left out for an empty value.
func writeResource(sb *strings.Builder, hostBucket, path string, q []queryPair) {
	if hostBucket != "" {
		sb.WriteByte('/')
		sb.WriteString(hostBucket)
	}
	sb.WriteString(path)
	var subs []queryPair
	for _, p := range q {
		if isSubResource(p.Key) {
			subs = append(subs, p)
		}
	}
	slices.SortStableFunc(subs, func(a, b queryPair) int { return strings.Compare(a.Key, b.Key) })
	for i, p := range subs {
		if i == 0 {
			sb.WriteByte('?')
		} else {
			sb.WriteByte('&')
		}
		sb.WriteString(p.Key)
		if p.Value != "" {
			sb.WriteByte('=')
			sb.WriteString(p.Value)
		}
	}
}

// writeAmzHeaders writes the CanonicalizedAmzHeaders: every x-amz-*
// header, name lower-cased, values trimmed and joined by ',', sorted by
// name, one "name:value\n" each. A presigned URL's x-amz-* query
// parameters count because PromoteQueryHeaders made them headers first:
// what is signed is then exactly what the handler acts on.
func writeAmzHeaders(sb *strings.Builder, h http.Header, omitAmzDate bool) {
	vals := make(map[string][]string)
	for k, vv := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") && !(omitAmzDate && lk == "x-amz-date") {
			vals[lk] = append(vals[lk], vv...)
		}
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		sb.WriteString(k)
		sb.WriteByte(':')
		for i, v := range vals[k] {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(unfold(v))
		}
		sb.WriteByte('\n')
	}
}

// unfold trims a header value and replaces each line break, with the
// whitespace around it, by one space (RFC 2616 folding). net/http already
// unfolds what it reads from the wire; this covers values set in code.
func unfold(v string) string {
	v = strings.TrimSpace(v)
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); {
		if v[i] != '\r' && v[i] != '\n' {
			b = append(b, v[i])
			i++
			continue
		}
		// One space stands for the whitespace before the break, the break
		// and the next line's indentation.
		b = bytes.TrimRight(b, " \t")
		for i < len(v) && (v[i] == '\r' || v[i] == '\n' || v[i] == ' ' || v[i] == '\t') {
			i++
		}
		b = append(b, ' ')
	}
	return string(b)
}

// form is one way of reading a request into a string to sign. A request
// normally has one; see candidates for when it has more.
type form struct {
	presigned bool
	// dateLine is Date (header auth without x-amz-date), "" (with
	// x-amz-date) or Expires (presigned).
	dateLine string
	// omitAmzDate leaves x-amz-date out of the CanonicalizedAmzHeaders:
	// the form of the AWS documentation's worked DELETE example, which
	// puts x-amz-date's value on the Date line instead.
	omitAmzDate bool
	hostBucket  string
	path        string
}

// stringToSign assembles the string to sign of r read in form f.
func stringToSign(r *http.Request, q []queryPair, f form) string {
	var sb strings.Builder
	sb.Grow(128 + len(f.path))
	sb.WriteString(r.Method)
	sb.WriteByte('\n')
	sb.WriteString(standardHeader(r, "Content-Md5"))
	sb.WriteByte('\n')
	sb.WriteString(standardHeader(r, "Content-Type"))
	sb.WriteByte('\n')
	sb.WriteString(f.dateLine)
	sb.WriteByte('\n')
	writeAmzHeaders(&sb, r.Header, f.omitAmzDate)
	writeResource(&sb, f.hostBucket, f.path, q)
	return sb.String()
}

// standardHeader is a positional header's value (for a presigned URL
// possibly promoted from the query by PromoteQueryHeaders).
func standardHeader(r *http.Request, name string) string {
	return strings.TrimSpace(r.Header.Get(name))
}

// resourcePaths returns the spellings of the request path a signature may
// cover: first the path exactly as sent on the wire, then, when different,
// the decoded path encoded as minio-go and the AWS SDKs encode it. Both
// decode to the path the handler serves.
func resourcePaths(r *http.Request) []string {
	sent := ""
	if uri := r.RequestURI; strings.HasPrefix(uri, "/") {
		sent, _, _ = strings.Cut(uri, "?")
	} else if r.URL != nil {
		sent = r.URL.EscapedPath()
	}
	if sent == "" {
		sent = "/"
	}
	p := "/"
	if r.URL != nil && r.URL.Path != "" {
		p = r.URL.Path
	}
	enc := encodePath(p)
	if enc == sent {
		return []string{sent}
	}
	return []string{sent, enc}
}

// encodePath percent-encodes every byte of p except the unreserved ones
// (A-Z a-z 0-9 - _ . ~) and '/', with upper-case hex.
func encodePath(p string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(p); i++ {
		if !keep(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if keep(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

func keep(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '/'
}
