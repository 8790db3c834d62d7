// Package storage is the object layer: buckets, objects, versions and
// multipart uploads stored erasure-coded over sets of drives.
//
// It never sees plaintext keys or HTTP: it stores the bytes it is given
// (ciphertext, once encryption wraps the stream above it) and their
// metadata verbatim.
//
// # Placement and quorum
//
// Drives form erasure sets of k+m; an object lives on the set chosen by a
// hash of bucket and key. Every drive of the set holds one shard of each
// part of the object (the drive at position p holds shard (p+rotation) mod
// k+m, the rotation varying per object so reads spread over all drives)
// and a full copy of the object's metadata record.
//
// A write succeeds once its write quorum of drives (k, or k+1 when k == m)
// made the data durable and committed the record; below that it is rolled
// back and fails with ErrWriteQuorum. A read needs k drives; the versions
// it sees are those a read quorum of records agree on, so a write that
// failed, or is still committing, is never visible in part.
//
// # Write path
//
//	body -> sizedReader -> erasure.Encode -> k+m staging files (fsynced)
//	     -> Finish (ETag, checksums; may veto) -> commit files into
//	        data/<id>/ -> lock key -> Precondition -> one synced pebble
//	        batch per drive (record + inline shard) -> unlock -> drop the
//	        replaced version's data
//
// Bodies up to InlineLimit skip the files: each drive's shard goes into
// the same pebble batch as the record, so a small PUT costs k+m batch
// commits that pebble's group commit shares between concurrent writers.
//
// # Metadata
//
// Each drive's pebble database holds the key space described in keys.go;
// records are the versioned, tagged encoding of record.go. Listing merges
// the drives' iterators and keeps what a read quorum agrees on.
//
// # Crash safety
//
// Data directories are immutable and written before the metadata that
// names them; a crash in between leaves an orphan directory that the
// start-up scan removes. Nothing else is ever half-visible.
package storage
