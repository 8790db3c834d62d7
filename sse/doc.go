// Package sse is objstore's server-side encryption of object data: the
// authenticated stream format object bodies are stored in, the sealing of
// per-object keys, and the sealing of user metadata. It is pure: bytes and
// keys in, bytes out. It does no I/O of its own, knows nothing of HTTP,
// drives or KMS backends; bucket keys and SSE-C client keys reach it as
// plain 32-byte keys.
//
// What it protects: the confidentiality and integrity at rest of object
// bodies and user metadata against anyone who holds the drives (or a
// shard, or a whole zone) but not the keys. Tampering, reordering,
// dropping, duplicating, truncating or extending ciphertext, or moving it
// to another object or part, is detected: the read fails with
// ErrAuthentication and no wrong byte is ever returned. What it does not
// hide: object sizes (to within a tag per 64 KiB), object names and
// access patterns.
//
// # Key hierarchy, step by step
//
//	KMS master key                      (keyring file, HSM or KMIP server; never here)
//	  │ wraps (kms package)
//	  ▼
//	bucket key, 256 bits                (SSE-KMS: a data key of the named KMS key;
//	  │                                  SSE-C: HMAC-SHA256 of the client's key under
//	  │                                  the bucket key, see below)
//	  │ SealKey: HKDF-SHA256(kek, salt, "objstore sse v1 sealed object key")
//	  │          then AEAD, AD = header || bucket, object, ...
//	  ▼
//	object key, 256 bits, random per object version (or multipart upload),
//	  │         plus the cipher its stream uses
//	  ├─ HKDF-SHA256(object key, salt, "objstore sse v1 metadata") ──▶ metadata key
//	  │
//	  │ HKDF-Expand-SHA256(object key,
//	  │                    "objstore sse v1 stream" || cipher || part number, 4 bytes BE
//	  │                    [|| salt, 16 random bytes per upload of a part])
//	  ▼
//	part key, 256 bits, one per stream (part 0: a single PUT; 1..10000: parts,
//	  │       each upload of a part with its own salt, NewSalt)
//	  │
//	  │ nonce = last flag || 0 0 0 || sequence number, 8 bytes BE
//	  ▼
//	package n of the stream, sealed with AES-256-GCM or ChaCha20-Poly1305
//
// In words:
//
//  1. The KMS master key never leaves the KMS. It wraps bucket keys; rotating
//     it rewraps bucket keys and touches no data.
//  2. The bucket key (for SSE-S3 and SSE-KMS) is unwrapped by the KMS and
//     handed to this package as a key-encryption key (kek). Destroying it
//     makes every object key sealed under it, and so every object of the
//     bucket, unreadable at once (crypto-shredding). For SSE-C the kek is
//     derived by s3api as HMAC-SHA256(the bucket key of the default master
//     key, "objstore sse-c kek v1" || the client's key), so that reading
//     needs both and a shred of the bucket key covers SSE-C objects too;
//     the client's key is never stored, only a ClientKeyCheck of it.
//  3. Each object gets a fresh random object key (NewObjectKey), which also
//     fixes the cipher: AES-256-GCM where the CPU has AES instructions,
//     ChaCha20-Poly1305 elsewhere (PreferredCipher). SealKey seals it with a
//     one-time key derived from the kek and a random salt, binding the
//     object's names as associated data; the sealed key (SealedKeySize
//     bytes) is stored in the version's metadata as opaque bytes.
//  4. A part key per stream is derived from the object key, the cipher and
//     the part number. A single PUT is stream 0; a multipart upload
//     encrypts each part as its own stream under the upload's object key,
//     since parts arrive independently, in any order, and may be replaced.
//     A part's ciphertext presented as another part's fails: its key
//     differs.
//  5. Each package is sealed under the part key with a nonce made of its
//     sequence number and a flag for the stream's final package. The key
//     is unique per (object, part), so nonces never repeat under a key.
//  6. User metadata is sealed under a key derived from the object key and
//     a fresh salt (SealMetadata), so it shares the object's fate: the
//     same kek unlocks both, and shredding the bucket key shreds both.
//
// # Stream format (version 1)
//
// The plaintext is cut into packages of PackageSize (64 KiB); only the last
// may be shorter, and an empty stream has one empty package. Each is sealed
// on its own and followed by its 16-byte tag:
//
//	plaintext   |<---- 64 KiB ---->|<---- 64 KiB ---->|     |<- 0..64 KiB ->|
//	ciphertext  +------------------+---+------------------+---+ ... +---------------+---+
//	            | package 0        |tag| package 1        |tag|     | package n-1   |tag|
//	            +------------------+---+------------------+---+ ... +---------------+---+
//	offset      0                  65552                  131104    (n-1)*65552
//
//	nonce of package i:  byte 0: 1 if i == n-1 else 0; bytes 1..3: 0;
//	                     bytes 4..11: i, big endian
//
// There is no stream header; ciphertext is packages only, and
// CiphertextSize(p) = p + 16*max(1, ceil(p/65536)). The format version and
// the cipher live in the sealed object key instead (see below), for three
// reasons:
//
//   - A range read computes where its packages lie (Range) and reads just
//     those. With a header it would also have to read the stream's first
//     bytes, which under erasure coding means decoding a whole extra block,
//     per part touched.
//   - The sealed key has to be read and opened before any byte can be
//     decrypted anyway, so the parameters cost nothing there, and they are
//     authenticated there (and bound into the part key's derivation).
//   - Every object key is sealed by SealKey, whatever unlocks it (bucket
//     key, KMS data key, client key), so there is exactly one place to look.
//
// Why the attacks fail. Package i of n opens only with nonce (i, i == n-1):
// moved to another position it is opened with the wrong sequence number;
// a stream cut at a package boundary ends with a package not sealed as
// final; one cut mid-package has a short last package whose tag fails; a
// package appended after the final one is more ciphertext than the size
// allows; the final flag of the old last package fails when the size is
// raised. A flipped bit anywhere fails its package's tag. Packages are
// opened whole before any byte is written out, so a reader sees at most a
// prefix of the true plaintext, followed by an error.
//
// A read of plaintext [off, off+len) needs packages off/64Ki through
// (off+len-1)/64Ki only: Range gives their ciphertext span and how many
// plaintext bytes to skip in the first; DecryptWriter checks and writes
// just the requested bytes. ObjectRange does the same across the parts of
// a multipart object, and a DecryptPipeline writes them one after the
// other.
//
// # Sealed values (version 1)
//
// SealKey and SealMetadata produce
//
//	0     1        2                    34                  34+n      34+n+16
//	+-----+--------+--------------------+-------------------+---------+
//	| ver | cipher | salt (32 bytes)    | ciphertext (n)    | tag     |
//	+-----+--------+--------------------+-------------------+---------+
//
//	ver     1
//	cipher  1 = AES-256-GCM, 2 = ChaCha20-Poly1305 (the object's cipher;
//	        in a sealed key, also the cipher of the stream it unlocks)
//	salt    random; the sealing key is HKDF-SHA256(kek or object key, salt,
//	        label), used once, with the all-zero nonce
//	AD      bytes 0..33; for SealKey followed by each associated string as
//	        a uvarint length and its bytes
//
// A sealed key is SealedKeySize (82) bytes; sealed metadata is its input
// plus SealedMetadataOverhead (50). A version this build does not know is
// refused with ErrFormat; a later version will be read alongside this one,
// never instead of it, since stored objects keep theirs.
//
// A client key check (ClientKeyCheck, 65 bytes) is
//
//	+-----+--------------------+----------------------------------------+
//	| ver | salt (32 bytes)    | HKDF-SHA256(client key, salt, label)   |
//	+-----+--------------------+----------------------------------------+
//
// # Performance
//
// The stream is sealed in place: EncryptReader reads plaintext straight into
// the caller's buffer and seals it there when the buffer has room for a
// package. DecryptWriter opens packages straight from the caller's bytes
// into a pooled batch buffer of up to 16 packages (a package split across
// two Writes is staged in its slot and opened in place), so the plaintext
// of a batch lies back to back and goes out in one Write of up to 1 MiB:
// written one 64 KiB package at a time, an HTTP response cost twice as
// much in socket writes as the same bytes sent in the 256 KiB writes of a
// plain GET. Neither side allocates per package.
//
// A GET is a chain of stages that each use a core: reading and checking
// shards, opening packages, writing the socket (and, on loopback, the
// client reading it). DecryptPipeline splits the chain in two: packages
// are opened on the goroutine that writes the ciphertext in (storage's
// reader), the socket is written from the pipeline's own goroutine, with
// three 1 MiB batches between them:
//
//	storage goroutine                      pipeline goroutine
//	shards -> decode -> Write: open 16 pkgs --batch--> w.Write (socket)
//	                         ^                            |
//	                         +-------- free batch --------+
//
// A batch goes out only once all its packages are opened, so the pipeline
// writes nothing that is not authenticated; one pipeline serves all the
// parts of a range, so it does not drain at part boundaries, and it takes
// no part after one fails. docs/benchmarks.md has the measured effect.
package sse
