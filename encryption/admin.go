package encryption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

// DestroyedKey is one bucket key a shred destroyed.
type DestroyedKey struct {
	// ID is the bucket key's id, as objects record it.
	ID string `json:"id"`
	// Master is the KMS key that sealed it.
	Master kms.KeyID `json:"master"`
}

// ShredReport describes a ShredBucket: what was destroyed and what it
// made unreadable.
type ShredReport struct {
	Bucket string    `json:"bucket"`
	Time   time.Time `json:"time"`
	// Keys lists the bucket keys destroyed, sorted by master key.
	Keys []DestroyedKey `json:"keys"`
	// Objects counts the objects (current versions) made unreadable, as
	// listed after the keys were gone.
	Objects int64 `json:"objects"`
	// Bytes is the stored (ciphertext) size of those objects.
	Bytes int64 `json:"bytes"`
	// Uploads counts the unfinished multipart uploads made unusable.
	Uploads int64 `json:"uploads"`
}

// ShredBucket destroys every key of bucket: the sealed bucket keys are
// removed from the bucket's metadata on all drives (with write quorum)
// and from the cache. From then on every object, version and unfinished
// upload of the bucket fails to open with ErrShredded. The objects are
// not deleted; they are counted for the report. Writes after the shred
// get a fresh bucket key.
//
// The KMS master keys are not touched: other buckets use them.
func (k *Keys) ShredBucket(ctx context.Context, bucket string) (ShredReport, error) {
	rep := ShredReport{Bucket: bucket, Time: time.Now().UTC()}
	_, err := k.store.UpdateBucketMetadata(ctx, bucket, func(md map[string]string) error {
		rep.Keys = rep.Keys[:0]
		for name, v := range md {
			master, ok := strings.CutPrefix(name, mdKeyPrefix)
			if !ok {
				continue
			}
			id, _, _ := strings.Cut(v, " ")
			rep.Keys = append(rep.Keys, DestroyedKey{ID: id, Master: kms.KeyID(master)})
			delete(md, name)
		}
		return nil
	})
	// Forget cached keys whatever happened: a partial write may have
	// removed them from some drives.
	k.forget(bucket)
	if err != nil {
		return rep, fmt.Errorf("encryption: shred %s: %w", bucket, err)
	}
	sort.Slice(rep.Keys, func(i, j int) bool { return rep.Keys[i].Master < rep.Keys[j].Master })
	k.log.LogAttrs(ctx, slog.LevelWarn, "encryption: bucket keys destroyed",
		slog.String("bucket", bucket), slog.Int("keys", len(rep.Keys)))
	// The record without the keys is committed, but the metadata store
	// keeps the one it replaced in its older files until a compaction
	// reaches them: rewrite them now, so the sealed keys are gone from
	// the drives and not merely hidden.
	if err := k.store.PurgeBucketMetadata(ctx, bucket); err != nil {
		return rep, fmt.Errorf("encryption: shred %s: the keys are destroyed, but old copies may remain on some drives until their metadata compacts: %w", bucket, err)
	}

	after := ""
	for {
		lr, err := k.store.ListObjects(ctx, bucket, storage.ListOptions{After: after, MaxKeys: 1000})
		if err != nil {
			return rep, fmt.Errorf("encryption: shred %s: count objects: %w", bucket, err)
		}
		for _, o := range lr.Objects {
			rep.Objects++
			rep.Bytes += o.Size
		}
		if !lr.IsTruncated {
			break
		}
		after = lr.NextAfter
	}
	var km, um string
	for {
		ur, err := k.store.ListMultipartUploads(ctx, bucket, storage.ListUploadsOptions{KeyMarker: km, UploadIDMarker: um, MaxUploads: 1000})
		if err != nil {
			return rep, fmt.Errorf("encryption: shred %s: count uploads: %w", bucket, err)
		}
		rep.Uploads += int64(len(ur.Uploads))
		if !ur.IsTruncated {
			break
		}
		km, um = ur.NextKeyMarker, ur.NextUploadIDMarker
	}
	return rep, nil
}

// RotateReport describes a RotateMasterKey.
type RotateReport struct {
	Key kms.KeyID `json:"key"`
	// Version is the master key's new current version.
	Version int `json:"version"`
	// Rewrapped lists the buckets whose key was rewrapped.
	Rewrapped []string `json:"rewrapped"`
	// Failed maps buckets whose rewrap failed to the error; their keys
	// still open under the old version. Run the rotation again to retry.
	// The server adds "iam.json" and "audit anchor" when it could not
	// re-seal those under the new version.
	Failed map[string]string `json:"failed,omitempty"`
}

// RotateMasterKey adds a version to master key id in the KMS and rewraps
// every bucket key sealed by it under the new version, online: the
// bucket keys themselves do not change, so every object stays readable,
// and old versions keep unsealing in the meantime. A bucket whose rewrap
// fails is reported in Failed and the error says how many.
func (k *Keys) RotateMasterKey(ctx context.Context, id kms.KeyID) (RotateReport, error) {
	rep := RotateReport{Key: id}
	if err := k.kms.RotateKey(ctx, id); err != nil {
		return rep, fmt.Errorf("encryption: rotate %s: %w", id, err)
	}
	// A bucket key being created now may have been sealed under the old
	// version: BucketKey rewraps it when it sees the count move, and the
	// loop below visits every bucket under its lock, so one stored just
	// before is rewrapped here.
	k.rotations.Add(1)
	st, err := k.kms.Status(ctx, id)
	if err != nil {
		return rep, fmt.Errorf("encryption: rotate %s: %w", id, err)
	}
	rep.Version = st.Version
	buckets, err := k.store.ListBuckets(ctx)
	if err != nil {
		return rep, fmt.Errorf("encryption: rotate %s: list buckets: %w", id, err)
	}
	for _, b := range buckets {
		var changed bool
		_, err := k.store.UpdateBucketMetadata(ctx, b.Name, func(md map[string]string) error {
			v, ok := md[mdKeyPrefix+string(id)]
			if !ok {
				return errNothing
			}
			bkid, sealed, err := parseEntry(v)
			if err != nil {
				return err
			}
			out, err := k.kms.Rewrap(ctx, sealed, associated(b.Name))
			if err != nil {
				return err
			}
			md[mdKeyPrefix+string(id)] = bkid + " " + encode(out)
			changed = true
			return nil
		})
		switch {
		case errors.Is(err, errNothing), errors.Is(err, storage.ErrBucketNotFound): // no key, or deleted since the listing
		case err != nil:
			if rep.Failed == nil {
				rep.Failed = map[string]string{}
			}
			rep.Failed[b.Name] = err.Error()
		case changed:
			rep.Rewrapped = append(rep.Rewrapped, b.Name)
		}
	}
	k.log.LogAttrs(ctx, slog.LevelInfo, "encryption: master key rotated",
		slog.String("key", string(id)), slog.Int("version", rep.Version),
		slog.Int("rewrapped", len(rep.Rewrapped)), slog.Int("failed", len(rep.Failed)))
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("encryption: rotate %s: rewrap failed for %d bucket(s)", id, len(rep.Failed))
	}
	return rep, nil
}

var errNothing = errors.New("encryption: nothing to rewrap")
