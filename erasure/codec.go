package erasure

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/reedsolomon"
)

// DefaultBlockSize is the block size New uses when given 0.
const DefaultBlockSize = 1 << 20

// MaxBlockSize bounds the block size so that the header's 32-bit field holds
// it and the per-codec buffers (two blocks of k+m shards) stay reasonable.
const MaxBlockSize = 1 << 30

// Sentinel errors. Every error the package returns wraps at most one of them,
// so callers can branch with errors.Is.
var (
	// ErrChecksum means a block's (or the header's) stored checksum does not
	// match its bytes: bitrot, a torn write, or a block that belongs to
	// another shard or position.
	ErrChecksum = errors.New("erasure: checksum mismatch")
	// ErrReadQuorum means fewer than k shards of some block could be read and
	// verified, so the block cannot be recovered. The error is a
	// *ReadQuorumError naming the block and each shard's fault.
	ErrReadQuorum = errors.New("erasure: read quorum lost")
	// ErrWriteQuorum means fewer than writeQuorum shard writers remained.
	ErrWriteQuorum = errors.New("erasure: write quorum lost")
	// ErrShortShard means a shard stream ended before the block being read.
	ErrShortShard = errors.New("erasure: shard stream too short")
	// ErrShardMissing marks a shard whose reader was nil (known unavailable).
	ErrShardMissing = errors.New("erasure: shard missing")
	// ErrHeader means a shard header is well formed (its checksum holds) but
	// names another format version, algorithm, geometry or shard index.
	ErrHeader = errors.New("erasure: shard header mismatch")
	// ErrTrailingData means a shard stream is longer than ShardSize says it
	// should be. Only Verify reports it; reads never look past the end.
	ErrTrailingData = errors.New("erasure: trailing data after last block")
	// ErrInvalidArgument means a call's parameters are out of range: bad
	// geometry, wrong number of streams, a range outside the object.
	ErrInvalidArgument = errors.New("erasure: invalid argument")
)

// HeaderBlock is the Block value of a BlockError about a shard's header.
const HeaderBlock = -1

// BlockError names one block of one shard stream that could not be read,
// verified or written. Block is HeaderBlock for the stream header; for
// ErrTrailingData it is the number of blocks (one past the last).
type BlockError struct {
	Shard int
	Block int64
	Err   error
}

// Error names the shard, the block (or header) and the cause.
func (e *BlockError) Error() string {
	if e.Block == HeaderBlock {
		return fmt.Sprintf("erasure: shard %d header: %s", e.Shard, errText(e.Err))
	}
	return fmt.Sprintf("erasure: shard %d block %d: %s", e.Shard, e.Block, errText(e.Err))
}

// errText is err's message without a leading "erasure: ", so that wrapping
// one of our errors does not repeat the package prefix.
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "erasure: ")
}

// Unwrap returns the cause, so errors.Is(err, ErrChecksum) works.
func (e *BlockError) Unwrap() error { return e.Err }

// ReadQuorumError reports a block that could not be recovered. Errs holds,
// per shard, why that shard was unusable for this block (nil for shards that
// were good). It matches ErrReadQuorum with errors.Is and each shard's
// *BlockError with errors.As.
type ReadQuorumError struct {
	Block int64
	Good  int // shards that read and verified
	Need  int // k
	Errs  []error
}

// Error names the block, the count of good shards and each shard's fault.
func (e *ReadQuorumError) Error() string {
	s := fmt.Sprintf("erasure: read quorum lost at block %d: %d of %d shards good", e.Block, e.Good, e.Need)
	for _, err := range e.Errs {
		if err != nil {
			s += "; " + errText(err)
		}
	}
	return s
}

// Unwrap exposes ErrReadQuorum and the per-shard causes.
func (e *ReadQuorumError) Unwrap() []error {
	out := make([]error, 0, len(e.Errs)+1)
	out = append(out, ErrReadQuorum)
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Codec encodes and decodes shard streams for one geometry (k data shards,
// m parity shards, block size). A Codec is safe for concurrent use; it keeps
// a pool of block buffers, so share one per geometry.
type Codec struct {
	k, m, n   int
	blockSize int
	// shardBlock is the shard slice of a full block: ceil(blockSize/k).
	shardBlock int
	// stride is the distance between two shards' slots in a block buffer.
	stride int
	rs     reedsolomon.Encoder
	cfg    config
	pool   sync.Pool // *blockBuf
}

// config holds knobs that only tests and benchmarks change.
type config struct {
	rsOpts []reedsolomon.Option
	// io chooses between serial I/O in the calling goroutine and
	// concurrent I/O (see ioMode); the default adapts.
	io ioMode
	// depth is how many block buffers concurrent I/O keeps in flight:
	// 1 = one block at a time; 2 (default) = overlap the next block's read
	// with the current block's writes.
	depth int
	// rsGoroutines caps reedsolomon's own goroutines per call (default 1);
	// -1 lets it pick from the shard size (WithAutoGoroutines).
	rsGoroutines int
}

// ioMode says how Encode, Decode and Reconstruct drive their readers and
// writers.
//
// Serial I/O calls every reader and writer from the calling goroutine, one
// after the other. Concurrent I/O gives each shard's reader or writer its own
// goroutine, so a block's k+m reads or writes proceed in parallel, and
// overlaps reading block b+1 with writing block b.
//
// On the 2-core VM the project benchmarks on, handing a block to another
// goroutine costs more than copying it (waking the other core and moving the
// block's cache lines there). BenchmarkIOMode, 4+2, 16 MiB, best of 4, MB/s:
//
//	                                serial  concurrent  concurrent  auto
//	                                        depth 1     depth 2
//	Encode, io.Discard writers      12,600   6,750       9,000      13,400
//	Encode, copying writers          8,400   3,860       4,080       8,340
//	Encode, writers taking 200 µs      154     828         984         759
//	Decode, io.Discard output       23,000  19,800      12,000      21,100
//	Decode, readers taking 200 µs      228     820         807         704
//
// So ioAuto starts serial and switches to concurrent (depth 2) for the rest
// of the call as soon as one I/O call is slow (slowIO): drives and network
// streams that block get parallelism, memory-speed I/O keeps the cheap path.
type ioMode uint8

const (
	ioAuto ioMode = iota
	ioSerial
	ioConcurrent
)

// slowIO reports whether an I/O call moving n bytes in d is slow enough
// that the remaining calls should run concurrently: slower than a fixed
// 50 µs plus 2 GB/s. Copies in memory (page cache included) run at 5 GB/s
// and more; a call that waits on a device or the network does not.
func slowIO(d time.Duration, n int) bool {
	return d > 50*time.Microsecond+time.Duration(n/2) // 2 bytes per ns

}

// New returns a codec for dataShards data + parityShards parity shards and
// blocks of blockSize bytes of input (0 means DefaultBlockSize). Valid:
// dataShards >= 1, parityShards >= 1, dataShards+parityShards <= 256,
// dataShards <= blockSize <= MaxBlockSize. The last block of an object may be
// shorter than blockSize.
func New(dataShards, parityShards, blockSize int) (*Codec, error) {
	return newCodec(dataShards, parityShards, blockSize, config{})
}

func newCodec(k, m, blockSize int, cfg config) (*Codec, error) {
	if blockSize == 0 {
		blockSize = DefaultBlockSize
	}
	switch {
	case k < 1 || m < 1:
		return nil, fmt.Errorf("%w: need at least 1 data and 1 parity shard, got %d+%d", ErrInvalidArgument, k, m)
	case k+m > 256:
		return nil, fmt.Errorf("%w: %d+%d shards, at most 256 in total", ErrInvalidArgument, k, m)
	case blockSize < k || blockSize > MaxBlockSize:
		return nil, fmt.Errorf("%w: block size %d, want %d..%d", ErrInvalidArgument, blockSize, k, MaxBlockSize)
	}
	if cfg.depth <= 0 {
		cfg.depth = 2
	}
	if cfg.rsGoroutines == 0 {
		cfg.rsGoroutines = 1
	}
	sb := ceilDiv(blockSize, k)
	// One goroutine: reedsolomon's parallel split costs more in cross-core
	// traffic than it saves once the block has just been copied in by this
	// core (read+encode of 4+2 blocks: 18 GB/s with one goroutine, 8.6 GB/s
	// with WithAutoGoroutines), and it allocates per call.
	opts := []reedsolomon.Option{reedsolomon.WithMaxGoroutines(cfg.rsGoroutines)}
	if cfg.rsGoroutines < 0 {
		opts = []reedsolomon.Option{reedsolomon.WithAutoGoroutines(sb)}
	}
	opts = append(opts, cfg.rsOpts...)
	rs, err := reedsolomon.New(k, m, opts...)
	if err != nil {
		return nil, fmt.Errorf("erasure: new %d+%d codec: %w", k, m, err)
	}
	return &Codec{
		k: k, m: m, n: k + m,
		blockSize:  blockSize,
		shardBlock: sb,
		stride:     slotPrefix + roundUp(sb, slotAlign),
		rs:         rs,
		cfg:        cfg,
	}, nil
}

// DataShards returns k.
func (c *Codec) DataShards() int { return c.k }

// ParityShards returns m.
func (c *Codec) ParityShards() int { return c.m }

// BlockSize returns the input block size in bytes.
func (c *Codec) BlockSize() int { return c.blockSize }

// ShardSize is the exact byte length of one shard stream (every shard has the
// same length, header and checksums included) for an input of size bytes.
// Size 0 gives a header-only stream. It returns -1 for a negative size or one
// whose stream length would not fit in an int64.
func (c *Codec) ShardSize(size int64) int64 {
	if size < 0 {
		return -1
	}
	full := size / int64(c.blockSize)
	rest := size % int64(c.blockSize)
	per := int64(checksumSize + c.shardBlock)
	if full > (math.MaxInt64-headerSize-checksumSize-int64(c.shardBlock))/per {
		return -1
	}
	total := headerSize + full*per
	if rest > 0 {
		total += checksumSize + int64(ceilDiv(int(rest), c.k))
	}
	return total
}

// numBlocks is how many blocks an input of size bytes has.
func (c *Codec) numBlocks(size int64) int64 {
	bs := int64(c.blockSize)
	return size/bs + boolInt64(size%bs != 0)
}

// blockLen is the input length of block b of an object of size bytes.
func (c *Codec) blockLen(b, size int64) int {
	return int(min(int64(c.blockSize), size-b*int64(c.blockSize)))
}

// shardLen is the shard slice length of a block of blockLen input bytes.
func (c *Codec) shardLen(blockLen int) int { return ceilDiv(blockLen, c.k) }

// blockOffset is where block b's checksum starts in every shard stream. It
// holds for the last, short block too, since every block before it is full.
func (c *Codec) blockOffset(b int64) int64 {
	return headerSize + b*int64(checksumSize+c.shardBlock)
}

// checkSize rejects sizes whose streams could not be addressed.
func (c *Codec) checkSize(size int64) error {
	if c.ShardSize(size) < 0 {
		return fmt.Errorf("%w: object size %d", ErrInvalidArgument, size)
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }

func boolInt64(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
