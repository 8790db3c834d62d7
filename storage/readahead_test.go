package storage

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/iotest"
)

func TestReadAhead(t *testing.T) {
	pool := &sync.Pool{New: func() any { b := make([]byte, 1000); return &b }}
	boom := errors.New("boom")
	for _, size := range []int{0, 1, 999, 1000, 1001, 5500} {
		body := randBytes(uint64(size), size)
		// Whole body through a source that returns one byte at a time.
		ra := newReadAhead(iotest.OneByteReader(bytes.NewReader(body)), pool)
		got, err := io.ReadAll(iotest.HalfReader(ra))
		ra.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("size %d: err %v, equal %v", size, err, bytes.Equal(got, body))
		}
		// A source error arrives after the bytes before it.
		ra = newReadAhead(io.MultiReader(bytes.NewReader(body), iotest.ErrReader(boom)), pool)
		got, err = io.ReadAll(ra)
		ra.Close()
		if !errors.Is(err, boom) || !bytes.Equal(got, body) {
			t.Fatalf("size %d with error: %v, %d bytes", size, err, len(got))
		}
	}
	// Closing early stops the goroutine without waiting for the source.
	ra := newReadAhead(bytes.NewReader(make([]byte, 10000)), pool)
	var one [1]byte
	ra.Read(one[:])
	ra.Close()
}
