// Package checksum implements S3's object checksums: the ETag's MD5 and the
// additional checksums a client may ask for or send (CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256, and those AWS added in 2025: MD5, SHA512,
// XXHASH64, XXHASH3, XXHASH128), and their multipart combinations.
//
// # Wire form
//
// A checksum travels as the standard base64 of the big-endian digest, in a
// header or an aws-chunked trailer named after its algorithm:
//
//	x-amz-checksum-crc32:     base64(4 bytes)   "DUoRhQ=="  of "hello world"
//	x-amz-checksum-crc32c:    base64(4 bytes)   "yZRlqg=="
//	x-amz-checksum-crc64nvme: base64(8 bytes)
//	x-amz-checksum-sha1:      base64(20 bytes)
//	x-amz-checksum-sha256:    base64(32 bytes)
//	x-amz-checksum-md5:       base64(16 bytes)  "XrY7u+Ae7tCTyyK7j1rNww=="
//	x-amz-checksum-sha512:    base64(64 bytes)
//	x-amz-checksum-xxhash64:  base64(8 bytes)   XXH64, seed 0    "RatnNLIeaWg="
//	x-amz-checksum-xxhash3:   base64(8 bytes)   XXH3-64, seed 0  "1Eex6kDmmIs="
//	x-amz-checksum-xxhash128: base64(16 bytes)  XXH3-128, seed 0
//
// The xxHash values are in xxHash's canonical form, big-endian; for
// XXH3-128 the high 64 bits come first:
//
//	+--------------------+--------------------+
//	| high64, big-endian | low64, big-endian  |   16 bytes, then base64
//	+--------------------+--------------------+
//
// The MD5 checksum is the same digest as a single-part ETag (and
// Content-MD5): a reader asked for it shares the MD5 it computes anyway.
//
// FromHeaders reads what a request declared: at most one checksum, as a
// header value or promised as a trailer in x-amz-trailer; an
// x-amz-sdk-checksum-algorithm must name the same algorithm, and is refused
// alone, as AWS refuses it. Reader computes MD5 and the requested
// algorithms in the one pass over the body that the data path makes.
//
// # The default checksum
//
// An object written without a checksum still gets one: Default
// (CRC64NVME), computed on the way in and stored as FULL_OBJECT, as AWS
// S3 does for every upload since 2025. A client that declares its own
// algorithm gets exactly that one instead, never both. For a multipart
// upload created without an algorithm each part gets its CRC64NVME and
// FullObject combines them at completion:
//
//	PUT, POST, copy of an object without one  -> CRC64NVME of the bytes
//	UploadPart / UploadPartCopy                -> CRC64NVME of the part
//	CompleteMultipartUpload                    -> FullObject(part CRCs, sizes)
//
// # Hashing beside the data path
//
// MD5 runs at well under 1 GB/s on one core and cannot be split across
// cores for one stream, so ParallelReader takes it (and the other
// algorithms) off the goroutine that reads the body:
//
//	source ──(fill: 1 MiB blocks)──┬──> MD5 goroutine ─────────┐
//	(network, sigv4 checks)        ├──> other algorithms ──────┤ release
//	                               └──> Read (the caller) ─────┘
//	           blocks come back to fill when every stage released them
//
// A block is read once and shared, not copied, by the stages; a bounded
// set of blocks (4 by default, from a BlockPool) caps the memory and
// makes fill wait for the slowest stage. Read runs ahead of the hashes,
// so the bytes reach the caller before their digests exist: the digest
// accessors wait for the hashes, and Err says whether they cover the
// whole body. A caller that commits nothing before checking the digests
// after io.EOF (storage's Finish hook) keeps the guarantee the serial
// Reader gives.
//
// # Multipart
//
// S3 reports a multipart object's checksum in one of two forms:
//
//	COMPOSITE    base64(H(raw(part 1) || raw(part 2) || ... || raw(part N))) "-N"
//	             for every algorithm but CRC64NVME: a checksum of checksums
//	             (the hashes -- SHA*, MD5, XXHASH* -- have only this form)
//	FULL_OBJECT  the CRC of the whole object, as if uploaded in one piece,
//	             for CRC64NVME (always) and CRC32, CRC32C (on request);
//	             computed from the part CRCs and part sizes alone
//
// FullObject combines CRCs without the data: for a CRC with initial value
// and final xor of all ones, crc(A || B) = crc(A)·x^(8·len(B)) mod P xor
// crc(B), with the multiplication in GF(2)[x] modulo the generator P.
//
// # Invariants
//
//   - Values are validated (base64 of the right length) before they are
//     compared or combined; no input makes the package panic.
//   - Errors wrap the package's sentinels, so the S3 layer can map them with
//     errors.Is.
//   - A ParallelReader's digests are only reported as matching (Check,
//     CheckMD5, Err) once Read has returned io.EOF; after Close no
//     goroutine of it reads the source any more.
package checksum
