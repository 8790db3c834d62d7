package erasure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// TestConcurrentUse shares one Codec between goroutines that encode and
// decode (healthy and degraded) at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	c := mustCodec(t, 4, 2, 256, config{})
	rng := newRand(t)
	inputs := make([][]byte, 8)
	for i := range inputs {
		inputs[i] = randBytes(rng, 1000+rng.Intn(3000))
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(inputs))
	for g, data := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				shards := encodeAll(t, c, data)
				rs := readersOf(shards)
				rs[g%c.n] = nil
				rs[(g+3)%c.n] = nil
				var out bytes.Buffer
				if _, err := c.Decode(context.Background(), &out, rs, 0, int64(len(data)), int64(len(data))); err != nil || !bytes.Equal(out.Bytes(), data) {
					errs <- "decode mismatch"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestAllocsPerBlock checks that our own code allocates nothing per block:
// a long object costs the same allocations as a short one, apart from what
// reedsolomon's Encode allocates inside each call (its GFNI path has an
// escaping table). Both I/O modes are forced: the adaptive one could switch
// mid-run on a timing hiccup.
func TestAllocsPerBlock(t *testing.T) {
	for _, mode := range []ioMode{ioSerial, ioConcurrent} {
		t.Run(fmt.Sprint("io=", mode), func(t *testing.T) {
			c := mustCodec(t, 4, 2, 4096, config{io: mode})
			rng := newRand(t)
			small, large := randBytes(rng, 4*4096), randBytes(rng, 64*4096)
			ws := discardWriters(c.n)
			encodeAllocs := func(data []byte) float64 {
				r := bytes.NewReader(data)
				return testing.AllocsPerRun(20, func() {
					r.Reset(data)
					if _, err := c.Encode(context.Background(), r, ws, c.k); err != nil {
						t.Fatal(err)
					}
				})
			}
			decodeAllocs := func(data []byte) float64 {
				rs := readersOf(encodeAll(t, c, data))
				return testing.AllocsPerRun(20, func() {
					if _, err := c.Decode(context.Background(), io.Discard, rs, 0, int64(len(data)), int64(len(data))); err != nil {
						t.Fatal(err)
					}
				})
			}
			shards := reedsolomon.AllocAligned(c.n, c.shardBlock)
			rsAllocs := testing.AllocsPerRun(20, func() {
				if err := c.rs.Encode(shards); err != nil {
					t.Fatal(err)
				}
			})
			if s, l := encodeAllocs(small), encodeAllocs(large); l > s+60*rsAllocs+1 {
				t.Errorf("Encode: %v allocations for 4 blocks, %v for 64 (reedsolomon: %v per block)", s, l, rsAllocs)
			}
			if s, l := decodeAllocs(small), decodeAllocs(large); l > s+1 {
				t.Errorf("Decode: %v allocations for 4 blocks, %v for 64", s, l)
			}
		})
	}
}
