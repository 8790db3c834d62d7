package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/objstore/objstore/bench"
	"github.com/objstore/objstore/s3api/checksum"
)

const benchUsage = `Usage:
  objstore bench s3 [flags]         load an S3 endpoint (objstore bench s3 -h)
  objstore bench pipeline [flags]   the data-path stages on this machine (objstore bench pipeline -h)
`

// listGCPercent is the collector's target while the list workload runs.
// Its clients decode each page of 1,000 entries into fresh structs over a
// heap of a few MiB, so at Go's default of 100 the collector runs every
// page or two; on a machine the server shares, that CPU is taken from the
// server being measured. With 400 minio-go alone needed about 30% less
// CPU per page and one client listed 14% more objects per second on
// average (docs/benchmarks.md), for a peak RSS of 160 MB instead of 80.
const listGCPercent = 400

// setGCPercent is debug.SetGCPercent; tests replace it to see the calls.
var setGCPercent = debug.SetGCPercent

// tuneGC raises the collector's target for the list workload (its
// pre-creation included) unless the user set GOGC, which always wins, and
// returns what puts the previous target back. Other workloads keep the
// default: 4 KiB PUTs measured no different, the others were not tried.
func tuneGC(w bench.Workload, gogcSet bool) (restore func()) {
	if w != bench.WorkloadList || gogcSet {
		return func() {}
	}
	prev := setGCPercent(listGCPercent)
	return func() { setGCPercent(prev) }
}

// runBench is `objstore bench`: it dispatches to the s3 load generator or
// the pipeline stage benchmarks.
func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: name a benchmark: s3 or pipeline")
	}
	switch args[0] {
	case "s3":
		return runBenchS3(args[1:], stdout, stderr)
	case "pipeline":
		return runBenchPipeline(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, benchUsage)
		return nil
	}
	fmt.Fprint(stderr, benchUsage)
	return fmt.Errorf("bench: unknown benchmark %q", args[0])
}

// sizeFlag is a flag holding a byte count written as "4KiB", "64MiB", "100".
type sizeFlag struct{ n int64 }

func (s *sizeFlag) String() string {
	if s == nil {
		return ""
	}
	return bench.FormatSize(s.n)
}

func (s *sizeFlag) Set(v string) error {
	n, err := bench.ParseSize(v)
	if err != nil {
		return err
	}
	s.n = n
	return nil
}

// isTerminal reports whether w is a character device (a terminal): the
// live progress line is drawn only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// firstEnv returns the first non-empty environment variable of names.
func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// interruptContext is cancelled by the first SIGINT or SIGTERM; after it,
// the default action is restored, so a second ^C ends the process at once
// (skipping the clean-up in progress). what() says, at that moment, what
// the process is doing.
func interruptContext(stderr io.Writer, what func() string) (context.Context, func()) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			stop()
			fmt.Fprintf(stderr, "\nobjstore bench: interrupted; %s\n", what())
		case <-done:
		}
	}()
	// The watcher is gone before stop cancels ctx: a run that ends on its
	// own must not be reported as interrupted.
	return ctx, func() { close(done); <-exited; stop() }
}

// errInterrupted ends a run stopped by a signal with a failure status:
// its figures are partial.
var errInterrupted = errors.New("bench: interrupted")

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("bench: write json: %w", err)
	}
	return nil
}

func runBenchS3(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench s3", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: objstore bench s3 [flags]\n\nLoad an S3 endpoint and report ops/s, MiB/s and latency per operation.\nThe list workload runs with GOGC=400 unless GOGC is set: decoding its pages\nwould otherwise run the garbage collector every page or two.\n\n")
		fs.PrintDefaults()
	}
	endpoint := fs.String("endpoint", "127.0.0.1:9000", "S3 endpoint: host:port, or http(s)://host:port")
	accessKey := fs.String("access-key", "", "access key (default $OBJSTORE_ROOT_USER, else $AWS_ACCESS_KEY_ID)")
	secretKey := fs.String("secret-key", "", "secret key (default $OBJSTORE_ROOT_PASSWORD, else $AWS_SECRET_ACCESS_KEY)")
	useTLS := fs.Bool("tls", false, "use HTTPS (implied by an https:// endpoint)")
	insecure := fs.Bool("insecure", false, "with TLS, do not verify the server's certificate")
	region := fs.String("region", "us-east-1", "region to sign requests for")
	workload := fs.String("workload", "put", "put, get, mixed, list, delete or multipart")
	size := &sizeFlag{n: 1 << 20}
	fs.Var(size, "size", "object size, e.g. 4KiB, 64MiB, 100 (a fraction of a unit rounds down to whole bytes); default 1MiB, 1KiB for list")
	concurrency := fs.Int("concurrency", 4, "concurrent clients")
	duration := fs.Duration("duration", 0, "how long to measure (default 10s unless --ops is given)")
	ops := fs.Int64("ops", 0, "stop after this many operations (with --duration: whichever comes first)")
	bucket := fs.String("bucket", "", "bucket to use, created if missing and never removed (default: a new objstore-bench-<random>, removed at the end)")
	prefix := fs.String("prefix", "bench/", "key prefix; the run adds <run id>/ after it")
	keep := fs.Bool("keep", false, "leave the objects (and the bucket) in place")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	partSize := &sizeFlag{n: 5 << 20}
	fs.Var(partSize, "part-size", "part size of the multipart workload")
	objects := fs.Int("objects", 0, "objects to pre-create for get, mixed and list (default 100; list 1000)")
	prepConc := fs.Int("prepare-concurrency", 0, "clients pre-creating objects (default max(--concurrency, 16))")
	settle := fs.Duration("settle", 0, "pause between pre-creating objects and measuring, for the server's background work after the load")
	mix := fs.String("mix", "60:30:10", "mixed workload weights, GET:PUT:DELETE")
	pageSize := fs.Int("page-size", 1000, "keys per ListObjectsV2 page")
	unsigned := fs.Bool("unsigned-payload", false, "send PUT bodies as UNSIGNED-PAYLOAD instead of signing them (SigV4 streaming over HTTP)")
	seed := fs.Uint64("seed", 0, "seed of object contents and key choice (default random)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench s3: unexpected argument %q", fs.Arg(0))
	}
	sizeSet := false
	fs.Visit(func(f *flag.Flag) { sizeSet = sizeSet || f.Name == "size" })
	if !sizeSet && *workload == string(bench.WorkloadList) {
		// What a listing measures does not depend on the objects' size;
		// 1,000 objects of 1 MiB would pre-create a GiB for nothing.
		size.n = 1 << 10
	}
	m, err := bench.ParseMix(*mix)
	if err != nil {
		return err
	}
	if *accessKey == "" {
		*accessKey = firstEnv("OBJSTORE_ROOT_USER", "AWS_ACCESS_KEY_ID")
	}
	if *secretKey == "" {
		*secretKey = firstEnv("OBJSTORE_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY")
	}
	cfg := bench.S3Config{
		Endpoint:           *endpoint,
		AccessKey:          *accessKey,
		SecretKey:          *secretKey,
		TLS:                *useTLS,
		Insecure:           *insecure,
		Region:             *region,
		Workload:           bench.Workload(*workload),
		Size:               size.n,
		Concurrency:        *concurrency,
		Duration:           *duration,
		Ops:                *ops,
		Bucket:             *bucket,
		Prefix:             *prefix,
		Keep:               *keep,
		PartSize:           partSize.n,
		Objects:            *objects,
		PrepareConcurrency: *prepConc,
		Settle:             *settle,
		Mix:                m,
		PageSize:           *pageSize,
		UnsignedPayload:    *unsigned,
		Seed:               *seed,
	}
	if *concurrency < 1 {
		return fmt.Errorf("bench s3: --concurrency %d: want at least 1", *concurrency)
	}
	if *pageSize < 1 {
		return fmt.Errorf("bench s3: --page-size %d: want 1 to 1000", *pageSize)
	}
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}
	defer tuneGC(cfg.Workload, os.Getenv("GOGC") != "")()
	var where atomic.Pointer[string]
	cfg.Started = func(bucket, prefix string) {
		w := fmt.Sprintf("bucket %s, keys under %s", bucket, prefix)
		where.Store(&w)
	}
	ctx, stop := interruptContext(stderr, func() string {
		if w := where.Load(); w != nil && !*keep {
			return "cleaning up " + *w + " (interrupt again to quit at once and leave them)"
		}
		return "stopping (interrupt again to quit at once)"
	})
	defer stop()
	res, runErr := bench.RunS3(ctx, cfg)
	if res != nil {
		var err error
		if *asJSON {
			err = writeJSON(stdout, res)
		} else {
			err = bench.WriteS3Table(stdout, res)
		}
		if err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if res.Cleanup.Error != "" {
		return fmt.Errorf("bench s3: clean-up failed: %s", res.Cleanup.Error)
	}
	if res.Interrupted {
		return errInterrupted
	}
	if n := res.Failed(); n > 0 {
		// The table shows them; the status tells scripts.
		return fmt.Errorf("bench s3: %d operations failed", n)
	}
	return nil
}

func runBenchPipeline(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: objstore bench pipeline [flags]\n\nMeasure the data-path stages on one core, then the PUT and GET chains, and estimate the ceilings.\n\n")
		fs.PrintDefaults()
	}
	erasure := fs.String("erasure", "4+2", "erasure layout K+M")
	blockSize := &sizeFlag{n: 1 << 20}
	fs.Var(blockSize, "block-size", "erasure block size")
	objectSize := &sizeFlag{n: 16 << 20}
	fs.Var(objectSize, "object-size", "input of one erasure or chain operation")
	packageSize := &sizeFlag{n: 64 << 10}
	fs.Var(packageSize, "package-size", "plaintext size of one sealed package")
	perStage := fs.Duration("time", time.Second, "measuring time per stage (after a warm-up of a quarter of it)")
	cores := fs.Int("cores", 0, "cores the ceiling estimates assume (default: this machine's)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	sums := fs.String("checksums", "crc32c,crc64nvme,sha256", "x-amz-checksum algorithms to measure alone and in a PUT chain each, comma-separated (crc32, crc32c, crc64nvme, sha1, sha256, sha512, xxhash64, xxhash3, xxhash128), or none; MD5 and SHA-256 are always measured")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench pipeline: unexpected argument %q", fs.Arg(0))
	}
	checksums := []checksum.Algorithm{}
	if *sums != "none" {
		for name := range strings.SplitSeq(*sums, ",") {
			a, err := checksum.ParseAlgorithm(strings.TrimSpace(name))
			if err != nil || a == checksum.None {
				return fmt.Errorf("bench pipeline: --checksums: %q is not a checksum algorithm", name)
			}
			checksums = append(checksums, a)
		}
	}
	k, m, err := parseErasure(*erasure)
	if err != nil {
		return err
	}
	if blockSize.n > 1<<30 || objectSize.n > 1<<30 || packageSize.n > 1<<30 {
		return errors.New("bench pipeline: sizes above 1GiB are not supported")
	}
	if blockSize.n < 1 || objectSize.n < 1 || packageSize.n < 1 {
		return errors.New("bench pipeline: --block-size, --object-size and --package-size must be at least 1 byte")
	}
	if *perStage <= 0 {
		return errors.New("bench pipeline: --time must be positive")
	}
	cfg := bench.PipelineConfig{
		DataShards:   k,
		ParityShards: m,
		BlockSize:    int(blockSize.n),
		ObjectSize:   int(objectSize.n),
		PackageSize:  int(packageSize.n),
		Time:         *perStage,
		Cores:        *cores,
		Checksums:    checksums,
	}
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}
	ctx, stop := interruptContext(stderr, func() string { return "stopping" })
	defer stop()
	res, err := bench.RunPipeline(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	return bench.WritePipelineTable(stdout, res)
}
