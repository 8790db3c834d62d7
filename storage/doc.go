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
// # Locks
//
// Writes of one object key (its record, its uploads' records) commit
// under the key's commit lock, a stripe of 256 mutexes by bucket and key
// (Store.lock); heals settle records under the same lock. A bucket has
// two locks of its own, striped by name: its record's (MakeBucket,
// DeleteBucket, UpdateBucketMetadata, the heal of bucket records) and a
// read-write lock that the writes creating something in the bucket (an
// object version's commit, an upload's creation or completion) hold
// shared around their check of the bucket and their commit, and that
// DeleteBucket holds exclusively, so a bucket it found empty is deleted
// empty. The order is record lock, bucket lock, commit lock; none is
// taken under a later one. An upload's creation writes its record
// outside the commit lock but is marked as being created under it, and
// a heal leaves an upload so marked alone.
//
// # Metadata
//
// Each drive's pebble database holds the key space described in keys.go;
// records are the versioned, tagged encoding of record.go. Listing merges
// the drives' iterators and keeps what a read quorum agrees on.
//
// # Crash safety
//
// Data directories are immutable and written (fsynced, with their
// directories) before the metadata that names them; a crash in between
// leaves an orphan directory that the start-up scan removes. A crash
// between the metadata commits of different drives leaves a version on
// some drives only: held by a read quorum it is visible, and the heal
// writes it to the others; held by so few drives that, with every drive
// that did not answer, it would still miss the write quorum, it was never
// acknowledged, and the heal rolls it back; the drives holding it vouch
// for the version it replaced (versionRecord.Replaces), which therefore
// stays visible, and whose data go only after the new version's quorum.
// In between (drives silent) nothing is decided. quorum.go has the rules;
// docs/durability.md states the whole contract.
//
// # Healing
//
// Three paths lead to the same repair (heal.go):
//
//	read finds a bad shard ─┐   (bounded, de-duplicated queue;
//	read finds records      ├─> healer goroutine, one object at a time)
//	  that disagree        ─┘                       │
//	scanner pass (scan.go): every object, upload,    ├─> healObject
//	  bucket; orphans and stale staging files       ─┘
//
// healObject first settles the records under the object's lock (the
// quorum's versions to every drive, unfinished writes rolled back, the
// upload records of a rolled back completion restored), then verifies
// every shard stream of every part on every drive, parity included, and
// rebuilds the bad ones from k good ones into a staging file on the bad
// drive, which replaces the (immutable) data directory under the lock
// after checking the version still exists. A pass is paced in objects and
// bytes per second, keeps its progress for HealStatus, and notes its end
// on every drive so a restart does not start the next one early.
//
// # Drive replacement
//
// A Store made by Open looks at its offline drives every few seconds
// (monitor.go). An empty folder put where a failed drive was is formatted
// with the identity its position expects, swapped into the set (readers
// in flight keep the old drive: the set's drive list is copied on write),
// given the bucket records, and filled by a heal pass started at once. A
// drive of another cluster or position is refused with a log line.
package storage
