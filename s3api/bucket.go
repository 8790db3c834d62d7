package s3api

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/objstore/objstore/storage"
)

// maxSmallBody bounds the small XML bodies of bucket requests.
const maxSmallBody = 64 << 10

// maxListBuckets is the largest max-buckets AWS accepts.
const maxListBuckets = 10000

// listBuckets answers GET / with the buckets the caller may list, by
// name, filtered by prefix and paged by max-buckets and
// continuation-token (an opaque token naming the last bucket given).
// Without max-buckets every bucket is listed: clients that never page
// (minio-go's ListBuckets) must not get a silently shortened list. A
// request naming prefix, continuation-token or bucket-region without
// max-buckets is one of a client that pages: AWS gives it pages of
// 10,000, with a token when more follow.
func (h *Handler) listBuckets(rq *request) error {
	buckets, err := h.store.ListBuckets(rq.ctx)
	if err != nil {
		return fmt.Errorf("s3api: list buckets: %w", err)
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].Name < buckets[j].Name })
	prefix := rq.query.Get("prefix")
	maxBuckets := -1 // unpaged, as AWS answers a request without max-buckets
	for _, p := range []string{"prefix", "continuation-token", "bucket-region"} {
		if _, ok := rq.query[p]; ok {
			maxBuckets = maxListBuckets
		}
	}
	if v, ok := rq.query["max-buckets"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxListBuckets {
			return withMessage(errInvalidArgument, "Argument max-buckets must be an integer between 1 and 10000.")
		}
		maxBuckets = n
	}
	var after string
	if v, ok := rq.query["continuation-token"]; ok {
		var err error
		if after, err = parseContinuationToken(v[0]); err != nil {
			return err
		}
	}
	res := listAllMyBucketsResult{Owner: h.owner, Buckets: []bucketItem{}, Prefix: prefix}
	for _, b := range buckets {
		if b.Name <= after || !strings.HasPrefix(b.Name, prefix) || !h.mayListBucket(rq, b.Name) {
			continue
		}
		if len(res.Buckets) == maxBuckets {
			// More follow: the token resumes after the last one given.
			res.ContinuationToken = continuationToken(res.Buckets[len(res.Buckets)-1].Name)
			break
		}
		res.Buckets = append(res.Buckets, bucketItem{Name: b.Name, CreationDate: s3Time(b.Created)})
	}
	return rq.writeXML(http.StatusOK, res)
}

// createBucket answers PUT /<bucket>, with an optional
// CreateBucketConfiguration body naming the LocationConstraint.
func (h *Handler) createBucket(rq *request) error {
	location, err := h.createBucketLocation(rq)
	if err != nil {
		// A caller who may not create buckets at all learns that, not
		// what was wrong with the request.
		if aerr := h.authorizeCreateBucket(rq, ""); aerr != nil {
			return aerr
		}
		return err
	}
	if err := h.authorizeCreateBucket(rq, location); err != nil {
		return err
	}
	if err := h.store.MakeBucket(rq.ctx, rq.bucket, location); err != nil {
		return fmt.Errorf("s3api: create bucket %q: %w", rq.bucket, err)
	}
	rq.w.Header().Set("Location", "/"+rq.bucket)
	return rq.writeEmpty(http.StatusOK)
}

// createBucketLocation checks a CreateBucket's headers and body and
// returns the location it names ("" for none).
func (h *Handler) createBucketLocation(rq *request) (string, error) {
	if strings.EqualFold(rq.r.Header.Get("x-amz-bucket-object-lock-enabled"), "true") {
		return "", withMessage(errNotImplemented, "Object Lock is not implemented.")
	}
	// Buckets are private to their owner, as AWS's default
	// BucketOwnerEnforced ownership makes them: an ACL that would grant
	// more is refused, as PutObject refuses one, instead of being
	// ignored while the client believes the bucket public.
	if err := checkBucketACL(rq.r.Header); err != nil {
		return "", err
	}
	b, err := rq.readBody(maxSmallBody)
	if err != nil {
		return "", err
	}
	if err := verifyOptionalDigest(rq, b, false); err != nil {
		return "", err
	}
	var location string
	if len(strings.TrimSpace(string(b))) > 0 {
		var cfg createBucketConfiguration
		if err := decodeXML(b, &cfg); err != nil {
			return "", err
		}
		location = strings.TrimSpace(cfg.LocationConstraint)
		if location != "" && !storage.ValidLocation(location) {
			return "", fmt.Errorf("%w: %q", errInvalidLocation, location)
		}
		if err := h.checkLocationRegion(location); err != nil {
			return "", err
		}
	}
	return location, nil
}

// headBucket answers HEAD /<bucket>.
func (h *Handler) headBucket(rq *request) error {
	info, err := h.store.BucketInfo(rq.ctx, rq.bucket)
	if err != nil {
		return fmt.Errorf("s3api: head bucket %q: %w", rq.bucket, err)
	}
	rq.w.Header().Set("x-amz-bucket-region", h.bucketRegion(info.Location))
	return rq.writeEmpty(http.StatusOK)
}

func (h *Handler) bucketRegion(location string) string {
	// A location stored before every path checked it (the admin API took
	// any string, NUL bytes included) must not reach a header.
	if location == "" || !storage.ValidLocation(location) {
		return h.region
	}
	return location
}

// deleteBucket answers DELETE /<bucket>.
func (h *Handler) deleteBucket(rq *request) error {
	if err := h.store.DeleteBucket(rq.ctx, rq.bucket); err != nil {
		return fmt.Errorf("s3api: delete bucket %q: %w", rq.bucket, err)
	}
	return rq.writeEmpty(http.StatusNoContent)
}

// getBucketLocation answers GET /<bucket>?location.
func (h *Handler) getBucketLocation(rq *request) error {
	info, err := h.store.BucketInfo(rq.ctx, rq.bucket)
	if err != nil {
		return fmt.Errorf("s3api: bucket location %q: %w", rq.bucket, err)
	}
	return rq.writeXML(http.StatusOK, locationConstraint{Location: h.bucketRegion(info.Location)})
}

// getBucketVersioning answers GET /<bucket>?versioning: versioning has
// never been enabled, which S3 says with an empty configuration.
func (h *Handler) getBucketVersioning(rq *request) error {
	if _, err := h.store.BucketInfo(rq.ctx, rq.bucket); err != nil {
		return fmt.Errorf("s3api: bucket versioning %q: %w", rq.bucket, err)
	}
	return rq.writeXML(http.StatusOK, versioningConfiguration{})
}

// checkBucketACL refuses object ownership other than BucketOwnerEnforced
// on CreateBucket (the others turn ACLs on, which a bucket here does not
// have; silently keeping it enforced would mislead), then ACL headers
// that would grant anything beyond the owner's full control: ACLs are not
// implemented (NotImplemented, as on object writes).
func checkBucketACL(h http.Header) error {
	switch h.Get("x-amz-object-ownership") {
	case "", "BucketOwnerEnforced":
	case "BucketOwnerPreferred", "ObjectWriter":
		return withMessage(errNotImplemented, "Only BucketOwnerEnforced object ownership is implemented.")
	default:
		return withMessage(errInvalidArgument, "Invalid x-amz-object-ownership header.")
	}
	for _, k := range [...]string{
		"x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control",
	} {
		if h.Get(k) != "" {
			return withMessage(errNotImplemented, "The "+k+" header is not implemented.")
		}
	}
	switch h.Get("x-amz-acl") {
	case "", "private":
		return nil
	}
	return withMessage(errNotImplemented, "Only private ACLs are implemented.")
}
