package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// MakeBucket creates a bucket. The record goes to every drive of every
// set; it succeeds once each set reached its write quorum.
func (s *Store) MakeBucket(ctx context.Context, bucket, location string) error {
	unlock := s.lockBucketRecord(bucket)
	defer unlock()
	s.bucketMu.RLock()
	_, exists := s.buckets[bucket]
	s.bucketMu.RUnlock()
	if exists {
		return fmt.Errorf("%w: %s", ErrBucketExists, bucket)
	}
	if err := s.bucketAbsent(ctx, bucket); err != nil {
		return err
	}
	rec := bucketRecord{Name: bucket, Created: s.cfg.Now().UnixNano(), Location: location}
	val := rec.encode()
	if err := s.applyAll(ctx, []drive.Op{{Key: bucketKey(bucket), Value: val}}); err != nil {
		s.applyAll(context.WithoutCancel(ctx), []drive.Op{{Key: bucketKey(bucket), Delete: true}})
		return fmt.Errorf("storage: make bucket %s: %w", bucket, err)
	}
	s.bucketMu.Lock()
	s.buckets[bucket] = rec
	s.bucketGen++
	s.bucketMu.Unlock()
	return nil
}

// bucketAbsent makes sure, before MakeBucket writes a new record, that
// the drives hold no bucket of that name, since the record it would
// replace holds the bucket's keys: its objects would be unreadable for
// good. The bucket list in memory can lack a bucket (its drives were
// missing at start); a read quorum of every set must answer, and a
// bucket a read quorum of every set holds is taken into memory and is
// ErrBucketExists. Records on fewer drives (a create or delete that
// did not finish) are no bucket, and are replaced.
func (s *Store) bucketAbsent(ctx context.Context, bucket string) error {
	var newest []byte
	held := 0
	for _, st := range s.sets {
		raw, errs := st.readAll(ctx, bucketKey(bucket))
		if err := quorumError(ErrReadQuorum, readErrorsOnly(errs), s.readQuorum()); err != nil {
			return fmt.Errorf("storage: make bucket %s: %w: %w", bucket, ErrWriteQuorum, err)
		}
		holders := 0
		for _, r := range raw {
			if r != nil {
				holders++
				newest = r
			}
		}
		if holders >= s.readQuorum() {
			held++
		}
	}
	if held < len(s.sets) {
		return nil
	}
	rec, err := decodeBucket(newest)
	if err != nil {
		return fmt.Errorf("storage: make bucket %s: %w", bucket, err)
	}
	s.bucketMu.Lock()
	if _, ok := s.buckets[bucket]; !ok {
		s.buckets[bucket] = rec
		s.bucketGen++
	}
	s.bucketMu.Unlock()
	return fmt.Errorf("%w: %s", ErrBucketExists, bucket)
}

// applyAll applies ops on every drive of every set and requires the write
// quorum in each set.
func (s *Store) applyAll(ctx context.Context, ops []drive.Op) error {
	var errs []error
	for _, st := range s.sets {
		res := st.each(ctx, func(_ int, d Drive) error { return d.Apply(ctx, ops) })
		if err := quorumError(ErrWriteQuorum, res, s.writeQuorum()); err != nil {
			errs = append(errs, fmt.Errorf("set %d: %w", st.index, err))
		}
	}
	return errors.Join(errs...)
}

// BucketInfo returns a bucket's description.
func (s *Store) BucketInfo(_ context.Context, bucket string) (BucketInfo, error) {
	s.bucketMu.RLock()
	rec, ok := s.buckets[bucket]
	partial := s.bucketsPartial.Load()
	s.bucketMu.RUnlock()
	if !ok {
		return BucketInfo{}, noBucket(bucket, partial)
	}
	return bucketInfo(rec), nil
}

// noBucket is the error for a bucket not in the list: ErrBucketNotFound,
// or, while the list is partial (bucketsPartial, read under bucketMu with
// the list, as reloadBuckets changes both under it), ErrReadQuorum, since
// the bucket may exist on drives that have not answered: a client told
// NoSuchBucket would create it again.
func noBucket(bucket string, partial bool) error {
	if partial {
		return fmt.Errorf("storage: bucket %s: %w: the bucket records of a set could not be read", bucket, ErrReadQuorum)
	}
	return fmt.Errorf("%w: %s", ErrBucketNotFound, bucket)
}

func bucketInfo(r bucketRecord) BucketInfo {
	return BucketInfo{Name: r.Name, Created: time.Unix(0, r.Created).UTC(), Location: r.Location, Metadata: maps.Clone(r.Metadata)}
}

// ListBuckets returns every bucket, by name (ErrReadQuorum while some
// set's bucket records cannot be read, rather than some of them).
func (s *Store) ListBuckets(_ context.Context) ([]BucketInfo, error) {
	if s.bucketsPartial.Load() {
		return nil, fmt.Errorf("storage: list buckets: %w: the bucket records of a set could not be read", ErrReadQuorum)
	}
	s.bucketMu.RLock()
	out := make([]BucketInfo, 0, len(s.buckets))
	for _, r := range s.buckets {
		out = append(out, bucketInfo(r))
	}
	s.bucketMu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteBucket removes an empty bucket and aborts its unfinished
// multipart uploads.
func (s *Store) DeleteBucket(ctx context.Context, bucket string) error {
	unlockRec := s.lockBucketRecord(bucket)
	defer unlockRec()
	// No object or upload is created in the bucket from here on: one
	// committing now is waited for, and listed below; one that has not
	// checked the bucket yet finds it gone.
	unlock := s.lockBucket(bucket)
	defer unlock()
	if _, err := s.BucketInfo(ctx, bucket); err != nil {
		return err
	}
	page, err := s.ListObjects(ctx, bucket, ListOptions{MaxKeys: 1})
	if err != nil {
		return fmt.Errorf("storage: delete bucket %s: %w", bucket, err)
	}
	if len(page.Objects) > 0 {
		return fmt.Errorf("%w: %s", ErrBucketNotEmpty, bucket)
	}
	for {
		ups, err := s.ListMultipartUploads(ctx, bucket, ListUploadsOptions{MaxUploads: 1000})
		if err != nil {
			return fmt.Errorf("storage: delete bucket %s: %w", bucket, err)
		}
		for _, u := range ups.Uploads {
			if err := s.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID); err != nil && !errors.Is(err, ErrUploadNotFound) {
				return fmt.Errorf("storage: delete bucket %s: %w", bucket, err)
			}
		}
		if !ups.IsTruncated {
			break
		}
	}
	if err := s.applyAll(ctx, []drive.Op{{Key: bucketKey(bucket), Delete: true}}); err != nil {
		return fmt.Errorf("storage: delete bucket %s: %w", bucket, err)
	}
	s.bucketMu.Lock()
	delete(s.buckets, bucket)
	s.bucketGen++
	s.bucketMu.Unlock()
	return nil
}

// UpdateBucketMetadata changes a bucket's settings: fn edits a copy of
// the current metadata under the bucket's lock and the result is written
// to every drive with the write quorum. An error from fn aborts the
// update and is returned as is.
func (s *Store) UpdateBucketMetadata(ctx context.Context, bucket string, fn func(md map[string]string) error) (BucketInfo, error) {
	unlock := s.lockBucketRecord(bucket)
	defer unlock()
	s.bucketMu.RLock()
	rec, ok := s.buckets[bucket]
	partial := s.bucketsPartial.Load()
	s.bucketMu.RUnlock()
	if !ok {
		return BucketInfo{}, noBucket(bucket, partial)
	}
	md := maps.Clone(rec.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	if err := fn(md); err != nil {
		return BucketInfo{}, err
	}
	rec.Metadata = md
	rec.Updated = max(s.cfg.Now().UnixNano(), rec.Updated+1)
	if err := s.applyAll(ctx, []drive.Op{{Key: bucketKey(bucket), Value: rec.encode()}}); err != nil {
		return BucketInfo{}, fmt.Errorf("storage: update bucket %s: %w", bucket, err)
	}
	s.bucketMu.Lock()
	s.buckets[bucket] = rec
	s.bucketMu.Unlock()
	return bucketInfo(rec), nil
}

// PurgeBucketMetadata rewrites every drive's metadata files around the
// record of bucket, so that the values UpdateBucketMetadata replaced or
// deleted no longer lie in them: a crypto-shred removes sealed keys that
// must not survive in an old table file. It is slow (a flush and a
// compaction per drive) and meant for rare operator actions. Every drive
// that answers is purged; the error names those that did not.
func (s *Store) PurgeBucketMetadata(ctx context.Context, bucket string) error {
	lower := bucketKey(bucket)
	upper := append(append([]byte(nil), lower...), 0)
	var errs []error
	for _, st := range s.sets {
		res := st.each(ctx, func(_ int, d Drive) error { return d.Compact(ctx, lower, upper) })
		ds := st.drives()
		for p, err := range res {
			if err != nil {
				errs = append(errs, fmt.Errorf("drive %s: %w", ds[p].Info().Path, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: purge bucket metadata %s: %w", bucket, err)
	}
	return nil
}

// checkBucket returns ErrBucketNotFound for a bucket that does not exist.
func (s *Store) checkBucket(bucket string) error {
	s.bucketMu.RLock()
	_, ok := s.buckets[bucket]
	partial := s.bucketsPartial.Load()
	s.bucketMu.RUnlock()
	if !ok {
		return noBucket(bucket, partial)
	}
	return nil
}
