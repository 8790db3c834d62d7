package admin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/objstore/objstore/storage"
)

// UsageSource counts bucket usage: *s3api.Quotas, which also enforces
// the quotas set here.
type UsageSource interface {
	// Usage returns a bucket's usage, counting it first if need be.
	Usage(ctx context.Context, bucket string) (storage.BucketUsage, error)
	// Recount counts the bucket again now.
	Recount(ctx context.Context, bucket string) (storage.BucketUsage, error)
	// CachedUsage returns the usage without waiting, if counted.
	CachedUsage(bucket string) (storage.BucketUsage, bool)
}

// BucketUsage is a bucket's usage. Bytes are logical: what clients
// stored and read back (plaintext), not ciphertext or erasure-coded
// shards.
type BucketUsage struct {
	// Objects counts keys with a current version, Versions every
	// version (noncurrent ones included).
	Objects  int64 `json:"objects"`
	Versions int64 `json:"versions"`
	// CurrentBytes are the bytes of current versions, TotalBytes of all
	// versions; the quota applies to TotalBytes plus UploadBytes.
	CurrentBytes int64 `json:"currentBytes"`
	TotalBytes   int64 `json:"totalBytes"`
	// StoredBytes is TotalBytes as stored (ciphertext, before erasure
	// coding).
	StoredBytes int64 `json:"storedBytes"`
	// Uploads counts multipart uploads in progress, UploadBytes the bytes
	// of their parts.
	Uploads     int64 `json:"uploads"`
	UploadBytes int64 `json:"uploadBytes"`
	// ComputedAt is when the walk this count started from looked at the
	// bucket; changes made through this server since are included.
	ComputedAt time.Time `json:"computedAt"`
}

func usageOf(u storage.BucketUsage) *BucketUsage {
	return &BucketUsage{Objects: u.Objects, Versions: u.Versions, CurrentBytes: u.CurrentBytes, TotalBytes: u.TotalBytes,
		StoredBytes: u.StoredBytes, Uploads: u.Uploads, UploadBytes: u.UploadBytes, ComputedAt: u.ComputedAt}
}

// BucketUsageResponse is the GET /buckets/{name}/usage response.
type BucketUsageResponse struct {
	Bucket string `json:"bucket"`
	// Quota is the hard quota in bytes, 0 for none.
	Quota int64 `json:"quotaBytes"`
	BucketUsage
}

// QuotaRequest is the PUT /buckets/{name}/quota body.
type QuotaRequest struct {
	// Quota in bytes; 0 removes the quota. Required: a body without it
	// is refused rather than taken as 0.
	Quota int64 `json:"quotaBytes"`
}

// errNoUsage answers the usage endpoint of a server that counts none.
var errNoUsage = &Error{Status: http.StatusServiceUnavailable, Code: "UsageUnavailable", Message: "this server does not count bucket usage"}

func (h *Handler) bucketUsage(c *call) error {
	c.bucket = c.r.PathValue("name")
	if h.cfg.Usage == nil {
		return errNoUsage
	}
	b, err := h.cfg.Store.BucketInfo(c.ctx, c.bucket)
	if err != nil {
		return fmt.Errorf("admin: bucket %q: %w", c.bucket, err)
	}
	var u storage.BucketUsage
	switch v := c.r.URL.Query().Get("refresh"); v {
	case "", "false":
		u, err = h.cfg.Usage.Usage(c.ctx, c.bucket)
	case "true":
		u, err = h.cfg.Usage.Recount(c.ctx, c.bucket)
	default:
		return badRequest("refresh must be true or false, not %q", v)
	}
	if err != nil {
		return fmt.Errorf("admin: bucket %q usage: %w", c.bucket, err)
	}
	return c.writeJSON(http.StatusOK, BucketUsageResponse{Bucket: c.bucket, Quota: bucketOf(b).Quota, BucketUsage: *usageOf(u)})
}

// setQuota records the quota in the bucket's metadata, where the S3
// path reads it on every write.
func (h *Handler) setQuota(c *call) error {
	c.bucket = c.r.PathValue("name")
	// QuotaRequest's shape, with a pointer to tell a missing quotaBytes
	// (or a null one, or a null body) from 0: a body that lost its field
	// must not remove the quota.
	var req struct {
		Quota *int64 `json:"quotaBytes"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.Quota == nil {
		return badRequest("quotaBytes is required (0 removes the quota)")
	}
	quota := *req.Quota
	if quota < 0 {
		return badRequest("quotaBytes must not be negative")
	}
	c.detail = "quota " + strconv.FormatInt(quota, 10)
	info, err := h.cfg.Store.UpdateBucketMetadata(c.ctx, c.bucket, func(md map[string]string) error {
		if quota == 0 {
			delete(md, quotaKey)
		} else {
			md[quotaKey] = strconv.FormatInt(quota, 10)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("admin: bucket %q quota: %w", c.bucket, err)
	}
	return c.writeJSON(http.StatusOK, bucketOf(info))
}
