// Package encryption is objstore's key management between the KMS and
// the objects: it creates, caches, shreds and rewraps the per-bucket keys
// that seal every object key, and it stores a bucket's default encryption.
// It is the type the server owns and hands to both the S3 layer (which
// asks for bucket keys on every write and read) and the admin layer
// (shred, rotate, list and create master keys).
//
// # Key hierarchy
//
//	KMS master key (id "default", or a named SSE-KMS key)
//	  │ kms.GenerateDataKey(id, "bucket:<name>")      once per (bucket, master key)
//	  ▼
//	bucket key, 256 bits, with a random 8-byte id    sealed form in bucket metadata
//	  │ sse.SealKey(bucket key, object key, bucket, object[, context])
//	  ▼
//	object key (sse.NewObjectKey), one per object version or multipart upload
//
// SSE-S3 objects use the bucket key of DefaultKeyID, SSE-KMS objects the
// bucket key of their named master key, and SSE-C objects a key-encryption
// key derived from both the client's key and the DefaultKeyID bucket key
// (see s3api), so that shredding covers them too.
//
// # Bucket metadata
//
// The sealed bucket keys live in the bucket's metadata
// (storage.BucketInfo.Metadata), written with quorum on every drive:
//
//	"sse-key/<master key id>"  =  "<bucket key id, 16 hex>" " " <base64 of the kms sealed blob>
//	"sse-config"               =  JSON BucketConfig (the default encryption), absent: SSE-S3
//
// The bucket key id is stored with every object (in clear), so a read can
// tell "this object's bucket key was destroyed" (ErrShredded) from
// "this object is corrupt".
//
// # Invariants
//
//   - A bucket key is created lazily, inside UpdateBucketMetadata's lock,
//     so concurrent first writers agree on one key.
//   - Unsealed bucket keys are cached in memory (bounded); ShredBucket and
//     RotateMasterKey invalidate the bucket's entries before they return.
//   - One KMS call per cold key: concurrent requests for a bucket key
//     that is not cached share one Unseal (or, for a new key, one
//     GenerateDataKey). The call runs under a context of its own, not
//     cancelled by any one caller but when all have gone, and bounded by
//     Options.CallTimeout; each caller still returns when its own context
//     ends. Failures are returned to the callers that waited, never
//     cached. While the KMS reports itself down (Health), callers make
//     their own calls, which its outage rule answers at once.
//   - A key unsealed by a request that read the bucket's metadata before
//     a ShredBucket is never cached: only requests that began before the
//     shred can get a shredded key.
//   - ShredBucket removes every sealed bucket key of the bucket from the
//     metadata of all drives: from then on no object, version or upload
//     sealed under them can be opened, whatever the object records hold.
//     A later write creates a fresh bucket key with a new id.
//   - Plaintext bucket keys never appear in errors or logs.
package encryption
