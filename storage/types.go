package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors returned by the object layer. Callers match them with errors.Is;
// the S3 layer maps each to one S3 error code in a single table.
var (
	ErrBucketNotFound     = errors.New("storage: bucket not found")
	ErrBucketExists       = errors.New("storage: bucket already exists")
	ErrBucketNotEmpty     = errors.New("storage: bucket not empty")
	ErrObjectNotFound     = errors.New("storage: object not found")
	ErrVersionNotFound    = errors.New("storage: version not found")
	ErrUploadNotFound     = errors.New("storage: multipart upload not found")
	ErrInvalidPart        = errors.New("storage: invalid part")
	ErrInvalidPartOrder   = errors.New("storage: parts not in ascending order")
	ErrPartTooSmall       = errors.New("storage: part smaller than the minimum size")
	ErrPreconditionFailed = errors.New("storage: precondition failed")
	ErrWriteQuorum        = errors.New("storage: write quorum not available")
	ErrReadQuorum         = errors.New("storage: read quorum not available")
	ErrInvalidArgument    = errors.New("storage: invalid argument")
	ErrIncompleteBody     = errors.New("storage: body shorter than declared size")
	// ErrStorageFull: a write lost its quorum and every drive that
	// failed it is out of space (it also wraps ErrWriteQuorum).
	ErrStorageFull         = errors.New("storage: drives are full")
	ErrEntityTooLarge      = errors.New("storage: body larger than allowed")
	ErrDataCorrupt         = errors.New("storage: data corrupt beyond repair")
	ErrConflict            = errors.New("storage: conflicting concurrent operation")
	ErrMetadataTooLarge    = errors.New("storage: metadata too large")
	ErrTooManyParts        = errors.New("storage: too many parts")
	ErrNoSuchPlacement     = errors.New("storage: no erasure set satisfies the placement policy")
	ErrStorageShuttingDown = errors.New("storage: shutting down")
)

// Limits the object layer enforces, as AWS S3 documents them. The two
// size limits are on the bytes stored, which a caller may make larger than
// its client's (ciphertext carries a tag per package, 1/4096 more): they
// leave 1/256 above AWS's 5 GiB part and 5 TiB object, and the client's
// limits are the caller's to enforce.
const (
	MaxObjectKeyLen = 1024              // bytes of UTF-8
	MaxPartSize     = 5<<30 + 5<<30/256 // 5 GiB and room for an encoding
	MinPartSize     = 5 << 20           // 5 MiB, all parts but the last
	MaxPartNumber   = 10000             // parts per upload
	MaxObjectSize   = 5<<40 + 5<<40/256 // 5 TiB and room for an encoding
	MaxMetadataSize = 8 << 10           // user metadata bytes, as PUT headers allow
	NullVersionID   = "null"            // the version id while versioning is off
)

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name     string
	Created  time.Time
	Location string // the LocationConstraint given at creation, "" for the default
	// Metadata holds settings of the layers above (encryption, sealed
	// bucket key, policy); the object layer stores it verbatim.
	Metadata map[string]string
}

// ObjectInfo describes one version of an object as stored.
type ObjectInfo struct {
	Bucket    string
	Key       string
	VersionID string // NullVersionID while versioning is off
	Size      int64  // bytes of the stored body
	ModTime   time.Time
	ETag      string // without quotes
	// Metadata holds the system and user metadata given at PUT verbatim
	// (Content-Type, x-amz-meta-*, checksums...). Keys are canonical HTTP
	// header names, lower-case.
	Metadata map[string]string
	// Parts lists the multipart parts; nil for a simple PUT.
	Parts []ObjectPart
}

// ObjectPart is one part of a completed multipart object.
type ObjectPart struct {
	Number int
	Size   int64
	ETag   string
	// Metadata is what the part's Finish returned when it was uploaded
	// (its checksums), kept so GetObject?partNumber can return the
	// part's own checksum. Nil for objects completed before it was kept.
	Metadata map[string]string
}

// PutOptions controls a PUT of a whole object.
type PutOptions struct {
	// Metadata is stored verbatim with the version (lower-case keys).
	Metadata map[string]string
	// Size is the declared body size, or -1 if unknown (aws-chunked
	// bodies carry x-amz-decoded-content-length, so it is usually known).
	// A body that ends early fails with ErrIncompleteBody; one that runs
	// longer fails with ErrEntityTooLarge.
	Size int64
	// Finish is called once the body has been read to EOF, before anything
	// commits. It returns the ETag and metadata to add (checksums known
	// only at the end); an error aborts the write and is returned as is.
	Finish func() (etag string, extra map[string]string, err error)
	// Precondition is called under the object's lock just before the
	// version commits, with the current version (nil if none). An error
	// aborts the write and is returned as is. This makes If-Match and
	// If-None-Match safe under concurrent writers.
	Precondition func(current *ObjectInfo) error
}

// GetOptions selects what to read.
type GetOptions struct {
	VersionID string // "" for the latest
}

// DeleteOptions is the input of DeleteObject.
type DeleteOptions struct {
	VersionID string // "" for the latest
	// Precondition, when set, is called under the object's lock with the
	// version about to be deleted; an error stops the delete and is
	// returned as it is. It is not called when there is no such version
	// (ErrObjectNotFound).
	Precondition func(current *ObjectInfo) error
}

// ListOptions is the input of ListObjects.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// After lists only keys strictly greater than it (marker, start-after,
	// or a decoded continuation token).
	After   string
	MaxKeys int // 1..1000; 0 means 1000
}

// ListResult is one page of ListObjects. Objects and Prefixes together
// hold at most MaxKeys entries, in key order.
type ListResult struct {
	Objects     []ObjectInfo
	Prefixes    []string
	IsTruncated bool
	// NextAfter is the last key or prefix returned when IsTruncated; pass
	// it as After to get the next page.
	NextAfter string
}

// UploadMetadataPrefix begins the metadata keys of a multipart upload
// that describe the upload itself rather than the object (s3api keeps
// who started it there): they are listed with the upload
// (ListMultipartUploads, ListParts) and left out of the object
// CompleteMultipartUpload makes.
const UploadMetadataPrefix = "x-objstore-upload-"

// MultipartUpload is an upload in progress.
type MultipartUpload struct {
	Bucket    string
	Key       string
	UploadID  string
	Initiated time.Time
	Metadata  map[string]string
}

// PartInfo describes an uploaded part.
type PartInfo struct {
	Number  int
	Size    int64
	ETag    string
	ModTime time.Time
	// Metadata holds what the part's Finish returned beside the ETag
	// (checksums).
	Metadata map[string]string
}

// CompletePart names a part in CompleteMultipartUpload.
type CompletePart struct {
	Number int
	ETag   string // with or without quotes
}

// ListUploadsOptions is the input of ListMultipartUploads.
type ListUploadsOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
}

// ListUploadsResult is one page of ListMultipartUploads.
type ListUploadsResult struct {
	Uploads            []MultipartUpload
	Prefixes           []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// ListPartsResult is one page of ListParts.
type ListPartsResult struct {
	Upload               MultipartUpload
	Parts                []PartInfo
	IsTruncated          bool
	NextPartNumberMarker int
}

// ObjectReader reads one version of an object. Its data is immutable:
// a concurrent overwrite makes a new version and never changes what an
// open reader returns, though an overwrite that removes the old data may
// make a later read of it fail.
type ObjectReader interface {
	// Info is the version being read.
	Info() ObjectInfo
	// WriteRange writes bytes [offset, offset+length) of the body to w.
	WriteRange(ctx context.Context, w io.Writer, offset, length int64) error
	// Close ends the read; until then the version's data stays, even
	// once an overwrite or delete has replaced it. It must be called.
	Close() error
}

// CompleteOptions controls CompleteMultipartUpload.
type CompleteOptions struct {
	// Finish is called with the chosen parts before anything commits; it
	// returns metadata to add (composite checksums) or an error that
	// aborts the completion and is returned as is. It is called again,
	// with the parts read again, when parts change before the commit
	// (a part uploaded during the completion).
	Finish func(parts []PartInfo) (extra map[string]string, err error)
	// Precondition works as in PutOptions.
	Precondition func(current *ObjectInfo) error
}
