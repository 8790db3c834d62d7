// Package bench measures objstore from the outside and its data path from
// the inside; it is the library behind `objstore bench`.
//
// # S3 load generator (RunS3)
//
// RunS3 drives any S3 endpoint through minio-go with Concurrency clients,
// each issuing one request at a time, until a duration or an operation
// count is reached:
//
//	put        PutObject of new objects, one request each (no multipart)
//	get        GetObject of pre-created objects, bodies read to the end and
//	           their length checked
//	mixed      GET, PUT and DELETE drawn from a weighted mix (60:30:10)
//	list       ListObjectsV2 pages (1,000 keys) walking the pre-created
//	           objects; every complete walk must see all of them
//	delete     DeleteObject of pre-created objects
//	multipart  initiate, UploadPart per part, complete; parts are a row too
//
// Bodies are windows of one shared 8 MiB random buffer, read through a
// per-client reader (bodyReader) that wraps around: no body is generated,
// allocated or read from disk per request.
//
// Everything a run writes lives under one key prefix,
//
//	<bucket>/<prefix><run id>/obj/<n>   pre-created objects
//	<bucket>/<prefix><run id>/new/<n>   objects written while measuring
//
// so that the clean-up removes exactly that: it aborts unfinished uploads,
// lists the prefix into multi-object DELETEs, and removes the bucket only
// if the run created it. The clean-up runs when the context is cancelled
// too (SIGINT), on a context of its own.
//
// Invariants of the report: every operation started is counted once, as a
// success (Ops, with its latency) or a failure (Errors), except requests
// abandoned by an interruption, which are neither; with Ops set, Ops+Errors
// of the workload's operation equals it. With Duration set, operations
// still running max(10 s, Duration) after the measured phase ended (a
// stalled server) are cancelled and counted as failures, so a run ends.
// Pre-creation is reported apart from the measured phase.
//
// # Latency histogram
//
// Latencies go into a Histogram per client and operation, merged at the end.
// It is log-linear, like an HDR histogram:
//
//	value v (ns)           bucket                          width
//	v < 256                v                               1
//	2^e <= v < 2^(e+1)     (e-7)*128 + v>>(e-7), e >= 8    2^(e-7)
//
// so every power of two is cut into 128 buckets; a bucket's midpoint is
// within 1/256 (0.4%) of any value in it, and the 7,296 counters cover all
// of int64. They are allocated one power of two (128 counters) at a time,
// on first use. Min, max and mean are kept exactly.
//
// # Data-path stages (RunPipeline)
//
// RunPipeline measures, on the calling goroutine (one core), each stage the
// design's PUT and GET paths run over the body: memory copy, Reed-Solomon
// alone, erasure encode and decode (healthy and with m shards lost), the
// xxh3 bitrot hash, AES-256-GCM and ChaCha20-Poly1305 over 64 KiB packages,
// MD5, SHA-256, CRC32C and CRC64NVME. Each runs for a fixed time after a
// warm-up. Then it measures the chains, also on one goroutine:
//
//	PUT  body -> MD5 (+ SHA-256 if signed) -> seal 64 KiB packages -> erasure
//	     encode (Reed-Solomon + xxh3 per shard block) -> k+m discarding writers
//	GET  k (or k+m) in-memory shard streams -> erasure decode (verify,
//	     reconstruct if shards are lost) -> open packages -> check, drop
//
// The model that puts the stages next to the chains, with r_i the one-core
// rates of a chain's stages in bytes per second and C the cores:
//
//	serial, one core             1 / sum(1/r_i)
//	one stream, pipelined        min(min_i r_i, C / sum(1/r_i))
//	C streams, one per core      C / sum(1/r_i)
//
// The pipelined figure assumes each stage runs whole on some core while the
// others work on the next buffer: no stage of one stream can go faster than
// it does alone (MD5 is sequential), and the work of all stages cannot
// exceed C cores. Both ceilings ignore the cost of handing buffers between
// cores, which the erasure package measured to exceed the cost of a copy at
// memory speed, so they are upper bounds. The sealing in the chains models
// the design's package format for cost (nonce = sequence number and final
// flag); it is not that format.
//
// Package bench talks to the server only over the network: it imports
// neither server, storage nor s3api (only s3api/checksum and erasure, for
// the stage benchmarks); a test checks it. Its tests start a server
// in-process.
package bench
