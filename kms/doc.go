// Package kms is objstore's key custody: master keys that never leave their
// backend, and the data keys they seal. It defines the small KMS interface
// the rest of the server uses, the sealed-blob format shared by every
// backend, and the built-in keyring backend; kms/pkcs11 (an HSM) and
// kms/kmip (a KMIP server) are the others.
//
// # The key hierarchy
//
// Four layers, each sealing the one below with AES-256-GCM:
//
//	KMS master key "default" v1, v2 ...   in the keyring file, an HSM or a KMIP server;
//	    |                                 never leaves it
//	    | GenerateDataKey(id, "bucket/photos") / Unseal / Rewrap
//	    v
//	bucket key (256 bits)                 its sealed form is stored with the bucket
//	    |
//	    | package sse: seals per-object keys, bound to bucket/object
//	    v
//	object key (256 bits, one per object) its sealed form is stored in the
//	    |                                 version's metadata (opaque to storage)
//	    | package sse: the stream format
//	    v
//	64 KiB data packages                  ciphertext, then erasure-coded into shards
//
// Step by step:
//
//  1. A master key lives in a backend. The keyring holds it in memory,
//     loaded from a file sealed by the operator's secret; an HSM or KMIP
//     server runs the cipher itself and objstore only ever sees
//     ciphertext. Master keys have versions: RotateKey adds one and makes
//     it current; old versions are kept and keep unsealing.
//  2. A bucket key is a data key: GenerateDataKey returns it in plaintext
//     (kept in memory only while needed) and sealed under the current
//     master key version, with associated data such as "bucket/photos"
//     bound into the seal, so a sealed bucket key copied onto another
//     bucket does not open.
//  3. Object keys are sealed by the bucket key (package sse), so a PUT
//     costs no KMS round trip once the bucket key is unsealed and cached.
//  4. Object data is sealed by the object key in 64 KiB packages (package
//     sse), before erasure coding: drives only ever hold ciphertext.
//
// Rotating a master key therefore rewraps bucket keys only (Rewrap: one
// KMS call per bucket, the bucket key's plaintext never leaves the KMS
// call); no object is rewritten, and objects written before stay readable.
// Destroying a bucket key shreds the bucket: every object, version and
// unfinished multipart upload in it becomes unreadable at once, whatever
// copies of the drives exist.
//
// # Sealed blobs
//
// Every backend seals through a Manager, which generates the data key
// (crypto/rand), asks the backend to encrypt it under id/version, and
// lays out the result (see Sealed for the diagram):
//
//	format(1) backend(1) version(4) idlen(1) id  noncelen(1) nonce  ciphertext||tag
//	\____________ additional data, with the caller's associated ____/
//
// The blob names its backend, key and version, so Unseal needs nothing
// but the blob and the associated data, and rotation needs no index. A
// blob from another backend, a tampered byte anywhere, a truncated blob or
// other associated data all fail with ErrSealed; ParseSealed refuses
// malformed blobs before any backend call. Golden vectors in testdata/
// pin the format.
//
// # The keyring backend
//
// NewKeyring opens (or creates) a file holding every master key version,
// sealed with AES-256-GCM under a key-encryption key derived from the
// operator's passphrase with argon2id (t=3, 64 MiB, 2 lanes by default, a few
// hundred milliseconds at start;
// the parameters and a random salt sit in the file header), or from a raw
// 32-byte key with HKDF-SHA256 for automation. See keyringfile.go for the
// layout. Every change rewrites the file atomically (temporary file,
// fsync, rename, directory fsync) before the new key is used. One process
// owns a keyring file at a time. KeyringFromEnv builds the configuration
// from the environment; with no secret set it generates a raw key file
// beside the keyring and warns loudly, since that protects nothing against
// a copy of the data directory.
//
// Each keyring master key version seals with random 96-bit nonces: keep
// each version under 2^32 seals (rotate long before; bucket keys are few).
//
// # Errors
//
// Every error is an *Error naming the operation, backend, key and version,
// and matching exactly one of ErrInvalidKeyID, ErrKeyNotFound,
// ErrKeyExists, ErrSealed and ErrBackend (which wraps the backend's cause).
// No error or log line holds key material; DataKey and KeyringConfig
// redact themselves in fmt and slog output. Wiping is best effort: Go's
// AES keeps expanded round keys that cannot be cleared.
package kms
