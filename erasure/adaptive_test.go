package erasure

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// overlap counts I/O calls in flight and remembers the most at once.
type overlap struct {
	now, max atomic.Int32
}

func (o *overlap) enter() {
	n := o.now.Add(1)
	for {
		m := o.max.Load()
		if n <= m || o.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (o *overlap) leave() { o.now.Add(-1) }

type slowWriter struct {
	o   *overlap
	d   time.Duration
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	w.o.enter()
	defer w.o.leave()
	time.Sleep(w.d)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

type slowReaderAt struct {
	o *overlap
	d time.Duration
	r io.ReaderAt
}

func (r slowReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.o.enter()
	defer r.o.leave()
	time.Sleep(r.d)
	return r.r.ReadAt(p, off)
}

// TestAdaptiveIO checks that the default I/O mode switches to concurrent
// I/O when readers or writers are slow, and still gets every byte right.
func TestAdaptiveIO(t *testing.T) {
	const slow = 2 * time.Millisecond
	rng := newRand(t)
	c := mustCodec(t, 4, 2, 4096, config{})
	data := randBytes(rng, 6*4096+100)
	size := int64(len(data))

	t.Run("slow writers", func(t *testing.T) {
		var o overlap
		ws := make([]io.Writer, c.n)
		outs := make([]*slowWriter, c.n)
		for i := range ws {
			outs[i] = &slowWriter{o: &o, d: slow}
			ws[i] = outs[i]
		}
		if _, err := c.Encode(context.Background(), bytes.NewReader(data), ws, c.k); err != nil {
			t.Fatal(err)
		}
		if o.max.Load() < 2 {
			t.Fatalf("at most %d writes in flight: Encode did not switch to concurrent writes", o.max.Load())
		}
		want := encodeAll(t, c, data)
		for i := range outs {
			if !bytes.Equal(outs[i].buf.Bytes(), want[i]) {
				t.Fatalf("shard %d differs", i)
			}
		}
	})

	shards := encodeAll(t, c, data)
	t.Run("slow readers", func(t *testing.T) {
		var o overlap
		rs := make([]io.ReaderAt, c.n)
		for i := range rs {
			rs[i] = slowReaderAt{o: &o, d: slow, r: bytes.NewReader(shards[i])}
		}
		got, _, err := decodeRange(c, rs, 0, size, size)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decode: %v", err)
		}
		if o.max.Load() < 2 {
			t.Fatalf("at most %d reads in flight: Decode did not switch to concurrent reads", o.max.Load())
		}
	})

	t.Run("slow output", func(t *testing.T) {
		// Reads are fast, writing the output is slow: after the switch the
		// next block is read while the current one is written.
		var o overlap
		rs := make([]io.ReaderAt, c.n)
		for i := range rs {
			rs[i] = slowReaderAt{o: &o, r: bytes.NewReader(shards[i])}
		}
		w := &slowWriter{o: &o, d: slow}
		if _, err := c.Decode(context.Background(), w, rs, 0, size, size); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.buf.Bytes(), data) {
			t.Fatal("wrong output")
		}
		if o.max.Load() < 2 {
			t.Fatal("no read overlapped a write: Decode did not start reading ahead")
		}
	})
}
