// Package objstore is an S3-compatible object store that keeps every
// object erasure-coded over drive folders spread across zones.
//
// The code lives in sub-packages, leaves first:
//
//	erasure        streaming Reed-Solomon codec, shard format with bitrot checksums
//	storage/drive  one drive folder: pebble metadata, immutable data files
//	storage        the object layer: sets, quorum, versions, multipart, listing
//	s3api/sigv4    SigV4 verification and aws-chunked decoding
//	s3api/checksum S3 checksums and the one-pass hashing reader
//	s3api          the S3 protocol: routing, XML, errors, handlers
//	server         wiring: config, credentials, TLS, health, shutdown
//	cmd/objstore   the binary
//
// This package holds no code; its test enforces the dependency direction
// (docs/architecture.md).
package objstore
