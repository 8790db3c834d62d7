package checksum

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// readAll reads r to its end in pieces of random size, returning what it
// read and the error that ended it (nil for io.EOF).
func readAll(r io.Reader, rng *rand.Rand, maxRead int) ([]byte, error) {
	buf := make([]byte, maxRead)
	var out []byte
	for {
		n, err := r.Read(buf[:rng.IntN(maxRead+1)])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestParallelReaderMatchesReader(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for i := range 60 {
		data := make([]byte, rng.IntN(300<<10))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		// Sizes around the block size: empty, exact multiples, one more.
		block := 1 + rng.IntN(64<<10)
		switch i % 4 {
		case 0:
			data = data[:min(len(data), block*rng.IntN(4))]
		case 1:
			data = data[:min(len(data), block*rng.IntN(4)+1)]
		}
		algs := randomAlgs(rng)
		withDup := append(append([]Algorithm{None}, algs...), algs...)
		opts := ParallelOptions{Pool: NewBlockPool(block), Blocks: rng.IntN(6)}
		name := fmt.Sprintf("%d: %d bytes, block %d, %d blocks, %v", i, len(data), block, opts.Blocks, algs)

		// The source runs on the reader's goroutine: it gets its own rng.
		srcRNG := rand.New(rand.NewPCG(seed, uint64(i)+100))
		pr := NewParallelReader(&randomReader{data, srcRNG}, opts, withDup...)
		out, err := readAll(pr, rng, 1+rng.IntN(100<<10))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(out, data) || pr.Size() != int64(len(data)) {
			t.Fatalf("%s: passed %d bytes, Size %d", name, len(out), pr.Size())
		}
		if err := pr.Err(); err != nil {
			t.Fatalf("%s: Err = %v", name, err)
		}
		if want := md5.Sum(data); !bytes.Equal(pr.MD5(), want[:]) {
			t.Fatalf("%s: MD5 differs", name)
		}
		for _, a := range Algorithms() {
			requested := false
			for _, b := range algs {
				requested = requested || a == b
			}
			got := pr.Sum(a)
			switch {
			case requested && got != reference(a, data):
				t.Fatalf("%s: %s = %s, want %s", name, a, got, reference(a, data))
			case !requested && got != "":
				t.Fatalf("%s: %s not requested but Sum = %q", name, a, got)
			}
			if requested {
				if err := pr.Check(a, reference(a, data)); err != nil {
					t.Fatalf("%s: Check(%s): %v", name, a, err)
				}
			}
		}
		if err := pr.Close(); err != nil {
			t.Fatalf("%s: Close: %v", name, err)
		}
		// Read after the end keeps saying so, Close or not.
		if n, err := pr.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("%s: Read after EOF = %d, %v", name, n, err)
		}
	}
}

func TestParallelReaderCheck(t *testing.T) {
	data := []byte("hello world")
	pr := NewParallelReader(bytes.NewReader(data), ParallelOptions{Pool: NewBlockPool(4)}, CRC32C, SHA256)
	defer pr.Close()
	if _, err := io.Copy(io.Discard, pr); err != nil {
		t.Fatal(err)
	}
	testDigestChecks(t, pr, data)
}

func TestParallelReaderPassesErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		src  io.Reader
		data string
	}{
		{"after a partial block", io.MultiReader(strings.NewReader("abc"), errReader{boom}), "abc"},
		{"after whole blocks", io.MultiReader(strings.NewReader("abcdefgh"), errReader{boom}), "abcdefgh"},
		{"at once", errReader{boom}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := NewParallelReader(tt.src, ParallelOptions{Pool: NewBlockPool(4)}, SHA1)
			defer pr.Close()
			got, err := io.ReadAll(pr)
			if !errors.Is(err, boom) || string(got) != tt.data {
				t.Fatalf("got %q, %v", got, err)
			}
			// Sticky, and the digests refuse to vouch for the body.
			if _, err := pr.Read(make([]byte, 1)); !errors.Is(err, boom) {
				t.Fatalf("second Read: %v", err)
			}
			if err := pr.Err(); !errors.Is(err, boom) {
				t.Fatalf("Err = %v", err)
			}
			if err := pr.Check(SHA1, reference(SHA1, []byte(tt.data))); !errors.Is(err, boom) {
				t.Fatalf("Check = %v", err)
			}
			sum := md5.Sum([]byte(tt.data))
			if err := pr.CheckMD5(base64.StdEncoding.EncodeToString(sum[:])); !errors.Is(err, boom) {
				t.Fatalf("CheckMD5 = %v", err)
			}
		})
	}
}

// gateReader hands out data one Read at a time: each Read reports that
// it started on entered, waits for a token on next and reports what it
// returned on reads.
type gateReader struct {
	entered chan struct{}
	next    chan struct{}
	reads   chan int
	data    []byte
}

func (g *gateReader) Read(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.next
	if len(g.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.data)
	g.data = g.data[n:]
	g.reads <- n
	return n, nil
}

func TestParallelReaderCloseWaitsForSource(t *testing.T) {
	g := &gateReader{entered: make(chan struct{}, 100), next: make(chan struct{}), reads: make(chan int, 100),
		data: bytes.Repeat([]byte("x"), 100)}
	pr := NewParallelReader(g, ParallelOptions{Pool: NewBlockPool(10)})
	<-g.entered
	g.next <- struct{}{} // the first Read of the source returns...
	<-g.reads
	<-g.entered // ... and the second one is now blocked in the source.
	closed := make(chan struct{})
	go func() {
		_ = pr.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a Read of the source was in progress")
	case <-time.After(50 * time.Millisecond):
	}
	g.next <- struct{}{}
	<-g.reads
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the source Read did")
	}
	// No Read of the source after Close: a token would be taken.
	select {
	case g.next <- struct{}{}:
		t.Fatal("the source was read after Close")
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := io.ReadAll(pr); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := pr.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Err after Close = %v", err)
	}
	if err := pr.CheckMD5(base64.StdEncoding.EncodeToString(make([]byte, 16))); !errors.Is(err, ErrClosed) {
		t.Fatalf("CheckMD5 after Close = %v", err)
	}
}

func TestParallelReaderEarlyDigestStops(t *testing.T) {
	// A consumer that stops before EOF (which storage never does) gets
	// digests that Err disowns, and the reader stops rather than leak.
	data := bytes.Repeat([]byte("0123456789"), 1000)
	pr := NewParallelReader(bytes.NewReader(data), ParallelOptions{Pool: NewBlockPool(100), Blocks: 2}, CRC32)
	defer pr.Close()
	if _, err := io.ReadFull(pr, make([]byte, 150)); err != nil {
		t.Fatal(err)
	}
	_ = pr.MD5()
	if err := pr.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", err)
	}
	if err := pr.Check(CRC32, reference(CRC32, data)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Check = %v, want ErrClosed", err)
	}
}

func TestParallelReaderNoGoroutineLeft(t *testing.T) {
	base := runtime.NumGoroutine()
	data := bytes.Repeat([]byte("z"), 10_000)
	pool := NewBlockPool(1000)
	for i := range 50 {
		pr := NewParallelReader(bytes.NewReader(data), ParallelOptions{Pool: pool}, SHA256)
		switch i % 3 {
		case 0: // read to the end
			if _, err := io.Copy(io.Discard, pr); err != nil {
				t.Fatal(err)
			}
		case 1: // abandoned half-way
			if _, err := io.ReadFull(pr, make([]byte, 2500)); err != nil {
				t.Fatal(err)
			}
		case 2: // never read
		}
		_ = pr.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzParallelReader: whatever the body, block size and read pattern,
// the ParallelReader returns the body and the same digests as Reader.
func FuzzParallelReader(f *testing.F) {
	f.Add([]byte(""), uint16(1), uint8(2), uint16(1), uint16(0x0110))
	f.Add([]byte("hello world"), uint16(4), uint8(0), uint16(3), uint16(0xffff))
	f.Add(bytes.Repeat([]byte("ab"), 500), uint16(64), uint8(3), uint16(1000), uint16(0x0740))
	f.Fuzz(func(t *testing.T, data []byte, blockSize uint16, blocks uint8, readSize, algMask uint16) {
		opts := ParallelOptions{Pool: NewBlockPool(int(blockSize)), Blocks: int(blocks % 8)}
		// Bit a of algMask requests Algorithm a.
		var algs []Algorithm
		for _, a := range Algorithms() {
			if algMask&(1<<a) != 0 {
				algs = append(algs, a)
			}
		}
		pr := NewParallelReader(bytes.NewReader(data), opts, algs...)
		defer pr.Close()
		buf := make([]byte, int(readSize)%4096+1)
		var out []byte
		for {
			n, err := pr.Read(buf)
			out = append(out, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("read %d bytes, want %d", len(out), len(data))
		}
		want := NewReader(bytes.NewReader(data), algs...)
		if _, err := io.Copy(io.Discard, want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pr.MD5(), want.MD5()) {
			t.Fatal("MD5 differs from Reader's")
		}
		for _, a := range Algorithms() {
			if got := pr.Sum(a); got != want.Sum(a) {
				t.Fatalf("%s = %q, Reader's %q", a, got, want.Sum(a))
			}
		}
		if err := pr.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

// signedSource stands for the sigv4 body of a signed upload: every byte
// it returns costs a SHA-256 on the goroutine that reads it.
type signedSource struct {
	r   *bytes.Reader
	sha [32]byte
}

func (s *signedSource) Read(p []byte) (int, error) {
	n, err := s.r.Read(p[:min(len(p), 64<<10)])
	s.sha = sha256.Sum256(p[:n])
	return n, err
}

// BenchmarkBody compares the serial Reader with the ParallelReader on a
// 64 MiB body read in 1 MiB pieces, as storage reads it: "plain" is a
// body that costs nothing to read, "signed" one that costs a SHA-256
// per byte (the aws-chunked signature checks). With two cores the
// ParallelReader approaches the slower of MD5 and the source instead of
// their sum. "md5" hashes the ETag alone, "md5+crc64nvme" adds the
// default checksum every PUT without one now computes.
func BenchmarkBody(b *testing.B) {
	const size = 64 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	pool := NewBlockPool(DefaultBlockSize)
	hashes := []struct {
		name string
		algs []Algorithm
	}{
		{"md5", nil},
		{"md5+crc64nvme", []Algorithm{Default}},
	}
	for _, hs := range hashes {
		for _, signed := range []bool{false, true} {
			for _, parallel := range []bool{false, true} {
				name := "Reader"
				if parallel {
					name = "ParallelReader"
				}
				src := "plain"
				if signed {
					src = "signed"
				}
				b.Run(fmt.Sprintf("%s/%s/%s/64MiB", name, hs.name, src), func(b *testing.B) {
					buf := make([]byte, 1<<20)
					b.SetBytes(size)
					b.ReportAllocs()
					for b.Loop() {
						var r io.Reader = bytes.NewReader(data)
						if signed {
							r = &signedSource{r: bytes.NewReader(data)}
						}
						var md []byte
						var sum string
						if parallel {
							pr := NewParallelReader(r, ParallelOptions{Pool: pool}, hs.algs...)
							drain(b, pr, buf)
							md, sum = pr.MD5(), pr.Sum(Default)
							_ = pr.Close()
						} else {
							hr := NewReader(r, hs.algs...)
							drain(b, hr, buf)
							md, sum = hr.MD5(), hr.Sum(Default)
						}
						if len(md) != md5.Size || (len(hs.algs) > 0) != (sum != "") {
							b.Fatal("digests missing")
						}
					}
				})
			}
		}
	}
}

// BenchmarkCRC64NVME is the default checksum alone on one core, in the
// 1 MiB blocks a ParallelReader hands its hash goroutine: the cost every
// PUT without a checksum now pays beside MD5.
func BenchmarkCRC64NVME(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), DefaultBlockSize/16)
	for _, size := range []int{4 << 10, DefaultBlockSize} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			h := Default.New()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				h.Write(data[:size])
			}
		})
	}
}

// drain reads r to its end with buf, as storage's read-ahead does.
func drain(b *testing.B, r io.Reader, buf []byte) {
	for {
		_, err := io.ReadFull(r, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
