// Package drive is one drive of objstore: a directory holding the drive's
// identity, a pebble database for the metadata the object layer stores on
// it, a staging area and immutable data files (erasure shards). The object
// layer (package storage) uses it through a small interface it declares
// itself; remote drives implement the same interface.
//
// # Layout
//
//	<dir>/
//	├── format.json                  identity: cluster, drive, set, position, zone
//	├── meta/                        pebble database (metadata key-value store)
//	├── tmp/                         staging files, random 32-hex names
//	│   └── 3f9a…e1                  emptied by Open: never committed
//	└── data/
//	    └── 7c/                      first two hex digits of the data id
//	        └── 7c0d…a4/             one data id: one object version
//	            ├── part.1           immutable files, names in [a-z0-9._-]
//	            └── part.2
//
// # format.json
//
// A JSON object, written once at format time (temporary file, fsync,
// rename, fsync of the folder) and never rewritten while the drive is open:
//
//	{
//	  "version": 1,                  format file version (FormatVersion)
//	  "cluster_id": "…",             random id of the cluster
//	  "drive_id": "…",               random id of this drive (UUID v4)
//	  "set": 0,                      erasure set index
//	  "position": 3,                 position in the set, 0..k+m-1
//	  "zone": "eu-1a"                zone name
//	}
//
// Readers accept versions 1..FormatVersion and ignore unknown fields; a
// later version that changes meaning gets a new number and a migration in
// ReadFormat. format.json is the last thing a format writes, so a folder
// without it was never completely formatted. Open refuses a drive of another
// cluster (ErrForeignDrive) or another slot (ErrWrongPosition), and never
// formats over a folder that holds anything but lost+found, tmp/ and an
// empty data/.
//
// # Invariants
//
//   - Names: a data id is exactly 32 lower-case hex characters (NewDataID);
//     a file name matches ^[a-z0-9][a-z0-9._-]{0,63}$ without "..". Anything
//     else is ErrInvalidName before any path is built, so no name from a
//     request can leave its directory. Object keys never reach this package
//     as paths: they only appear inside metadata keys and values.
//   - Immutability: a committed data file is never overwritten (Commit uses
//     a hard link, which fails with ErrExists where rename would replace);
//     it is only removed with its whole data id by RemoveData.
//   - Durability: Commit fsyncs the file, then every directory whose entries
//     it changed; Apply returns after pebble synced its write-ahead log
//     (pebble.Sync), and concurrent Apply calls share that sync through
//     pebble's group commit (no lock in this package serialises them).
//     A crash leaves at worst staging files (removed by Open) and data ids
//     without metadata (orphans, found by WalkData, removed by the scanner).
//   - Offline detection: pebble keeps file descriptors open, so after
//     rm -rf of the folder it would go on accepting writes to unlinked
//     files. Get, Apply, NewIter, CreateStaging, Commit, OpenData and
//     RemoveData first stat format.json (a positive answer is trusted for
//     Options.OnlineCheckTTL, 250 ms by default) and compare it with the
//     file seen at Open; Apply and Commit stat again, uncached, after their
//     fsync. A missing or replaced format.json is ErrOffline. Device errors
//     (EIO, EROFS, ENODEV, EUCLEAN…) are wrapped in ErrOffline, ENOSPC and
//     EDQUOT in ErrDiskFull, so the object layer can count the drive as
//     failed for that operation; the errno stays reachable with errors.Is.
//   - Fatal metadata errors: pebble reports a failed WAL write or sync, or
//     corruption, through Logger.Fatalf, which normally exits the process.
//     Here it poisons the drive instead: every later call returns that
//     error (wrapping ErrOffline and ErrMetadataFailed) until the drive
//     is reopened, and the Apply that hit it fails. Calls already blocked
//     inside pebble at that moment may stay blocked; Close waits a
//     second at most, and closes the database aside once they are out
//     (if that happens within 10 s), so that the folder can be opened
//     again.
//
// # Concurrency
//
// A *Drive is safe for concurrent use. An Iter, a StagingFile and a
// DataFile's Close are for one goroutine at a time; DataFile.ReadAt may be
// called concurrently.
package drive
