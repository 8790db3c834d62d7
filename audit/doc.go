// Package audit is objstore's audit log: an append-only, hash-chained
// record of every state-changing S3 and admin request and every denied
// request, which nobody can quietly rewrite. It knows nothing of HTTP: the
// S3 and admin layers fill an Entry per request and Append it; Verify
// (behind `objstore admin audit verify`) checks the chain; Query and
// Export serve the admin API.
//
// # What a record holds
//
// Time, sequence number, identity (root, user:<name>, admin-token:<id>,
// anonymous), access key id, source address, action, bucket and key,
// HTTP status and error code, request id, bytes in and out, and for
// denials the authorization reason. Entry has these explicit fields and
// nothing else: there is no header map and no body, so secrets and object
// data have nowhere to go. Strings are cut to fixed limits (keys 1,024
// bytes) and made valid UTF-8, so an odd request is still recorded. A
// reason keeps only the first 64 bytes of the key it quotes (a denial
// names the resource ARN), marked "…(N bytes)": the key is whole in its
// own field, and a second copy doubled what one denial cost.
//
// # Files and lines
//
//	<dir>/
//	├── LOCK                                 flock: one appender per log
//	├── ANCHOR                               the anchored head (see Anchors)
//	├── ANCHOR.mismatch-<unix ns>            only if Open found ANCHOR not to match,
//	│                                        or a resume found the files not to (Resuming)
//	├── audit-00000000000000000001.jsonl     records 1 … 81,920
//	├── audit-00000000000000081921.jsonl     records 81,921 …, named by first seq
//	└── audit-00000000000000081921.1.jsonl   only after a crash or a full disk
//	                                         left the file before it with a
//	                                         single partial line
//
// Each line is one record in canonical JSON (fixed field order, every
// field present, one escaping), see appendLine:
//
//	{"v":1,"seq":2,"time":"…","identity":"user:alice",…,"prev":"<hex SHA-256 of line 1>"}
//
// # The chain
//
//	line 1 ──sha256──► prev of line 2 ──sha256──► prev of line 3 … ──► Head()
//
// A record's hash is the SHA-256 of its line's exact bytes (without the
// newline), and the next record stores it as "prev"; the first record's
// prev is all zeros. The chain runs across files: the first record of a
// new file holds the hash of the last record of the previous one. Verify
// walks the files in order and reports, with file, line and sequence
// number: an edited record (its hash no longer matches the next prev), a
// deleted record or file (a sequence gap), a reordered or inserted record
// (a sequence number out of order or repeated), a non-canonical or
// unreadable line, and a deleted beginning. It also lists, without
// counting them as damage, the gap records the writer left when it
// resumed after a stop (see Resuming).
//
// What a chain cannot detect alone: someone who rewrites every record
// from some point on with fresh hashes, or removes the newest records.
// Anchors close that gap.
//
// # Anchors
//
// With Options.AnchorKeys (a data key source over the KMS; the server
// always sets it), Open takes a data key from the KMS and keeps it in
// memory; the head (sequence number and hash of the last durable record)
// is then written to ANCHOR with a MAC under that key, at Open, every
// AnchorInterval while the head moves, and at Close:
//
//	{"v":1,"seq":N,"hash":"<hex>","time":"…","key":"<sealed data key, base64>","mac":"<hex>"}
//	mac = HMAC-SHA256(data key, "objstore audit anchor v1" 0x00 ‖ seq ‖ hash ‖ time ‖ sealed key)
//
// Only the KMS can unseal the key, so only the server can write an anchor
// that authenticates: Verify (VerifyOptions.AnchorKeys) authenticates
// ANCHOR and checks that record N is in the log with that hash. Cutting
// the tail leaves the log ending before N; rewriting the chain changes
// record N's hash; forging the anchor fails its MAC; deleting it leaves a
// log with records and no anchor. All four are IssueAnchor. Only durable
// records are anchored (Head), so a crash never makes an honest log look
// truncated. The anchor costs two fsyncs per interval and no KMS call
// (one at Open).
//
// Open checks the anchor a previous run left before anchoring anew: one
// that does not authenticate or match is renamed ANCHOR.mismatch-<time>
// and logged as an error, and Verify reports it until an operator removes
// it, so restarting the server does not launder a tampered log. Log.Verify
// (the admin API's) also checks the anchor the process holds in memory,
// which catches the file being deleted or replaced while it runs.
//
// What the anchor does not stop: someone who can write the directory
// while the server is stopped may put back an older ANCHOR and cut the
// log to match it, or delete both log and anchor. Catching that needs the
// head stored beyond their reach: the server logs each anchor (debug
// level) for a log collector to keep, and HeadHex in a verification
// report can be compared with a copy kept elsewhere.
//
// # Durability
//
// Append encodes the record, chains it, and returns; a background flusher
// writes and fsyncs what has accumulated every FlushInterval (20 ms by
// default), sooner when 256 KiB are pending, and at Sync and Close. So:
//
//   - A crash or power loss loses at most the records appended in the
//     last FlushInterval before it, always a suffix of the chain, never a
//     record in the middle.
//   - A write cut short leaves a partial last line. Open keeps it as
//     evidence, logs a warning and continues in a new file chained to the
//     last complete record; Verify reports it as a truncated tail, not as
//     tampering.
//   - Head only ever returns durable records, so an anchored head cannot
//     be lost to a crash and then look like tampering.
//   - A failed write or fsync stops the log: Append refuses records
//     (ErrWrite) until it resumes, since records after a hole would be
//     unverifiable. The server decides what to do meanwhile (it reports
//     itself unready, and serves requests or, with --audit-fail-closed,
//     refuses changes).
//
// # Resuming
//
// A stopped log tries to resume by itself: first FlushInterval after the
// failure, then at doubling intervals up to RetryInterval (10 s by
// default), and once more at Close. Retrying on a timer rather than on
// the next Append matters: a server that reports itself unready gets no
// traffic, so it would never see the next event. An attempt is cheap (a
// directory listing, the tail of the last file, one short write), and
// the interval bounds how long the log stays stopped once space is
// freed.
//
// An attempt does what Open does after a crash, so that a resume and a
// restart leave the same log: it finds the head on disk (the last
// complete line; a line the failure cut short is kept and appending
// continues in a new file), fsyncs that head, since the failed write may
// have left complete lines unsynced, and chains a gap record to it as the
// first record of the resumed log:
//
//	{"v":1,"seq":N,"time":"<resumed>","identity":"system",…,"action":"audit:Gap",
//	 …,"status":0,"error":"AuditLogStopped",…,"reason":"since=<stopped> until=<resumed>
//	 unrecorded=7 unwritten=2 refused=5 cause=write audit-….jsonl: no space left on device",…}
//
// unwritten counts the records appended but not on disk (their sequence
// numbers are reused from N on), refused the Appends refused while
// stopped; the cause names files, never the directory. The record is an
// ordinary version 1 record, chained like any other, so older readers
// verify it too; identity "system" is the log's own, which Append
// refuses. If writing the gap record fails, the log stays stopped and the
// next gap record reports both stops, from the first. Err stays set
// until the gap record is on disk; then the head is anchored at once, so
// the anchor covers the record of the loss. The anchor written before
// the stop names a record still in the log, as the check below makes
// sure, so anchors stay consistent. A stop that Close cannot resume is
// only in the server's log (an error with the counts).
//
// Before chaining anything, an attempt checks that the head on disk is
// one this process wrote: a record no older than the last it synced and
// no newer than the last it appended, with the hash it had when
// appended (the log keeps those of the records not yet synced; each
// record holds its predecessor's hash, so that covers the prefix).
// Anything else means the files were rewritten, cut or extended under
// the running log, perhaps by someone who then filled the disk to make
// a write fail, and chaining to that head and anchoring it would
// launder the forgery. The log then stays stopped until a restart (Err
// stays set; Open's anchor check judges the files), logs an error, and
// keeps an anchor of the head it synced as ANCHOR.mismatch-<unix ns>,
// which Verify reports: ANCHOR alone would not show an extended tail,
// and the next Open would anchor it.
//
// Callers that must not acknowledge a request before its record is on
// disk call Sync with the record Append returned; concurrent Syncs share
// one fsync. Sync fails with ErrWrite if a stop lost the record, even
// after the log resumed and another record took its sequence number.
//
// # Floods of refused requests
//
// Every record is fsynced, and anyone can send requests that are
// refused: one anonymous client made the server write 2,600 records a
// second. An Aggregator in front of the log records the refusals of
// unauthenticated callers (identity anonymous: no signature, a bad one
// or an unknown key) one by one only for the first 3 of each source in
// each 10 s interval, and counts the rest in one summary record per
// source, action and error code:
//
//	{"v":1,…,"identity":"anonymous","accessKey":"","source":"192.0.2.7","action":"DeleteObject",
//	 "bucket":"secret","key":"","status":403,"error":"AccessDenied","requestId":"",…,
//	 "reason":"2597 more refused requests from 192.0.2.7 between <RFC 3339> and <RFC 3339>",…}
//
// A source is an IPv4 address or an IPv6 /64 ("2001:db8::/64"): one
// subscriber has a whole /64, and counting its addresses apart would
// let one client use up the sources of an interval. Bucket and status
// are kept when every request counted shared them. At most 128 sources
// and 128 counters are kept per interval; beyond them requests are
// counted under "other sources" (empty source), whose reason ends with
// the first 8 sources it counted ("…; sources: 198.51.100.7,
// 2001:db8::/64[, and others]"), so that a prober hidden behind a
// flood is still named.
//
// Refusals of a presigned URL or a signed browser form
// (AppendReplayable) are aggregated too, though a signature names
// their signer: whoever holds the URL or form can replay it, from
// anywhere, after it expired. They are counted per (identity, access
// key, bucket, key, action, error) whatever their source, so that
// replaying one URL is one summary an interval while refusals on many
// objects each name theirs; their records and summary keep the
// signer's identity and access key, and a summary of several sources
// reads "from several sources" and lists the first 8. They have their
// own budget, never "other sources": at most 32 targets per credential
// and interval (MaxTargets) are counted apart, the rest in one summary
// per (action, error) that still names the credential. Requests
// signed by their sender (an Authorization header) are never
// aggregated: they name who did what. Summaries are ordinary version 1
// records, chained and verified like any other; IsSummary and
// ParseSummary read them.
//
// # Queries
//
// Query and Export stream the files with constant memory, skipping files
// that lie wholly before the requested time or sequence number (the
// writer keeps time monotonic, across stops too: a clock stepping back
// repeats the last time). Filters: time range, identity, bucket, action, and AfterSeq and
// Limit for paging.
package audit
