package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// UsageOptions configures BucketUsage.
type UsageOptions struct {
	// LogicalSize maps the stored size of one part (a simple PUT has one
	// part) to the size clients see: the plaintext size when the layers
	// above encrypt. nil counts stored sizes.
	LogicalSize func(stored int64) int64
	// SkipUploads leaves multipart uploads in progress out: their parts
	// cost one more metadata walk per upload.
	SkipUploads bool
}

// BucketUsage is what one bucket holds, as a walk over its metadata
// found it.
type BucketUsage struct {
	Bucket string
	// Objects counts keys with a current version; Versions counts every
	// version, current and noncurrent.
	Objects, Versions int64
	// CurrentBytes are the logical bytes of current versions, TotalBytes
	// those of every version.
	CurrentBytes, TotalBytes int64
	// StoredBytes are TotalBytes as stored (ciphertext, before erasure
	// coding; the drives hold (k+m)/k times that).
	StoredBytes int64
	// Uploads counts multipart uploads in progress, UploadBytes the
	// logical bytes of their uploaded parts.
	Uploads, UploadBytes int64
	// ComputedAt is when the walk took its snapshot of the metadata.
	ComputedAt time.Time
}

// BucketUsage counts a bucket's objects, versions, bytes and multipart
// uploads by walking its metadata: the drives' object records merged the
// way listing merges them (a key counts where a read quorum of its set
// agrees on it), then the upload records and each upload's parts.
//
// The object walk reads one consistent snapshot per drive (pebble
// iterators are point-in-time views), taken at ComputedAt: writes that
// commit later are not in the result, which is what lets a caller keep
// its own count of changes since ComputedAt. Uploads are read after the
// objects, not from that snapshot. The cost is one pass over the
// bucket's keys on every drive; nothing is cached here.
func (s *Store) BucketUsage(ctx context.Context, bucket string, opts UsageOptions) (BucketUsage, error) {
	u := BucketUsage{Bucket: bucket}
	if err := s.checkBucket(bucket); err != nil {
		return u, err
	}
	logical := opts.LogicalSize
	if logical == nil {
		logical = func(n int64) int64 { return n }
	}
	u.ComputedAt = s.cfg.Now().UTC()
	if err := s.usageObjects(ctx, bucket, logical, &u); err != nil {
		return BucketUsage{Bucket: bucket}, err
	}
	if !opts.SkipUploads {
		if err := s.usageUploads(ctx, bucket, logical, &u); err != nil {
			return BucketUsage{Bucket: bucket}, err
		}
	}
	return u, nil
}

// usageObjects adds up the object records of bucket.
func (s *Store) usageObjects(ctx context.Context, bucket string, logical func(int64) int64, u *BucketUsage) error {
	lower := objectKey(bucket, "")
	m := newMergeIter(ctx, s.allDrives(), lower, prefixEnd(lower))
	defer m.close()
	if err := s.listQuorum(m); err != nil {
		return fmt.Errorf("storage: usage of %s: %w", bucket, err)
	}
	n := 0
	for ok := m.seek(nil); ok; ok = m.next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("storage: usage of %s: %w", bucket, err)
			}
		}
		rec, err := s.resolveListedRecord(m.values)
		if err != nil {
			return fmt.Errorf("storage: usage of %s at %q: %w", bucket, m.key[len(lower):], err)
		}
		for i := range rec.Versions {
			v := &rec.Versions[i]
			size := versionLogicalSize(v, logical)
			if i == 0 {
				u.Objects++
				u.CurrentBytes += size
			}
			u.Versions++
			u.TotalBytes += size
			u.StoredBytes += v.Size
		}
	}
	if err := s.listQuorum(m); err != nil {
		return fmt.Errorf("storage: usage of %s: %w", bucket, err)
	}
	return nil
}

// usageUploads adds up the multipart uploads in progress in bucket and
// their parts.
func (s *Store) usageUploads(ctx context.Context, bucket string, logical func(int64) int64, u *BucketUsage) error {
	lower := objectKey(bucket, "")
	lower[0] = prefixUpload
	type upload struct{ key, id string }
	var ups []upload
	err := func() error {
		m := newMergeIter(ctx, s.allDrives(), lower, prefixEnd(lower))
		defer m.close()
		if err := s.listQuorum(m); err != nil {
			return err
		}
		errs := make([]error, len(m.values))
		for ok := m.seek(nil); ok; ok = m.next() {
			rest := string(m.key[len(lower):])
			key, id, found := strings.Cut(rest, "\x00")
			if !found {
				continue
			}
			val, err := s.agreedAt(m, errs)
			if err != nil {
				continue // an upload started or aborted without its quorum
			}
			if rec, err := decodeUpload(val); err == nil && rec.UploadID == id {
				ups = append(ups, upload{key, id})
			}
		}
		return s.listQuorum(m)
	}()
	if err != nil {
		return fmt.Errorf("storage: usage of %s: uploads: %w", bucket, err)
	}
	for _, up := range ups {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("storage: usage of %s: %w", bucket, err)
		}
		parts, err := s.readParts(ctx, s.setFor(bucket, up.key), up.id)
		if err != nil {
			return fmt.Errorf("storage: usage of %s: upload %s: %w", bucket, up.id, err)
		}
		u.Uploads++
		for _, p := range parts {
			u.UploadBytes += logical(p.Size)
		}
	}
	return nil
}

// versionLogicalSize is the size clients see of a version: the logical
// size of each part, summed (a part is sealed on its own).
func versionLogicalSize(v *versionRecord, logical func(int64) int64) int64 {
	if len(v.Parts) == 0 {
		return logical(v.Size)
	}
	var n int64
	for _, p := range v.Parts {
		n += logical(p.Size)
	}
	return n
}

// resolveListedRecord is resolveListed for every version of a key: the
// record a read quorum agrees on, empty when none does (an unfinished or
// rolled-back write).
func (s *Store) resolveListedRecord(values [][]byte) (objectRecord, error) {
	q := s.readQuorum()
	var first []byte
	same, held := 0, 0
	for _, v := range values {
		if v == nil {
			continue
		}
		held++
		if first == nil {
			first = v
		}
		if bytes.Equal(v, first) {
			same++
		}
	}
	if held < q {
		return objectRecord{}, nil
	}
	if same >= q && 2*same > len(values) {
		return decodeObject(first, false)
	}
	errs := make([]error, len(values))
	raw := make([][]byte, len(values))
	for i, v := range values {
		if v == nil {
			errs[i] = drive.ErrNotFound
		} else {
			raw[i] = v
		}
	}
	rec, err := s.resolve(raw, errs)
	if errors.Is(err, ErrObjectNotFound) || errors.Is(err, ErrReadQuorum) {
		return objectRecord{}, nil
	}
	return rec, err
}
