package s3api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/objstore/objstore/s3api/checksum"
	"github.com/objstore/objstore/storage"
)

// Metadata keys s3api stores in storage.ObjectInfo.Metadata. Content
// headers and x-amz-meta-* are stored under their lower-case header name;
// checksums under x-amz-checksum-<alg>.
const (
	mdContentType        = "content-type"
	mdChecksumType       = "x-amz-checksum-type"      // COMPOSITE or FULL_OBJECT
	mdChecksumAlgorithm  = "x-amz-checksum-algorithm" // multipart uploads, kept by the objects they complete
	userMetaPrefix       = "x-amz-meta-"
	defaultContentType   = "binary/octet-stream"
	maxUserMetadataBytes = 2 << 10 // AWS: user metadata limited to 2 KB

	// mdInitiator names the IAM user who started a multipart upload
	// (absent for root and anonymous requests); under
	// storage.UploadMetadataPrefix, it stays with the upload.
	mdInitiator = storage.UploadMetadataPrefix + "initiator"
)

// contentHeaders are the standard headers stored at PUT and returned at
// GET/HEAD; each may be overridden on GET by a response-* parameter.
var contentHeaders = [...]struct{ header, override string }{
	{"Content-Type", "response-content-type"},
	{"Content-Language", "response-content-language"},
	{"Expires", "response-expires"},
	{"Cache-Control", "response-cache-control"},
	{"Content-Disposition", "response-content-disposition"},
	{"Content-Encoding", "response-content-encoding"},
}

// checksumAlgorithms are the algorithms S3 defines, in the order their
// headers are emitted.
var checksumAlgorithms = [...]checksum.Algorithm{
	checksum.CRC32, checksum.CRC32C, checksum.CRC64NVME, checksum.SHA1, checksum.SHA256,
	checksum.MD5, checksum.SHA512, checksum.XXHASH64, checksum.XXHASH3, checksum.XXHASH128,
}

// objectMetadata extracts what a PUT, CopyObject with REPLACE, or
// CreateMultipartUpload stores: the content headers and x-amz-meta-*.
func objectMetadata(h http.Header) (map[string]string, error) {
	md := make(map[string]string)
	for _, ch := range contentHeaders {
		v := strings.TrimSpace(h.Get(ch.header))
		if ch.header == "Content-Encoding" {
			v = stripAWSChunked(v)
		}
		if v != "" {
			md[strings.ToLower(ch.header)] = v
		}
	}
	if md[mdContentType] == "" {
		md[mdContentType] = defaultContentType
	}
	user := 0
	for k, vs := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, userMetaPrefix) || len(lk) == len(userMetaPrefix) {
			continue
		}
		v := strings.Join(vs, ",")
		md[lk] = v
		// AWS counts the key without its prefix plus the value.
		user += len(lk) - len(userMetaPrefix) + len(v)
	}
	if user > maxUserMetadataBytes {
		return nil, fmt.Errorf("%w: %d bytes of user metadata", errMetadataTooLarge, user)
	}
	return md, nil
}

// stripAWSChunked removes the aws-chunked coding, which describes the
// transfer and is not part of the stored object.
func stripAWSChunked(v string) string {
	if v == "" {
		return ""
	}
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" && !strings.EqualFold(p, "aws-chunked") {
			out = append(out, p)
		}
	}
	return strings.Join(out, ",")
}

// setObjectHeaders writes the headers GET and HEAD answer with for info.
// Checksums are included only when the client asked with
// x-amz-checksum-mode: ENABLED.
func setObjectHeaders(h http.Header, info storage.ObjectInfo, withChecksums bool) {
	h.Set("ETag", quoteETag(info.ETag))
	h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	for _, ch := range contentHeaders {
		if v := info.Metadata[strings.ToLower(ch.header)]; v != "" {
			h.Set(ch.header, v)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", defaultContentType)
	}
	// Sorted so that responses are deterministic.
	keys := make([]string, 0, len(info.Metadata))
	for k := range info.Metadata {
		if strings.HasPrefix(k, userMetaPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		// Sent lower-case, as AWS does: SDKs such as botocore keep the
		// name after x-amz-meta- as it arrives, so a canonicalised
		// "X-Amz-Meta-Color" would come back to them as key "Color".
		h[k] = []string{info.Metadata[k]}
	}
	if info.VersionID != "" && info.VersionID != storage.NullVersionID {
		h.Set("x-amz-version-id", info.VersionID)
	}
	if withChecksums {
		setChecksumHeaders(h, info.Metadata)
	}
}

// setChecksumHeaders copies the stored checksums of md into h.
func setChecksumHeaders(h http.Header, md map[string]string) {
	found := false
	for _, a := range checksumAlgorithms {
		if v := md[a.Header()]; v != "" {
			h.Set(a.Header(), v)
			found = true
		}
	}
	if t := md[mdChecksumType]; found && t != "" {
		h.Set(mdChecksumType, t)
	}
}

// setPartChecksumHeaders sets the checksums one part of a multipart
// object was uploaded with, for GetObject?partNumber: AWS answers such a
// read with the part's own checksum, not the object's. The default
// CRC64NVME is left out, as AWS leaves it out of part reads, unless the
// upload was created with it (alg, the upload's x-amz-checksum-algorithm).
func setPartChecksumHeaders(h http.Header, md map[string]string, alg checksum.Algorithm) {
	for _, a := range checksumAlgorithms {
		if v := md[a.Header()]; v != "" && (a != checksum.Default || a == alg) {
			h.Set(a.Header(), v)
		}
	}
}

// hasResponseOverrides reports whether q holds a response-* parameter
// that applyResponseOverrides would apply.
func hasResponseOverrides(q url.Values) bool {
	for _, ch := range contentHeaders {
		if q.Get(ch.override) != "" {
			return true
		}
	}
	return false
}

// applyResponseOverrides applies the response-* query parameters of GET.
func applyResponseOverrides(h http.Header, q url.Values) {
	for _, ch := range contentHeaders {
		if v := q.Get(ch.override); v != "" {
			h.Set(ch.header, v)
		}
	}
}

// checksumsOf collects the stored checksums of md for an XML body.
func checksumsOf(md map[string]string) checksums {
	var c checksums
	for _, a := range checksumAlgorithms {
		c.set(a, md[a.Header()])
	}
	return c
}

func (c *checksums) set(a checksum.Algorithm, v string) {
	switch a {
	case checksum.CRC32:
		c.ChecksumCRC32 = v
	case checksum.CRC32C:
		c.ChecksumCRC32C = v
	case checksum.CRC64NVME:
		c.ChecksumCRC64NVME = v
	case checksum.SHA1:
		c.ChecksumSHA1 = v
	case checksum.SHA256:
		c.ChecksumSHA256 = v
	case checksum.MD5:
		c.ChecksumMD5 = v
	case checksum.SHA512:
		c.ChecksumSHA512 = v
	case checksum.XXHASH64:
		c.ChecksumXXHASH64 = v
	case checksum.XXHASH3:
		c.ChecksumXXHASH3 = v
	case checksum.XXHASH128:
		c.ChecksumXXHASH128 = v
	}
}

func (c checksums) get(a checksum.Algorithm) string {
	switch a {
	case checksum.CRC32:
		return c.ChecksumCRC32
	case checksum.CRC32C:
		return c.ChecksumCRC32C
	case checksum.CRC64NVME:
		return c.ChecksumCRC64NVME
	case checksum.SHA1:
		return c.ChecksumSHA1
	case checksum.SHA256:
		return c.ChecksumSHA256
	case checksum.MD5:
		return c.ChecksumMD5
	case checksum.SHA512:
		return c.ChecksumSHA512
	case checksum.XXHASH64:
		return c.ChecksumXXHASH64
	case checksum.XXHASH3:
		return c.ChecksumXXHASH3
	case checksum.XXHASH128:
		return c.ChecksumXXHASH128
	}
	return ""
}

// quoteETag returns the ETag as S3 sends it: in double quotes.
func quoteETag(etag string) string {
	return `"` + trimETag(etag) + `"`
}

// trimETag removes surrounding quotes and a weak-validator prefix.
func trimETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		etag = etag[1 : len(etag)-1]
	}
	return etag
}

// --- Range -------------------------------------------------------------

// byteRange is a parsed single "bytes=" range. A suffix range (-n) has
// suffix set and length n in last; an open range (a-) has last = -1.
type byteRange struct {
	first, last int64
	suffix      bool
}

// parseRange parses a Range header. ok is false when the header is
// absent or must be ignored as HTTP says: another unit, several ranges,
// or a syntax error (then the whole object is returned with 200, as AWS
// does).
func parseRange(v string) (r byteRange, ok bool) {
	v = strings.TrimSpace(v)
	const unit = "bytes="
	if len(v) < len(unit) || !strings.EqualFold(v[:len(unit)], unit) {
		return byteRange{}, false
	}
	spec := strings.TrimSpace(v[len(unit):])
	if strings.Contains(spec, ",") {
		return byteRange{}, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return byteRange{}, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" {
		n, ok := parseRangeInt(b)
		if !ok {
			return byteRange{}, false
		}
		return byteRange{last: n, suffix: true}, true
	}
	first, ok := parseRangeInt(a)
	if !ok {
		return byteRange{}, false
	}
	if b == "" {
		return byteRange{first: first, last: -1}, true
	}
	last, ok := parseRangeInt(b)
	if !ok || last < first {
		return byteRange{}, false
	}
	return byteRange{first: first, last: last}, true
}

// parseRangeInt parses a non-negative decimal; values past int64
// saturate, which keeps them unsatisfiable or clamped as they should be.
func parseRangeInt(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt64, true // only range errors remain
	}
	return n, true
}

// resolve turns the range into an offset and a length within an object
// of size bytes, or a *rangeError when it is not satisfiable.
func (r byteRange) resolve(size int64) (offset, length int64, err error) {
	if r.suffix {
		if r.last == 0 || size == 0 {
			return 0, 0, &rangeError{size: size}
		}
		n := min(r.last, size)
		return size - n, n, nil
	}
	if r.first >= size {
		return 0, 0, &rangeError{size: size}
	}
	last := r.last
	if last < 0 || last >= size {
		last = size - 1
	}
	return r.first, last - r.first + 1, nil
}

// ifRangeHolds reports whether a Range header is to be honoured under
// an If-Range header v (RFC 9110 13.1.5): always without one; with an
// entity tag, when it is strong and the object's; with a date, when it
// is exactly the object's Last-Modified and that is a strong validator,
// at least a second before now (two versions written within the second
// share it). Otherwise the whole object is sent with 200, so a client
// resuming a download of a version that has since been replaced gets the
// new one whole, not a splice of the two.
func ifRangeHolds(v, etag string, modTime, now time.Time) bool {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return true
	case strings.HasPrefix(v, "W/"):
		return false // If-Range compares strongly; a weak tag never matches
	case strings.HasPrefix(v, `"`):
		return len(v) >= 2 && v[len(v)-1] == '"' && trimETag(v) == trimETag(etag)
	}
	t, err := http.ParseTime(v)
	return err == nil && t.Equal(modTime.UTC().Truncate(time.Second)) && now.Sub(modTime) >= time.Second
}

// --- Conditional requests ---------------------------------------------

// conditions are the HTTP preconditions of a request. The times are zero
// when the header is absent or not a valid HTTP date (then HTTP says to
// ignore it).
type conditions struct {
	ifMatch           string
	ifNoneMatch       string
	ifModifiedSince   time.Time
	ifUnmodifiedSince time.Time
}

// readConditions reads If-* headers, or x-amz-copy-source-if-* ones
// when prefix is "x-amz-copy-source-".
func readConditions(h http.Header, prefix string) conditions {
	return conditions{
		ifMatch:           strings.TrimSpace(h.Get(prefix + "If-Match")),
		ifNoneMatch:       strings.TrimSpace(h.Get(prefix + "If-None-Match")),
		ifModifiedSince:   parseHTTPDate(h.Get(prefix + "If-Modified-Since")),
		ifUnmodifiedSince: parseHTTPDate(h.Get(prefix + "If-Unmodified-Since")),
	}
}

func parseHTTPDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// etagComparison is one of RFC 9110's two ways to compare entity tags
// (8.8.3.2).
type etagComparison bool

const (
	// strongComparison: both tags strong and equal. If-Match uses it:
	// a weak tag W/"x" promises no byte-for-byte identity, so it never
	// matches, and a write or range read it guards must not go ahead.
	strongComparison etagComparison = false
	// weakComparison: equal once W/ is dropped. If-None-Match uses it.
	weakComparison etagComparison = true
)

// etagMatches reports whether an If-Match / If-None-Match list names
// etag (a stored ETag, always strong) under cmp. "*" matches any
// existing object. Unquoted tags are taken as clients send them.
func etagMatches(list, etag string, cmp etagComparison) bool {
	etag = trimETag(etag)
	for _, cand := range strings.Split(list, ",") {
		cand = strings.TrimSpace(cand)
		if cand == "*" {
			return true
		}
		if strings.HasPrefix(cand, "W/") && cmp == strongComparison {
			continue
		}
		if cand != "" && trimETag(cand) == etag {
			return true
		}
	}
	return false
}

// modifiedAfter compares at the one-second resolution of HTTP dates.
func modifiedAfter(mod, t time.Time) bool {
	return mod.Truncate(time.Second).After(t)
}

// evalRead evaluates the preconditions of GET and HEAD against the
// object's validators, with AWS's precedence: a true If-Match overrides
// a false If-Unmodified-Since, and a false If-None-Match with a true
// If-Modified-Since still answers 304. It returns nil, a 412 error or a
// 304 error.
func (c conditions) evalRead(etag string, mod time.Time) error {
	if c.ifMatch != "" {
		if !etagMatches(c.ifMatch, etag, strongComparison) {
			return fmt.Errorf("s3api: If-Match: %w", storage.ErrPreconditionFailed)
		}
	} else if !c.ifUnmodifiedSince.IsZero() && modifiedAfter(mod, c.ifUnmodifiedSince) {
		return fmt.Errorf("s3api: If-Unmodified-Since: %w", storage.ErrPreconditionFailed)
	}
	notModified := &notModifiedError{etag: quoteETag(etag), lastModified: mod.UTC().Format(http.TimeFormat)}
	if c.ifNoneMatch != "" {
		if etagMatches(c.ifNoneMatch, etag, weakComparison) {
			return notModified
		}
	} else if !c.ifModifiedSince.IsZero() && !modifiedAfter(mod, c.ifModifiedSince) {
		return notModified
	}
	return nil
}

// withCaching fills e's Cache-Control and Expires from the object's
// metadata md, or from the response-* overrides in q, as a 200 to the
// same request would; it returns err unchanged when err is not e's kind.
func withCaching(err error, md map[string]string, q url.Values) error {
	var e *notModifiedError
	if !errors.As(err, &e) {
		return err
	}
	e.cacheControl, e.expires = md["cache-control"], md["expires"]
	if v := q.Get("response-cache-control"); v != "" {
		e.cacheControl = v
	}
	if v := q.Get("response-expires"); v != "" {
		e.expires = v
	}
	return err
}

// evalCopySource evaluates x-amz-copy-source-if-* conditions: the same
// precedence as evalRead, but every failure is a 412.
func (c conditions) evalCopySource(etag string, mod time.Time) error {
	err := c.evalRead(etag, mod)
	if errors.Is(err, errNotModified) {
		return fmt.Errorf("s3api: copy source: %w", storage.ErrPreconditionFailed)
	}
	return err
}

// writeConditions are the preconditions of a write (PutObject,
// CompleteMultipartUpload, CopyObject destination).
type writeConditions struct {
	ifMatch     string // an ETag list, or "*"
	ifNoneMatch bool   // If-None-Match: *
}

// readWriteConditions reads If-Match and If-None-Match of a write.
// If-None-Match accepts only "*", as in AWS.
func readWriteConditions(h http.Header) (writeConditions, error) {
	var w writeConditions
	w.ifMatch = strings.TrimSpace(h.Get("If-Match"))
	if v := strings.TrimSpace(h.Get("If-None-Match")); v != "" {
		if v != "*" {
			return w, withMessage(errNotImplemented, "If-None-Match on a write accepts only '*'.")
		}
		w.ifNoneMatch = true
	}
	return w, nil
}

func (w writeConditions) any() bool { return w.ifMatch != "" || w.ifNoneMatch }

// check evaluates the conditions against the current version, nil if
// there is none. AWS answers 404 NoSuchKey when If-Match names an
// object that does not exist, and 412 otherwise.
func (w writeConditions) check(current *storage.ObjectInfo) error {
	if w.ifNoneMatch && current != nil {
		return fmt.Errorf("s3api: If-None-Match: object exists: %w", storage.ErrPreconditionFailed)
	}
	if w.ifMatch != "" {
		if current == nil {
			return fmt.Errorf("s3api: If-Match: %w", storage.ErrObjectNotFound)
		}
		if !etagMatches(w.ifMatch, current.ETag, strongComparison) {
			return fmt.Errorf("s3api: If-Match: %w", storage.ErrPreconditionFailed)
		}
	}
	return nil
}

// precondition returns the callback storage runs under its object lock,
// nil when there is nothing to check.
func (w writeConditions) precondition() func(*storage.ObjectInfo) error {
	if !w.any() {
		return nil
	}
	return w.check
}

// --- Keys and buckets --------------------------------------------------

// validBucketName applies AWS's rules for general purpose bucket names.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
			if p := name[i-1]; p == '.' && c == '.' || p == '.' && c == '-' || p == '-' && c == '.' {
				return false
			}
		default:
			return false
		}
	}
	if looksLikeIPv4(name) {
		return false
	}
	for _, p := range [...]string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range [...]string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

// looksLikeIPv4 reports four dot-separated decimal groups.
func looksLikeIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// checkObjectKey enforces what S3 allows in a key: 1..1024 bytes of
// valid UTF-8.
func checkObjectKey(key string) error {
	if key == "" {
		return withMessage(errInvalidArgument, "Object key must not be empty.")
	}
	if len(key) > storage.MaxObjectKeyLen {
		return fmt.Errorf("%w: %d bytes", errKeyTooLong, len(key))
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: key is not valid UTF-8", errInvalidURI)
	}
	return nil
}
