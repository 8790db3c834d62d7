// Package crashtest holds the crash-safety tests of objstore: they build
// the real binary (with the test-only crashpoints tag, see
// storage/crash_points.go), start it on a loopback port over a temporary
// data folder, drive concurrent load through minio-go (small inline PUTs,
// large PUTs, multipart uploads, server-side copies, deletes; every third
// random kill, one writer's single PUTs of 17-41 MiB, whose staging files
// the store also syncs as they are written), kill it with SIGKILL, restart
// it and check the promise of the durability contract (docs/durability.md):
//
//   - every write the client saw acknowledged reads back byte-identical
//     (MD5 of the body, ETag, and a user metadata field holding the MD5
//     written with it, so mismatched metadata shows too);
//   - a write in flight at the kill is either wholly there or wholly not;
//   - nothing is listed that was never written, and the staging areas are
//     empty after the restart;
//   - after the last kill, two heal passes run in-process over the same
//     folders: the second finds nothing left to repair.
//
// The model keeps, per key, the last acknowledged state and the target of
// the one operation whose outcome the client never learnt (cut by a kill
// or a cancel). Such an operation may still take effect, so it is settled
// by a restart and a verify before the key is used again; the harness
// refuses (panics) to start an operation on an unsettled key, because
// forgetting that target once made a write that had really committed look
// like lost data.
//
// The kills come at random times and at deterministic crash points
// (between shard commits, between metadata commits on different drives,
// between a commit and the removal of the replaced data, in the middle of
// a heal). The default test run does a short version (a few kills, well
// under a minute); OBJSTORE_SOAK=1 or -crash.long runs the long one.
//
// The package has no non-test code.
package crashtest
