package s3api

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestSmallBodyCreditCapped: the bytes on the wire move a small body's
// deadline on, but never past the grace plus the body's size limit at
// minSmallBodyRate. Found by review: an aws-chunked body may carry
// kilobytes of ignored chunk extensions per byte it decodes to, and
// 1-byte chunks padded so bought a quarter second each, so that an
// anonymous DeleteObjects (2 MiB limit) could hold its slot for days;
// now for at most 30 s + 128 s, what a real 2 MiB body at the minimum
// rate takes.
func TestSmallBodyCreditCapped(t *testing.T) {
	const grace, limit = 100 * time.Millisecond, 1000
	b := &countingBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("x", 1<<20)))}
	done := b.within(grace, limit)
	start := b.deadline.Add(-grace)
	if _, err := io.Copy(io.Discard, b); err != nil {
		t.Fatal(err)
	}
	want := start.Add(grace + limit*time.Second/minSmallBodyRate)
	if !b.deadline.Equal(want) || !b.deadlineCap.Equal(want) {
		t.Fatalf("after 1 MiB against a limit of %d bytes: deadline %v after the start, cap %v; want %v",
			limit, b.deadline.Sub(start), b.deadlineCap.Sub(start), want.Sub(start))
	}
	done()
	if !b.deadline.IsZero() {
		t.Fatal("deadline left after done")
	}

	// Below the cap, each byte counts.
	b = &countingBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("x", 100)))}
	b.within(grace, limit)
	start = b.deadline.Add(-grace)
	if _, err := io.Copy(io.Discard, b); err != nil {
		t.Fatal(err)
	}
	if want := start.Add(grace + 100*time.Second/minSmallBodyRate); !b.deadline.Equal(want) {
		t.Fatalf("after 100 bytes: deadline %v after the start, want %v", b.deadline.Sub(start), want.Sub(start))
	}
}
