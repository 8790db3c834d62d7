package bench

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// want builds the expected body by hand: byte i is p[(start+i) mod len(p)].
func wantBody(p payload, start, size int64) []byte {
	out := make([]byte, size)
	for i := range out {
		out[i] = p[(start+int64(i))%int64(len(p))]
	}
	return out
}

func TestBodyReader(t *testing.T) {
	p := newPayload(7, 1000)
	tests := []struct {
		name        string
		start, size int64
	}{
		{"empty", 10, 0},
		{"inside", 10, 100},
		{"to-the-end", 900, 100},
		{"wraps", 950, 100},
		{"several-wraps", 999, 3500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r bodyReader
			r.reset(p, tc.start, tc.size)
			if r.Len() != int(tc.size) {
				t.Fatalf("Len %d", r.Len())
			}
			got, err := io.ReadAll(&r)
			if err != nil || !bytes.Equal(got, wantBody(p, tc.start, tc.size)) {
				t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
			}
			if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("read past end: %d, %v", n, err)
			}
			// Rewind, as a client retrying or signing does.
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			again, _ := io.ReadAll(&r)
			if !bytes.Equal(again, got) {
				t.Fatal("second read after Seek differs")
			}
		})
	}
}

// TestBodyReaderProperty: random ReadAt and Seek+Read windows match the
// definition.
func TestBodyReaderProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	p := newPayload(seed, 4096)
	for range 500 {
		start, size := rng.Int64N(int64(len(p))), rng.Int64N(20_000)
		whole := wantBody(p, start, size)
		var r bodyReader
		r.reset(p, start, size)
		off := rng.Int64N(size + 10)
		buf := make([]byte, rng.IntN(9000))
		n, err := r.ReadAt(buf, off)
		wantN := max(0, min(int64(len(buf)), size-off))
		if int64(n) != wantN || !bytes.Equal(buf[:n], whole[min(off, size):min(off, size)+wantN]) {
			t.Fatalf("ReadAt(start %d size %d, %d bytes at %d) = %d, %v", start, size, len(buf), off, n, err)
		}
		if int64(n) < int64(len(buf)) && err != io.EOF {
			t.Fatalf("short ReadAt without EOF: %v", err)
		}
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(&r)
		if err != nil || !bytes.Equal(rest, whole[min(off, size):]) {
			t.Fatalf("Seek(%d)+ReadAll: %d bytes, %v", off, len(rest), err)
		}
	}
	var r bodyReader
	r.reset(p, 0, 10)
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek before start accepted")
	}
	if _, err := r.Seek(0, 42); err == nil {
		t.Fatal("bad whence accepted")
	}
	if pos, _ := r.Seek(-3, io.SeekEnd); pos != 7 {
		t.Fatalf("SeekEnd: %d", pos)
	}
}

// TestBodyReaderNoAlloc: a request body costs no allocation.
func TestBodyReaderNoAlloc(t *testing.T) {
	p := newPayload(1, payloadSize)
	var r bodyReader
	buf := make([]byte, 32<<10)
	allocs := testing.AllocsPerRun(20, func() {
		r.reset(p, p.startFor(5), 1<<20)
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per body", allocs)
	}
}
