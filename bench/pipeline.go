package bench

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/reedsolomon"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/objstore/objstore/erasure"
	"github.com/objstore/objstore/s3api/checksum"
)

// PipelineConfig describes a run of the data-path stage benchmarks. Zero
// fields take the defaults in their comments.
type PipelineConfig struct {
	// DataShards and ParityShards: the erasure geometry; default 4+2.
	DataShards, ParityShards int
	// BlockSize of the erasure codec; default 1 MiB.
	BlockSize int
	// ObjectSize is the input of one erasure or chain operation; default
	// 16 MiB (16 blocks, like the erasure package's benchmarks).
	ObjectSize int
	// PackageSize is the plaintext size of one sealed package; default
	// 64 KiB, the design's.
	PackageSize int
	// Time each stage is measured for, after a warm-up of a quarter of it
	// (at least one operation); default 1 s.
	Time time.Duration
	// Cores the ceiling estimates assume; default runtime.NumCPU().
	Cores int
	// Checksums are the x-amz-checksum-* algorithms to measure, each
	// alone and in a PUT chain of its own; default DefaultChecksums.
	// MD5 (the ETag) and SHA-256 (signed payloads) are always measured.
	Checksums []checksum.Algorithm
	// Progress, when not nil, is told which stage is running (\r lines).
	Progress io.Writer
}

func (c PipelineConfig) withDefaults() PipelineConfig {
	if c.DataShards == 0 && c.ParityShards == 0 {
		c.DataShards, c.ParityShards = 4, 2
	}
	if c.BlockSize == 0 {
		c.BlockSize = erasure.DefaultBlockSize
	}
	if c.ObjectSize == 0 {
		c.ObjectSize = 16 << 20
	}
	if c.PackageSize == 0 {
		c.PackageSize = 64 << 10
	}
	if c.Time == 0 {
		c.Time = time.Second
	}
	if c.Cores == 0 {
		c.Cores = runtime.NumCPU()
	}
	if c.Checksums == nil {
		c.Checksums = DefaultChecksums()
	}
	return c
}

// DefaultChecksums are the checksums RunPipeline measures unless told
// otherwise: CRC32C and SHA-256, which SDKs send most, and CRC64NVME,
// which the server computes for every object sent without a checksum.
func DefaultChecksums() []checksum.Algorithm {
	return []checksum.Algorithm{checksum.CRC32C, checksum.CRC64NVME, checksum.SHA256}
}

// Validate names the first field out of range, after defaults.
func (c PipelineConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.DataShards < 1 || c.ParityShards < 1 || c.DataShards+c.ParityShards > 256:
		return fmt.Errorf("%w: DataShards/ParityShards: %d+%d: want k, m >= 1 and k+m <= 256", ErrConfig, c.DataShards, c.ParityShards)
	case c.BlockSize < c.DataShards || c.BlockSize > erasure.MaxBlockSize:
		return fmt.Errorf("%w: BlockSize: %d not in [%d, %d]", ErrConfig, c.BlockSize, c.DataShards, erasure.MaxBlockSize)
	case c.ObjectSize < 1 || c.ObjectSize > 1<<30:
		return fmt.Errorf("%w: ObjectSize: %d not in [1, 1GiB]", ErrConfig, c.ObjectSize)
	case c.PackageSize < 1 || c.PackageSize > 16<<20:
		return fmt.Errorf("%w: PackageSize: %d not in [1, 16MiB]", ErrConfig, c.PackageSize)
	case c.Time < 0:
		return fmt.Errorf("%w: Time: negative", ErrConfig)
	case c.Cores < 1:
		return fmt.Errorf("%w: Cores: %d < 1", ErrConfig, c.Cores)
	}
	for _, a := range c.Checksums {
		if a == checksum.None || a.New() == nil {
			return fmt.Errorf("%w: Checksums: %v is not a checksum algorithm", ErrConfig, a)
		}
	}
	return nil
}

// StageResult is one measured stage (or chain), on one goroutine.
type StageResult struct {
	// ID names the stage in ChainResult.Stages; Name describes it.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Bytes is the input of one operation; MBPerSec counts input bytes,
	// in MB (10^6 bytes) per second, as go test -bench does.
	Bytes    int64   `json:"bytes_per_op"`
	Ops      int64   `json:"ops"`
	Seconds  float64 `json:"seconds"`
	MBPerSec float64 `json:"mb_per_sec"`
	Note     string  `json:"note,omitempty"`
}

// ChainResult is a chain of stages measured end to end on one goroutine,
// next to what the stage rates predict for it.
type ChainResult struct {
	StageResult
	// Stages are the IDs of the stage rows the model adds up, and Rates
	// their MB/s.
	Stages []string  `json:"stages"`
	Rates  []float64 `json:"stage_mb_per_sec"`
	// SerialMBPerSec is the one-core prediction: 1 / sum(1/rate).
	SerialMBPerSec float64 `json:"serial_model_mb_per_sec"`
	// PipelinedMBPerSec is the ceiling of one stream whose stages run
	// concurrently on Cores cores: min(slowest stage, Cores × serial).
	PipelinedMBPerSec float64 `json:"pipelined_ceiling_mb_per_sec"`
	// ParallelMBPerSec is the ceiling of Cores independent streams, each
	// on its own core: Cores × serial.
	ParallelMBPerSec float64 `json:"parallel_ceiling_mb_per_sec"`
	// Arithmetic shows how the three figures were computed.
	Arithmetic []string `json:"arithmetic"`
}

// PipelineResult is the outcome of RunPipeline.
type PipelineResult struct {
	Geometry    string        `json:"geometry"`
	BlockSize   int           `json:"block_size"`
	ObjectSize  int           `json:"object_size"`
	PackageSize int           `json:"package_size"`
	Cores       int           `json:"cores"`
	CPU         string        `json:"cpu,omitempty"`
	GoVersion   string        `json:"go_version"`
	Stages      []StageResult `json:"stages"`
	Chains      []ChainResult `json:"chains"`
}

// Stage returns the stage row with id, or nil.
func (r *PipelineResult) Stage(id string) *StageResult {
	for i := range r.Stages {
		if r.Stages[i].ID == id {
			return &r.Stages[i]
		}
	}
	return nil
}

// stage is one benchmark body: op performs one operation of bytes input.
type stage struct {
	id, name, note string
	bytes          int64
	op             func() error
}

// RunPipeline measures the data path's stages one at a time on the calling
// goroutine, then the PUT and GET chains, and computes the ceilings; see
// doc.go for the model. It returns early with ctx's error when ctx ends.
func RunPipeline(ctx context.Context, cfg PipelineConfig) (*PipelineResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := newFixture(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res := &PipelineResult{
		Geometry:    fmt.Sprintf("%d+%d", cfg.DataShards, cfg.ParityShards),
		BlockSize:   cfg.BlockSize,
		ObjectSize:  cfg.ObjectSize,
		PackageSize: cfg.PackageSize,
		Cores:       cfg.Cores,
		CPU:         cpuModel(),
		GoVersion:   runtime.Version(),
	}
	for _, s := range f.stages() {
		sr, err := measureStage(ctx, cfg, s)
		if err != nil {
			return nil, err
		}
		res.Stages = append(res.Stages, sr)
	}
	for _, ch := range f.chains() {
		sr, err := measureStage(ctx, cfg, ch.stage)
		if err != nil {
			return nil, err
		}
		res.Chains = append(res.Chains, chainModel(res, sr, ch.parts, cfg.Cores))
	}
	if cfg.Progress != nil {
		fmt.Fprint(cfg.Progress, "\r\x1b[K")
	}
	return res, nil
}

// measureStage runs s for a warm-up of cfg.Time/4 (at least one operation)
// and then for cfg.Time, on the calling goroutine.
func measureStage(ctx context.Context, cfg PipelineConfig, s stage) (StageResult, error) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "\rpipeline: %s\x1b[K", s.name)
	}
	// A collection left over from the previous stage should not be
	// charged to this one.
	runtime.GC()
	warm := time.Now().Add(cfg.Time / 4)
	for first := true; first || time.Now().Before(warm); first = false {
		if err := s.op(); err != nil {
			return StageResult{}, fmt.Errorf("bench: pipeline stage %s: %w", s.id, err)
		}
	}
	var ops int64
	start := time.Now()
	var elapsed time.Duration
	for {
		if err := s.op(); err != nil {
			return StageResult{}, fmt.Errorf("bench: pipeline stage %s: %w", s.id, err)
		}
		ops++
		elapsed = time.Since(start)
		if elapsed >= cfg.Time {
			break
		}
		if err := ctx.Err(); err != nil {
			return StageResult{}, fmt.Errorf("bench: pipeline stage %s: %w", s.id, err)
		}
	}
	return StageResult{
		ID: s.id, Name: s.name, Note: s.note,
		Bytes: s.bytes, Ops: ops, Seconds: elapsed.Seconds(),
		MBPerSec: float64(ops) * float64(s.bytes) / elapsed.Seconds() / 1e6,
	}, nil
}

// chainModel puts a measured chain next to the prediction from its stages.
func chainModel(res *PipelineResult, measured StageResult, parts []string, cores int) ChainResult {
	cr := ChainResult{StageResult: measured, Stages: parts}
	var inv float64
	slowest, slowID := 0.0, ""
	terms := make([]string, 0, len(parts))
	for _, id := range parts {
		rate := 0.0
		if s := res.Stage(id); s != nil {
			rate = s.MBPerSec
		}
		cr.Rates = append(cr.Rates, rate)
		if rate <= 0 {
			continue
		}
		inv += 1 / rate
		terms = append(terms, fmt.Sprintf("1/%.0f", rate))
		if slowID == "" || rate < slowest {
			slowest, slowID = rate, id
		}
	}
	if inv == 0 {
		return cr
	}
	cr.SerialMBPerSec = 1 / inv
	cr.ParallelMBPerSec = float64(cores) * cr.SerialMBPerSec
	cr.PipelinedMBPerSec = min(slowest, cr.ParallelMBPerSec)
	cr.Arithmetic = []string{
		fmt.Sprintf("serial, 1 core: 1 / (%s) = %.0f MB/s (measured %.0f, %.0f%% of the model)",
			strings.Join(terms, " + "), cr.SerialMBPerSec, measured.MBPerSec, 100*measured.MBPerSec/cr.SerialMBPerSec),
		fmt.Sprintf("one stream, stages pipelined on %d cores: min(slowest stage %s %.0f, %d × %.0f = %.0f) = %.0f MB/s",
			cores, slowID, slowest, cores, cr.SerialMBPerSec, cr.ParallelMBPerSec, cr.PipelinedMBPerSec),
		fmt.Sprintf("%d streams, one per core: %d × %.0f = %.0f MB/s", cores, cores, cr.SerialMBPerSec, cr.ParallelMBPerSec),
	}
	return cr
}

// cpuModel reads the processor's name on Linux; "" elsewhere.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// fixture holds the inputs every stage reads: random data, an erasure
// codec, pre-encoded shards, keys and sealed packages. Built once.
type fixture struct {
	ctx      context.Context
	cfg      PipelineConfig
	codec    *erasure.Codec
	rs       reedsolomon.Encoder
	rsShards [][]byte
	input    []byte // ObjectSize plaintext
	inputR   *bytes.Reader
	discard  []io.Writer
	shards   [][]byte // Encode of input (plaintext), for the decode stages
	ctShards [][]byte // Encode of the sealed input, for the GET chains
	ctSize   int64
	gcm      cipher.AEAD
	chacha   cipher.AEAD
	pkg      []byte // one plaintext package
	sealed   []byte // pkg sealed with gcm, nonce 0
	sealedCC []byte // pkg sealed with chacha, nonce 0
	out      []byte // scratch for Seal and Open
	nonce    []byte
}

func newFixture(ctx context.Context, cfg PipelineConfig) (*fixture, error) {
	k, m := cfg.DataShards, cfg.ParityShards
	codec, err := erasure.New(k, m, cfg.BlockSize)
	if err != nil {
		return nil, fmt.Errorf("bench: pipeline: %w", err)
	}
	// The raw encode runs on one goroutine, as the codec does.
	rs, err := reedsolomon.New(k, m, reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		return nil, fmt.Errorf("bench: pipeline: reedsolomon %d+%d: %w", k, m, err)
	}
	rng := rand.NewChaCha8([32]byte{'o', 'b', 'j'})
	f := &fixture{ctx: ctx, cfg: cfg, codec: codec, rs: rs}
	f.input = make([]byte, cfg.ObjectSize)
	_, _ = rng.Read(f.input)
	f.inputR = bytes.NewReader(f.input)
	f.discard = make([]io.Writer, k+m)
	for i := range f.discard {
		f.discard[i] = io.Discard
	}
	f.rsShards = reedsolomon.AllocAligned(k+m, (cfg.BlockSize+k-1)/k)
	_, _ = rng.Read(f.rsShards[0])
	if f.shards, err = f.encodeToMemory(f.input); err != nil {
		return nil, err
	}

	key := make([]byte, 32)
	_, _ = rng.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("bench: pipeline: aes: %w", err)
	}
	if f.gcm, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("bench: pipeline: gcm: %w", err)
	}
	if f.chacha, err = chacha20poly1305.New(key); err != nil {
		return nil, fmt.Errorf("bench: pipeline: chacha20poly1305: %w", err)
	}
	f.nonce = make([]byte, f.gcm.NonceSize())
	f.pkg = f.input[:min(cfg.PackageSize, len(f.input))]
	f.out = make([]byte, 0, len(f.pkg)+f.gcm.Overhead())
	f.sealed = f.gcm.Seal(nil, f.nonce, f.pkg, nil)
	f.sealedCC = f.chacha.Seal(nil, f.nonce, f.pkg, nil)

	// The GET chains read an object sealed the way the PUT chain seals it.
	var ct bytes.Buffer
	sr := newSealReader(bytes.NewReader(f.input), f.gcm, cfg.PackageSize, md5.New(), nil)
	if _, err := io.Copy(&ct, sr); err != nil {
		return nil, fmt.Errorf("bench: pipeline: seal: %w", err)
	}
	f.ctSize = int64(ct.Len())
	if f.ctShards, err = f.encodeToMemory(ct.Bytes()); err != nil {
		return nil, err
	}
	return f, nil
}

// encodeToMemory erasure-codes data into k+m in-memory shard streams.
func (f *fixture) encodeToMemory(data []byte) ([][]byte, error) {
	bufs := make([]*bytes.Buffer, f.codec.DataShards()+f.codec.ParityShards())
	ws := make([]io.Writer, len(bufs))
	for i := range bufs {
		bufs[i] = bytes.NewBuffer(make([]byte, 0, f.codec.ShardSize(int64(len(data)))))
		ws[i] = bufs[i]
	}
	if _, err := f.codec.Encode(f.ctx, bytes.NewReader(data), ws, len(ws)); err != nil {
		return nil, fmt.Errorf("bench: pipeline: encode fixture: %w", err)
	}
	out := make([][]byte, len(bufs))
	for i, b := range bufs {
		out[i] = b.Bytes()
	}
	return out, nil
}

// readers returns shard readers over shards with the first lost ones nil.
func readers(shards [][]byte, lost int) []io.ReaderAt {
	rs := make([]io.ReaderAt, len(shards))
	for i, s := range shards {
		if i >= lost {
			rs[i] = bytes.NewReader(s)
		}
	}
	return rs
}
