package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Workload names what the S3 load generator does; see doc.go.
type Workload string

// The workloads of RunS3.
const (
	WorkloadPut       Workload = "put"       // single-request PUTs of new objects
	WorkloadGet       Workload = "get"       // GETs of pre-created objects
	WorkloadMixed     Workload = "mixed"     // GET, PUT and DELETE in the ratio of S3Config.Mix
	WorkloadList      Workload = "list"      // ListObjectsV2 pages over pre-created objects
	WorkloadDelete    Workload = "delete"    // DELETEs of pre-created objects
	WorkloadMultipart Workload = "multipart" // multipart uploads of new objects
)

// Workloads lists every workload, in the order the help text gives them.
func Workloads() []Workload {
	return []Workload{WorkloadPut, WorkloadGet, WorkloadMixed, WorkloadList, WorkloadDelete, WorkloadMultipart}
}

// ErrConfig means an S3Config or PipelineConfig field is out of range; the
// error text names the field.
var ErrConfig = errors.New("bench: invalid configuration")

// Mix weights the operations of the mixed workload: each operation is a GET
// with probability Get/(Get+Put+Delete), and so on.
type Mix struct {
	Get, Put, Delete int
}

// ParseMix reads "GET:PUT:DELETE" weights, e.g. "60:30:10".
func ParseMix(s string) (Mix, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return Mix{}, fmt.Errorf("%w: mix %q: want GET:PUT:DELETE weights, e.g. 60:30:10", ErrConfig, s)
	}
	var w [3]int
	for i, p := range f {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 1_000_000 {
			return Mix{}, fmt.Errorf("%w: mix %q: weight %q is not an integer in [0, 1000000]", ErrConfig, s, p)
		}
		w[i] = n
	}
	m := Mix{Get: w[0], Put: w[1], Delete: w[2]}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("%w: mix %q: all weights are zero", ErrConfig, s)
	}
	return m, nil
}

// String formats m the way ParseMix reads it.
func (m Mix) String() string { return fmt.Sprintf("%d:%d:%d", m.Get, m.Put, m.Delete) }

func (m Mix) total() int { return m.Get + m.Put + m.Delete }

// S3Config describes one run of the S3 load generator. Zero fields take the
// defaults named in their comments (applied by RunS3).
type S3Config struct {
	// Endpoint is host:port, or a URL whose scheme (http or https) sets TLS.
	Endpoint string
	// AccessKey and SecretKey sign the requests (SigV4).
	AccessKey, SecretKey string
	// TLS speaks HTTPS; Insecure skips certificate verification.
	TLS, Insecure bool
	// Region signs requests; default "us-east-1".
	Region string
	// Workload is what to do; default WorkloadPut.
	Workload Workload
	// Size of each object in bytes. It has no default: 0 means empty
	// objects (the command's default is 1 MiB).
	Size int64
	// Concurrency is the number of clients issuing requests; default 4.
	Concurrency int
	// Duration bounds the measured phase; default 10 s when Ops is 0. With
	// both set, the run ends at whichever comes first.
	Duration time.Duration
	// Ops bounds the measured phase to that many operations in total
	// (successful or failed; for multipart one op is one whole upload).
	Ops int64
	// Bucket to use. Empty: a new bucket objstore-bench-<random> is created
	// and removed at the end. A named bucket is created if missing, and
	// never removed.
	Bucket string
	// Prefix of every key; the run adds "<run id>/" after it, so that the
	// clean-up removes only what this run wrote. Default "bench/".
	Prefix string
	// Keep leaves the objects (and a created bucket) in place.
	Keep bool
	// PartSize of multipart uploads; default 5 MiB, S3's minimum for every
	// part but the last (smaller ones are refused: no upload would
	// complete).
	PartSize int64
	// Objects is how many objects get, mixed and list pre-create; default
	// 100 (list: 1,000). The delete workload pre-creates Ops objects when
	// Ops is set, else Objects.
	Objects int
	// PrepareConcurrency is the number of clients pre-creating objects;
	// default max(Concurrency, 16).
	PrepareConcurrency int
	// Settle is a pause between pre-creating objects and measuring, so
	// that the server's background work after the load (its metadata
	// store compacting the new records) is not counted against the
	// workload; 0 measures at once.
	Settle time.Duration
	// Mix of the mixed workload; default 60:30:10 (get:put:delete).
	Mix Mix
	// PageSize of ListObjectsV2 requests; default 1,000.
	PageSize int
	// UnsignedPayload sends PUT bodies as UNSIGNED-PAYLOAD. By default the
	// client signs them as minio-go does: over plain HTTP that is
	// aws-chunked streaming SigV4, a SHA-256 of every chunk on both sides.
	UnsignedPayload bool
	// Seed makes object contents and the choice of keys reproducible;
	// 0 picks a random seed.
	Seed uint64
	// Progress, when not nil, receives a live status line about four times
	// a second (carriage return, no newline); pass a terminal.
	Progress io.Writer
	// ProgressInterval between status lines; default 250 ms.
	ProgressInterval time.Duration
	// Started, when not nil, is called once the bucket is open with the
	// bucket and the key prefix the run writes under: what is left if
	// the process dies before its clean-up.
	Started func(bucket, prefix string)
}

// MinPartSize is S3's minimum size of every part of a multipart upload
// but the last.
const MinPartSize = 5 << 20

// overrunGrace is how long operations may still run once the measured
// phase is over before they are cancelled (and counted as failed): a
// stalled server must not stretch a --duration run without bound.
func overrunGrace(d time.Duration) time.Duration { return max(minOverrunGrace, d) }

// minOverrunGrace is overrunGrace's floor (a variable for tests).
var minOverrunGrace = 10 * time.Second

// withDefaults returns c with every zero field set to its default.
func (c S3Config) withDefaults() S3Config {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Workload == "" {
		c.Workload = WorkloadPut
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.Duration == 0 && c.Ops == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Prefix == "" {
		c.Prefix = "bench/"
	}
	if c.PartSize == 0 {
		c.PartSize = 5 << 20
	}
	if c.Objects == 0 {
		c.Objects = 100
		if c.Workload == WorkloadList {
			c.Objects = 1000
		}
	}
	if c.Workload == WorkloadDelete && c.Ops > 0 {
		c.Objects = int(min(c.Ops, 1<<30))
	}
	if c.PrepareConcurrency == 0 {
		c.PrepareConcurrency = max(c.Concurrency, 16)
	}
	if c.Mix.total() == 0 {
		c.Mix = Mix{Get: 60, Put: 30, Delete: 10}
	}
	if c.PageSize == 0 {
		c.PageSize = 1000
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 250 * time.Millisecond
	}
	return c
}

// Validate names the first field out of range, after defaults.
func (c S3Config) Validate() error {
	c = c.withDefaults()
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Endpoint == "" {
		return bad("Endpoint", "required")
	}
	if _, _, err := parseEndpoint(c.Endpoint, c.TLS); err != nil {
		return err
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return bad("AccessKey/SecretKey", "both required")
	}
	known := false
	for _, w := range Workloads() {
		known = known || w == c.Workload
	}
	if !known {
		return bad("Workload", "%q is not one of put, get, mixed, list, delete, multipart", c.Workload)
	}
	switch {
	case c.Size < 0:
		return bad("Size", "negative")
	case c.Concurrency < 1 || c.Concurrency > 10_000:
		return bad("Concurrency", "%d not in [1, 10000]", c.Concurrency)
	case c.Duration < 0:
		return bad("Duration", "negative")
	case c.Ops < 0:
		return bad("Ops", "negative")
	case c.PartSize < MinPartSize:
		return bad("PartSize", "%d bytes: S3 wants at least 5 MiB in every part but the last", c.PartSize)
	case c.Workload == WorkloadMultipart && (c.Size+c.PartSize-1)/c.PartSize > 10_000:
		return bad("PartSize", "%d-byte objects in %d-byte parts need more than 10,000 parts", c.Size, c.PartSize)
	case c.Objects < 1 || c.Objects > 100_000_000:
		return bad("Objects", "%d not in [1, 100000000]", c.Objects)
	case c.Settle < 0:
		return bad("Settle", "negative")
	case c.PrepareConcurrency < 1 || c.PrepareConcurrency > 10_000:
		return bad("PrepareConcurrency", "%d not in [1, 10000]", c.PrepareConcurrency)
	case c.Mix.Get < 0 || c.Mix.Put < 0 || c.Mix.Delete < 0:
		return bad("Mix", "negative weight")
	case c.PageSize < 1 || c.PageSize > 1000:
		return bad("PageSize", "%d not in [1, 1000]", c.PageSize)
	case c.ProgressInterval < 0:
		return bad("ProgressInterval", "negative")
	}
	return nil
}

// parseEndpoint turns "host:port" or "http(s)://host:port[/]" into the host
// minio-go wants and whether to use TLS.
func parseEndpoint(ep string, useTLS bool) (host string, secure bool, err error) {
	if !strings.Contains(ep, "://") {
		if ep == "" || strings.ContainsAny(ep, "/?# ") {
			return "", false, fmt.Errorf("%w: Endpoint %q: want host:port or a URL", ErrConfig, ep)
		}
		return ep, useTLS, nil
	}
	u, err := url.Parse(ep)
	if err != nil {
		return "", false, fmt.Errorf("%w: Endpoint %q: %v", ErrConfig, ep, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("%w: Endpoint %q: scheme must be http or https", ErrConfig, ep)
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		return "", false, fmt.Errorf("%w: Endpoint %q: want scheme://host:port with no path", ErrConfig, ep)
	}
	if u.Scheme == "http" && useTLS {
		return "", false, fmt.Errorf("%w: Endpoint %q: an http:// endpoint with TLS set; use https://", ErrConfig, ep)
	}
	return u.Host, u.Scheme == "https" || useTLS, nil
}

// newClient builds the minio-go client the run uses: path-style requests,
// no retries (a failure is an error in the report, not hidden latency), and
// a connection pool as large as the number of clients.
func newClient(c S3Config) (*minio.Client, error) {
	host, secure, err := parseEndpoint(c.Endpoint, c.TLS)
	if err != nil {
		return nil, err
	}
	// minio-go's transport (it honours SSL_CERT_FILE for a private CA),
	// with an idle pool big enough that no client opens a new connection
	// per request.
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("bench: transport: %w", err)
	}
	conns := max(c.Concurrency, c.PrepareConcurrency) + 4
	tr.MaxIdleConns = max(tr.MaxIdleConns, conns)
	tr.MaxIdleConnsPerHost = conns
	if secure && c.Insecure {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.InsecureSkipVerify = true
	}
	cl, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:       secure,
		Transport:    tr,
		Region:       c.Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: client for %s: %w", host, err)
	}
	return cl, nil
}

// RunS3 runs one S3 benchmark: it creates (or opens) the bucket,
// pre-creates the objects the workload needs, runs cfg.Concurrency clients
// until cfg.Duration or cfg.Ops is reached, and removes what it wrote unless
// cfg.Keep.
//
// Cancelling ctx (SIGINT in the command) stops the clients at once; requests
// in flight are abandoned and counted neither as operations nor as errors.
// The clean-up still runs, on a context of its own, and the result so far is
// returned with Interrupted set and no error. An error is returned when the
// run could not start (configuration, bucket, pre-creation); the clean-up
// has run then too, and its outcome is in the partial result, if any.
func RunS3(ctx context.Context, cfg S3Config) (*S3Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64() | 1
	}
	runID := fmt.Sprintf("%08x", rand.Uint32())
	r := &run{
		cfg:     cfg,
		client:  client,
		core:    minio.Core{Client: client},
		base:    cfg.Prefix + runID + "/",
		seed:    seed,
		payload: newPayload(seed, payloadSize),
	}
	res := &S3Result{
		Workload:    cfg.Workload,
		Endpoint:    cfg.Endpoint,
		Prefix:      r.base,
		Size:        cfg.Size,
		Concurrency: cfg.Concurrency,
		Seed:        seed,
	}
	if cfg.Workload == WorkloadMultipart {
		res.PartSize = cfg.PartSize
	}
	if cfg.Workload == WorkloadMixed {
		res.Mix = cfg.Mix.String()
	}

	if err := r.openBucket(ctx, runID); err != nil {
		return nil, err
	}
	res.Bucket, res.BucketCreated = r.bucket, r.createdNamed
	if cfg.Started != nil {
		cfg.Started(r.bucket, r.base)
	}
	defer func() {
		res.Cleanup = r.cleanup(ctx)
	}()

	if r.needsObjects() {
		st, err := r.prepare(ctx)
		res.Objects = len(r.objects)
		res.Prepare = st
		if err != nil {
			if ctx.Err() != nil {
				res.Interrupted = true
				return res, nil
			}
			return res, err
		}
		if c := r.cfg.Settle; c > 0 {
			start := time.Now()
			select {
			case <-ctx.Done():
				res.Interrupted = true
				return res, nil
			case <-time.After(c):
			}
			res.Settled = time.Since(start).Seconds()
		}
	}
	res.Ops, res.Seconds = r.measure(ctx)
	res.Interrupted = ctx.Err() != nil
	res.StandInPuts = r.standIns.Load()
	// A delete run ends when its objects do; say so when that came
	// before the asked duration.
	res.RanOut = cfg.Workload == WorkloadDelete && cfg.Duration > 0 && cfg.Ops == 0 && !r.stop.Load() && !res.Interrupted
	return res, nil
}
