package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/reedsolomon"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name      string
		k, m, bs  int
		wantError bool
	}{
		{"smallest", 1, 1, 1, false},
		{"default block size", 4, 2, 0, false},
		{"block equals k", 12, 4, 12, false},
		{"max shards", 200, 56, 1 << 20, false},
		{"max block", 4, 2, MaxBlockSize, false},
		{"no data shards", 0, 2, 1024, true},
		{"no parity", 4, 0, 1024, true},
		{"negative parity", 4, -1, 1024, true},
		{"too many shards", 200, 57, 1 << 20, true},
		{"block smaller than k", 8, 4, 7, true},
		{"negative block", 4, 2, -1, true},
		{"block too big", 4, 2, MaxBlockSize + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.k, tt.m, tt.bs)
			if tt.wantError {
				if !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("New(%d, %d, %d) = %v, want ErrInvalidArgument", tt.k, tt.m, tt.bs, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%d, %d, %d): %v", tt.k, tt.m, tt.bs, err)
			}
			wantBS := tt.bs
			if wantBS == 0 {
				wantBS = DefaultBlockSize
			}
			if c.DataShards() != tt.k || c.ParityShards() != tt.m || c.BlockSize() != wantBS {
				t.Fatalf("got %d+%d bs %d", c.DataShards(), c.ParityShards(), c.BlockSize())
			}
		})
	}
}

func TestShardSize(t *testing.T) {
	c := mustCodec(t, 4, 2, 1000, config{}) // shard block 250
	tests := []struct {
		size, want int64
	}{
		{0, 32},
		{1, 32 + 8 + 1},
		{4, 32 + 8 + 1},
		{5, 32 + 8 + 2},
		{999, 32 + 8 + 250},
		{1000, 32 + 8 + 250},
		{1001, 32 + 2*8 + 250 + 1},
		{-1, -1},
		{1 << 62, 32 + (1<<62)/1000*258 + 8 + ((1<<62)%1000+3)/4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			if got := c.ShardSize(tt.size); got != tt.want {
				t.Fatalf("ShardSize(%d) = %d, want %d", tt.size, got, tt.want)
			}
		})
	}
	t.Run("overflow", func(t *testing.T) {
		// One byte per block: 9 stream bytes per input byte.
		c := mustCodec(t, 1, 1, 1, config{})
		if got := c.ShardSize(1 << 62); got != -1 {
			t.Fatalf("ShardSize(1<<62) = %d, want -1", got)
		}
		var out bytes.Buffer
		_, err := c.Decode(context.Background(), &out, make([]io.ReaderAt, 2), 0, 1, 1<<62)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Decode of an unaddressable size: %v", err)
		}
	})
}

// TestLayoutMatchesSplit checks that a shard block holds exactly what
// reedsolomon's Split and Encode give for that block, for full and short
// blocks of every geometry: the format promise in doc.go.
func TestLayoutMatchesSplit(t *testing.T) {
	rng := newRand(t)
	for _, g := range geometries {
		k, m := g[0], g[1]
		t.Run(fmt.Sprintf("%d+%d", k, m), func(t *testing.T) {
			bs := testBlockSize(rng, k)
			c := mustCodec(t, k, m, bs, config{})
			enc, err := reedsolomon.New(k, m)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range testSizes(rng, bs) {
				data := randBytes(rng, size)
				shards := encodeAll(t, c, data)
				for b := range c.numBlocks(int64(size)) {
					block := data[b*int64(bs) : b*int64(bs)+int64(c.blockLen(b, int64(size)))]
					want, err := enc.Split(bytes.Clone(block))
					if err != nil {
						t.Fatal(err)
					}
					if err := enc.Encode(want); err != nil {
						t.Fatal(err)
					}
					off := c.blockOffset(b) + checksumSize
					for i := range shards {
						got := shards[i][off : off+int64(len(want[i]))]
						if !bytes.Equal(got, want[i]) {
							t.Fatalf("size %d block %d shard %d differs from reedsolomon Split+Encode", size, b, i)
						}
					}
				}
			}
		})
	}
}

// TestEncodeFailingWriters drops writers mid-stream: up to k+m-writeQuorum
// may fail and Encode succeeds, naming them; one more and it fails with
// ErrWriteQuorum. The surviving shards must decode.
func TestEncodeFailingWriters(t *testing.T) {
	rng := newRand(t)
	for _, g := range geometries {
		k, m := g[0], g[1]
		n := k + m
		for _, quorum := range []int{k, min(k+1, n), n} {
			for _, extra := range []int{0, 1} {
				fails := n - quorum + extra
				cfg := ioConfigs[rng.Intn(len(ioConfigs))]
				t.Run(fmt.Sprintf("%d+%d/quorum=%d/fail=%d/%v", k, m, quorum, fails, cfg), func(t *testing.T) {
					bs := 16 * k
					c := mustCodec(t, k, m, bs, cfg)
					size := 5*bs + rng.Intn(bs)
					data := randBytes(rng, size)
					full := c.ShardSize(int64(size))
					ws := make([]io.Writer, n)
					outs := make([]*failWriter, n)
					failing := map[int]bool{}
					for j, i := range rng.Perm(n) {
						outs[i] = &failWriter{ok: int(full)}
						if j < fails {
							failing[i] = true
							outs[i].ok = rng.Intn(int(full)) // fail somewhere in the stream
							outs[i].short = rng.Intn(2) == 0
						}
						ws[i] = outs[i]
					}
					if fails > 0 && rng.Intn(3) == 0 {
						// A writer known to be offline counts as failed.
						for i := range failing {
							ws[i] = nil
							break
						}
					}
					res, err := c.Encode(context.Background(), bytes.NewReader(data), ws, quorum)
					if extra > 0 {
						if !errors.Is(err, ErrWriteQuorum) {
							t.Fatalf("%d of %d writers failed with quorum %d: err = %v, want ErrWriteQuorum", fails, n, quorum, err)
						}
						return
					}
					if err != nil {
						t.Fatalf("Encode: %v", err)
					}
					if res.Size != int64(size) {
						t.Fatalf("Size = %d, want %d", res.Size, size)
					}
					rs := make([]io.ReaderAt, n)
					for i := range n {
						if failing[i] != (res.Errs[i] != nil) {
							t.Fatalf("shard %d failing=%t but Errs = %v", i, failing[i], res.Errs[i])
						}
						if failing[i] {
							var be *BlockError
							if ws[i] == nil {
								if !errors.Is(res.Errs[i], ErrShardMissing) {
									t.Fatalf("nil writer %d: Errs = %v", i, res.Errs[i])
								}
							} else if !errors.As(res.Errs[i], &be) || be.Shard != i || !(errors.Is(be, errDisk) || errors.Is(be, io.ErrShortWrite)) {
								t.Fatalf("failed writer %d: Errs = %v", i, res.Errs[i])
							}
							continue
						}
						rs[i] = bytes.NewReader(outs[i].buf.Bytes())
					}
					got, _, err := decodeRange(c, rs, 0, int64(size), int64(size))
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("decode after failed writers: %v", err)
					}
				})
			}
		}
	}
}

func TestEncodeArguments(t *testing.T) {
	c := mustCodec(t, 4, 2, 64, config{})
	six := make([]io.Writer, 6)
	for i := range six {
		six[i] = io.Discard
	}
	tests := []struct {
		name   string
		ws     []io.Writer
		quorum int
		want   error
	}{
		{"too few writers", six[:5], 4, ErrInvalidArgument},
		{"quorum below k", six, 3, ErrInvalidArgument},
		{"quorum above n", six, 7, ErrInvalidArgument},
		{"not enough live writers", []io.Writer{io.Discard, nil, io.Discard, nil, io.Discard, nil}, 4, ErrWriteQuorum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Encode(context.Background(), bytes.NewReader(make([]byte, 100)), tt.ws, tt.quorum)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

var errBody = errors.New("test: body checksum mismatch")

// tailErrReader returns its data and, with the last bytes, an error, the
// way a verifying body reader reports a mismatch at EOF.
type tailErrReader struct {
	data  []byte
	chunk int
}

func (r *tailErrReader) Read(p []byte) (int, error) {
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, errBody
	}
	return n, nil
}

// cancelReader cancels a context once it has handed out after bytes.
type cancelReader struct {
	r      io.Reader
	after  int
	cancel context.CancelFunc
}

func (r *cancelReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.after -= n; r.after <= 0 {
		r.cancel()
	}
	return n, err
}

func TestEncodeInputErrors(t *testing.T) {
	c := mustCodec(t, 4, 2, 64, config{})
	discard := func() []io.Writer {
		ws := make([]io.Writer, 6)
		for i := range ws {
			ws[i] = io.Discard
		}
		return ws
	}
	t.Run("error with the last bytes", func(t *testing.T) {
		for _, size := range []int{1, 63, 64, 65, 640} {
			for _, chunk := range []int{1, 7, 64, 1000} {
				_, err := c.Encode(context.Background(), &tailErrReader{data: make([]byte, size), chunk: chunk}, discard(), 4)
				if !errors.Is(err, errBody) {
					t.Fatalf("size %d chunk %d: err = %v, want the reader's error", size, chunk, err)
				}
			}
		}
	})
	t.Run("canceled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Encode(ctx, bytes.NewReader(make([]byte, 1000)), discard(), 4)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("canceled during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := &cancelReader{r: bytes.NewReader(make([]byte, 10000)), after: 300, cancel: cancel}
		res, err := c.Encode(ctx, r, discard(), 4)
		if !errors.Is(err, context.Canceled) || res.Size >= 10000 {
			t.Fatalf("err = %v after %d bytes, want context.Canceled before the end", err, res.Size)
		}
	})
	t.Run("reader making no progress", func(t *testing.T) {
		_, err := c.Encode(context.Background(), zeroReader{}, discard(), 4)
		if !errors.Is(err, io.ErrNoProgress) {
			t.Fatalf("err = %v, want io.ErrNoProgress", err)
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// TestEncodeEmpty checks that an empty input gives header-only streams that
// decode (to nothing) and verify.
func TestEncodeEmpty(t *testing.T) {
	c := mustCodec(t, 4, 2, 64, config{})
	shards := encodeAll(t, c, nil)
	for i, s := range shards {
		if len(s) != headerSize {
			t.Fatalf("shard %d: %d bytes", i, len(s))
		}
		if err := c.Verify(context.Background(), bytes.NewReader(s), i, 0); err != nil {
			t.Fatalf("Verify shard %d: %v", i, err)
		}
	}
	got, _, err := decodeRange(c, readersOf(shards), 0, 0, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("decode empty: %v, %d bytes", err, len(got))
	}
}
