package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests here use streams of more than one batch (16 packages), where
// NewDecryptPipeline starts its sender; the helper decrypt runs every
// other stream test through both writers as well.

// TestBatchedStreams reads long streams whole and in random ranges, fed
// in the chunk sizes storage produces (a shard of a 1 MiB block of 4+2,
// of 8+4, a whole block) and in odd ones, through both writers.
func TestBatchedStreams(t *testing.T) {
	rng := newRand(t)
	for _, size := range []int64{16 * P, 16*P + 1, 17 * P, 40*P + 7, 100*P - 1} {
		key := randomKey(t, rng, PreferredCipher())
		plain := randomBytes(rng, int(size))
		ct := encrypt(t, key, 3, plain, 0)
		type rg struct{ off, n int64 }
		ranges := []rg{{0, size}, {1, size - 1}, {16 * P, size - 16*P}, {16*P - 1, min(2, size-16*P+1)}, {size - 1, 1}}
		for range 8 {
			off := rng.Int63n(size)
			ranges = append(ranges, rg{off, rng.Int63n(size - off + 1)})
		}
		for _, chunk := range []int{1 << 18, 1 << 17, 1 << 20, 7919, 0} {
			for _, r := range ranges {
				t.Run(fmt.Sprintf("%d/%d+%d/chunk%d", size, r.off, r.n, chunk), func(t *testing.T) {
					got, err := decryptRange(t, key, 3, ct, size, r.off, r.n, chunk)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, plain[r.off:r.off+r.n]) {
						t.Fatalf("got %d bytes, not the plaintext", len(got))
					}
				})
			}
		}
	}
}

// TestBatchedTamper attacks a 40-package stream at and around batch
// boundaries: every failure must stop at the first bad package, with
// only the packages before it written, through both writers.
func TestBatchedTamper(t *testing.T) {
	rng := newRand(t)
	const n = 40
	size := int64(n*P - 100)
	key := randomKey(t, rng, PreferredCipher())
	plain := randomBytes(rng, int(size))
	ct := encrypt(t, key, 0, plain, 0)
	pkg := func(i int) []byte { return ct[i*packageMax : min((i+1)*packageMax, len(ct))] }
	for _, i := range []int{0, 1, 15, 16, 17, 31, 32, n - 1} {
		t.Run(fmt.Sprintf("flip/package%d", i), func(t *testing.T) {
			bad := bytes.Clone(ct)
			bad[i*packageMax+rng.Intn(len(pkg(i)))] ^= 0x40
			expectRejected(t, key, 0, bad, size, plain, int64(i))
		})
	}
	t.Run("swap 16 and 17", func(t *testing.T) {
		bad := join(ct[:16*packageMax], pkg(17), pkg(16), ct[18*packageMax:])
		expectRejected(t, key, 0, bad, size, plain, 16)
	})
	t.Run("drop 31", func(t *testing.T) {
		bad := join(ct[:31*packageMax], ct[32*packageMax:])
		expectRejected(t, key, 0, bad, size, plain, 31)
	})
	t.Run("truncate after 32", func(t *testing.T) {
		expectRejected(t, key, 0, ct[:32*packageMax], size, plain, 32)
	})
	t.Run("truncate mid 33", func(t *testing.T) {
		expectRejected(t, key, 0, ct[:33*packageMax+100], size, plain, 33)
	})
	t.Run("append", func(t *testing.T) {
		s, _ := Range(0, size, size)
		got, err := decrypt(key, 0, s, join(ct, pkg(3)), 1<<18)
		if !errors.Is(err, ErrAuthentication) || !bytes.Equal(got, plain) {
			t.Fatalf("appended package: err = %v, %d bytes written", err, len(got))
		}
	})
}

// recordWriter records the size of every Write and copies the bytes.
type recordWriter struct {
	mu    sync.Mutex
	sizes []int
	buf   bytes.Buffer
}

func (r *recordWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sizes = append(r.sizes, len(p))
	return r.buf.Write(p)
}

// TestBatchWrites checks the point of batching: w gets 1 MiB writes, not
// one per package, whatever the chunks the ciphertext comes in.
func TestBatchWrites(t *testing.T) {
	key := fixedKey(t, PreferredCipher())
	const size = 40*P + 5
	plain := pattern(size)
	ct := encrypt(t, key, 0, plain, 0)
	span, _ := Range(P/2, size-P/2, size)
	for _, mode := range []struct {
		name string
		open func(io.Writer, ObjectKey, int, Span) (io.WriteCloser, error)
	}{{"DecryptWriter", DecryptWriter}, {"NewDecryptPipeline", pipelined}} {
		t.Run(mode.name, func(t *testing.T) {
			var rec recordWriter
			w, err := mode.open(&rec, key, 0, span)
			if err != nil {
				t.Fatal(err)
			}
			for c := ct; len(c) > 0; c = c[min(len(c), 1<<18):] {
				if _, err := w.Write(c[:min(len(c), 1<<18)]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// One write per batchPackages packages: the first short by
			// the skipped half package, the last by the stream's end.
			var want []int
			for at := int64(0); at < size; at += batchPackages * P {
				want = append(want, int(min(at+batchPackages*P, size)-max(at, P/2)))
			}
			if fmt.Sprint(rec.sizes) != fmt.Sprint(want) {
				t.Fatalf("writes %v, want %v", rec.sizes, want)
			}
			if !bytes.Equal(rec.buf.Bytes(), plain[P/2:]) {
				t.Fatal("wrong plaintext")
			}
		})
	}
}

// gateWriter blocks every Write until the test lets it through, and
// flags any Write after closed is set.
type gateWriter struct {
	gate   chan struct{}
	closed atomic.Bool
	late   atomic.Bool
	n      atomic.Int64
}

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.gate
	if g.closed.Load() {
		g.late.Store(true)
	}
	g.n.Add(int64(len(p)))
	return len(p), nil
}

// TestPipelineOverlaps shows the pipeline at work: while w is stuck in
// its first Write, Write keeps opening packages until every buffer is
// taken, and returns; Close then waits for w to take everything.
func TestPipelineOverlaps(t *testing.T) {
	key := fixedKey(t, PreferredCipher())
	const size = (pipelineDepth + 2) * batchPackages * P
	ct := encrypt(t, key, 0, pattern(size), 0)
	span, _ := Range(0, size, size)
	g := &gateWriter{gate: make(chan struct{})}
	w, err := pipelined(g, key, 0, span)
	if err != nil {
		t.Fatal(err)
	}
	// pipelineDepth batches fit while w is stuck: the one being written
	// and the rest queued.
	fits := pipelineDepth * batchPackages * packageMax
	wrote := make(chan error, 1)
	go func() {
		_, err := w.Write(ct[:fits])
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked although buffers were free: the pipeline does not overlap")
	}
	if g.n.Load() != 0 {
		t.Fatal("w was written before the gate opened")
	}
	close(g.gate)
	if _, err := w.Write(ct[fits:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	g.closed.Store(true)
	if g.n.Load() != size {
		t.Fatalf("w got %d of %d bytes by the time Close returned", g.n.Load(), size)
	}
	if g.late.Load() {
		t.Fatal("w written after Close")
	}
}

// TestPipelineWriterError: a failing w is reported by a later Write or
// by Close, the pipeline stops writing after the failure, and w is never
// called once Close has returned.
func TestPipelineWriterError(t *testing.T) {
	key := fixedKey(t, PreferredCipher())
	const size = 80 * P
	ct := encrypt(t, key, 0, pattern(size), 0)
	span, _ := Range(0, size, size)
	errBoom := errors.New("boom")
	for _, failAt := range []int{0, 16*P + 1, 40 * P} {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			fw := &failWriter{n: failAt, err: errBoom}
			w, err := pipelined(fw, key, 0, span)
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for c := ct; len(c) > 0 && werr == nil; c = c[min(len(c), 1<<18):] {
				_, werr = w.Write(c[:min(len(c), 1<<18)])
			}
			cerr := w.Close()
			if !errors.Is(cerr, errBoom) || werr != nil && !errors.Is(werr, errBoom) {
				t.Fatalf("Write: %v, Close: %v; want %v", werr, cerr, errBoom)
			}
			if _, err := w.Write(ct[:1]); err == nil {
				t.Fatal("Write after the failure succeeded")
			}
		})
	}
}

// TestPipelineNoLeak runs pipelines to every kind of end and checks that
// none leaves its goroutine behind.
func TestPipelineNoLeak(t *testing.T) {
	key := fixedKey(t, PreferredCipher())
	const size = 50 * P
	ct := encrypt(t, key, 0, pattern(size), 0)
	span, _ := Range(0, size, size)
	bad := bytes.Clone(ct)
	bad[30*packageMax] ^= 1
	before := runtime.NumGoroutine()
	for range 20 {
		for _, feed := range [][]byte{ct, bad, ct[:20*packageMax], ct[:20*packageMax+7], join(ct, ct[:packageMax])} {
			w, err := pipelined(io.Discard, key, 0, span)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(feed)
			w.Close()
		}
		w, _ := pipelined(&failWriter{n: P, err: errors.New("x")}, key, 0, span)
		w.Write(ct)
		w.Close()
	}
	// Failed Writes already stopped their pipelines; the rest stopped in
	// Close, which waits. Give the runtime a moment to reap.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines before, %d after", before, n)
	}
}

// TestPipelineAllocations: a pipeline's allocations are per stream (its
// goroutine, queues and writer), never per package or per batch.
func TestPipelineAllocations(t *testing.T) {
	key := fixedKey(t, PreferredCipher())
	allocs := func(size int64) float64 {
		ct := encrypt(t, key, 0, pattern(size), 0)
		span, _ := Range(0, size, size)
		return testing.AllocsPerRun(20, func() {
			w, _ := pipelined(io.Discard, key, 0, span)
			for c := ct; len(c) > 0; c = c[min(len(c), 1<<18):] {
				w.Write(c[:min(len(c), 1<<18)])
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Both long enough to start the sender.
	a1, a2 := allocs((batchPackages+4)*P), allocs(10*batchPackages*P)
	t.Logf("allocations per pipeline: %v / %v (%d / %d packages)", a1, a2, batchPackages+4, 10*batchPackages)
	if a2 > a1+1 { // a pooled buffer may be collected between runs
		t.Fatalf("allocations grow with the stream: %v -> %v", a1, a2)
	}
}

// multipartFixture is an object of parts, some longer than a batch, some
// empty or tiny, stored one after the other.
type multipartFixture struct {
	key    ObjectKey
	parts  []Part
	plain  []byte
	stored []byte
}

func newMultipartFixture(t *testing.T, rng *rand.Rand) multipartFixture {
	f := multipartFixture{key: randomKey(t, rng, PreferredCipher()),
		parts: []Part{{Number: 1, Size: 20*P + 3}, {Number: 2, Size: 0}, {Number: 3, Size: 3 * P}, {Number: 5, Size: 17 * P}, {Number: 6, Size: 1}, {Number: 9, Size: 40*P - 5}}}
	for _, p := range f.parts {
		pt := randomBytes(rng, int(p.Size))
		f.plain = append(f.plain, pt...)
		f.stored = append(f.stored, encrypt(t, f.key, p.Number, pt, 0)...)
	}
	return f
}

// read reads plaintext [off, off+n) of the object from stored through
// one pipeline, feeding each part's span in chunks, as s3api does.
func (f multipartFixture) read(t *testing.T, stored []byte, off, n int64, chunk int) ([]byte, error) {
	t.Helper()
	spans, err := ObjectRange(f.parts, off, n)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	pl := NewDecryptPipeline(&out)
	for _, s := range spans {
		w, err := pl.DecryptWriter(f.key, s.Number, s.Span)
		if err != nil {
			if perr := pl.Close(); perr == nil {
				t.Fatal("Close succeeded after a stream was refused")
			}
			return out.Bytes(), err
		}
		ct := stored[s.Base+s.CipherOffset : s.Base+s.CipherOffset+s.CipherLength]
		var werr error
		for c := ct; len(c) > 0 && werr == nil; c = c[min(len(c), chunk):] {
			_, werr = w.Write(c[:min(len(c), chunk)])
		}
		if cerr := w.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			// The pipeline must refuse to go on past a failed part.
			if _, err := pl.DecryptWriter(f.key, s.Number, s.Span); err == nil {
				t.Fatal("the pipeline took a stream after one failed")
			}
			pl.Close()
			return out.Bytes(), werr
		}
	}
	err = pl.Close()
	return out.Bytes(), err
}

// TestPipelineParts reads ranges of a multipart object through one
// pipeline: every range, within a part or across several, must come out
// exactly, with the sender carried over from part to part.
func TestPipelineParts(t *testing.T) {
	rng := newRand(t)
	f := newMultipartFixture(t, rng)
	size := int64(len(f.plain))
	type rg struct{ off, n int64 }
	ranges := []rg{{0, size}, {0, 0}, {size, 0}, {20*P + 2, 2}, {20 * P, 3*P + 17*P + 4}, {size - 1, 1}}
	for range 20 {
		off := rng.Int63n(size + 1)
		ranges = append(ranges, rg{off, rng.Int63n(size - off + 1)})
	}
	for _, r := range ranges {
		for _, chunk := range []int{1 << 18, 12345} {
			got, err := f.read(t, f.stored, r.off, r.n, chunk)
			if err != nil {
				t.Fatalf("range %d+%d, chunk %d: %v", r.off, r.n, chunk, err)
			}
			if !bytes.Equal(got, f.plain[r.off:r.off+r.n]) {
				t.Fatalf("range %d+%d, chunk %d: %d bytes, not the plaintext", r.off, r.n, chunk, len(got))
			}
		}
	}
}

// TestPipelinePartsTamper breaks one part of the object: the read fails
// with ErrAuthentication, writes a prefix of the plaintext that stops
// before the broken package, and nothing of the parts after it.
func TestPipelinePartsTamper(t *testing.T) {
	rng := newRand(t)
	f := newMultipartFixture(t, rng)
	size := int64(len(f.plain))
	// The stored offset of part 4 (number 5, 17 packages) and its
	// plaintext offset.
	var base, plainBase int64
	for _, p := range f.parts[:3] {
		base += CiphertextSize(p.Size)
		plainBase += p.Size
	}
	for _, pkg := range []int64{0, 5, 16} {
		t.Run(fmt.Sprintf("part 5 package %d", pkg), func(t *testing.T) {
			bad := bytes.Clone(f.stored)
			bad[base+pkg*packageMax+7] ^= 2
			got, err := f.read(t, bad, 0, size, 1<<18)
			if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("err = %v, want ErrAuthentication", err)
			}
			if !bytes.HasPrefix(f.plain, got) || int64(len(got)) > plainBase+pkg*P {
				t.Fatalf("%d bytes written; the broken package starts at %d", len(got), plainBase+pkg*P)
			}
		})
	}
}

// TestPipelineMisuse: a second stream while one is open, and streams of a
// closed pipeline, are refused.
func TestPipelineMisuse(t *testing.T) {
	key := fixedKey(t, PreferredCipher())
	span, _ := Range(0, 1, 1)
	pl := NewDecryptPipeline(io.Discard)
	w, err := pl.DecryptWriter(key, 0, span)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.DecryptWriter(key, 0, span); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("second open stream: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Close of an empty stream: %v", err)
	}
	if err := pl.Close(); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("pipeline Close after a failed stream: %v", err)
	}
	pl = NewDecryptPipeline(io.Discard)
	pl.Close()
	if _, err := pl.DecryptWriter(key, 0, span); err == nil {
		t.Fatal("stream of a closed pipeline")
	}
}
