package checksum

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// randomReader returns its data in pieces of random size.
type randomReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *randomReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := 1 + r.rng.IntN(min(len(p), len(r.data)))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestReaderMatchesDirectHashing(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range 40 {
		data := make([]byte, rng.IntN(200<<10))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		algs := randomAlgs(rng)
		// None and duplicates are ignored.
		withDup := append(append([]Algorithm{None}, algs...), algs...)
		r := NewReader(&randomReader{data, rng}, withDup...)
		buf := make([]byte, 1+rng.IntN(64<<10))
		var out []byte
		for {
			n, err := r.Read(buf[:1+rng.IntN(len(buf))])
			out = append(out, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		name := fmt.Sprintf("%d: %d bytes %v", i, len(data), algs)
		if !bytes.Equal(out, data) || r.Size() != int64(len(data)) {
			t.Fatalf("%s: passed %d bytes, Size %d", name, len(out), r.Size())
		}
		if want := md5.Sum(data); !bytes.Equal(r.MD5(), want[:]) {
			t.Fatalf("%s: MD5 differs", name)
		}
		for _, a := range Algorithms() {
			requested := false
			for _, b := range algs {
				requested = requested || a == b
			}
			got := r.Sum(a)
			switch {
			case requested && got != reference(a, data):
				t.Fatalf("%s: %s = %s, want %s", name, a, got, reference(a, data))
			case !requested && got != "":
				t.Fatalf("%s: %s not requested but Sum = %q", name, a, got)
			}
			if requested {
				if err := r.Check(a, reference(a, data)); err != nil {
					t.Fatalf("%s: Check(%s): %v", name, a, err)
				}
			}
		}
	}
}

// digestChecker is what Reader and ParallelReader offer once the body
// was read: both must judge the same digests the same way.
type digestChecker interface {
	Check(a Algorithm, value string) error
	CheckMD5(value string) error
}

func TestReaderCheck(t *testing.T) {
	data := []byte("hello world")
	r := NewReader(bytes.NewReader(data), CRC32C, SHA256)
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	testDigestChecks(t, r, data)
}

// testDigestChecks checks c, which read data with CRC32C and SHA256
// requested, against right, wrong and malformed digests.
func testDigestChecks(t *testing.T, c digestChecker, data []byte) {
	t.Helper()
	md5sum := md5.Sum(data)
	otherMD5 := md5.Sum([]byte("hello world!"))
	tests := []struct {
		name  string
		check func() error
		want  error
	}{
		{"crc32c ok", func() error { return c.Check(CRC32C, "yZRlqg==") }, nil},
		{"crc32c differs", func() error { return c.Check(CRC32C, "yZRlqw==") }, ErrBadDigest},
		{"sha256 ok", func() error { return c.Check(SHA256, reference(SHA256, data)) }, nil},
		{"sha256 differs", func() error { return c.Check(SHA256, reference(SHA256, []byte("x"))) }, ErrBadDigest},
		{"malformed", func() error { return c.Check(CRC32C, "yZRl") }, ErrInvalidChecksum},
		{"not requested", func() error { return c.Check(CRC32, "DUoRhQ==") }, ErrInvalidChecksum},
		// The ETag's MD5 is always computed, but the MD5 checksum was
		// not asked for: it must not be checked as if it were.
		{"md5 checksum not requested", func() error { return c.Check(MD5, base64.StdEncoding.EncodeToString(md5sum[:])) }, ErrInvalidChecksum},
		{"none", func() error { return c.Check(None, "") }, ErrInvalidChecksum},
		{"md5 ok", func() error { return c.CheckMD5(base64.StdEncoding.EncodeToString(md5sum[:])) }, nil},
		{"md5 differs", func() error { return c.CheckMD5(base64.StdEncoding.EncodeToString(otherMD5[:])) }, ErrBadDigest},
		{"md5 malformed", func() error { return c.CheckMD5("abc") }, ErrInvalidChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestMD5ChecksumIsTheETagHash: asking for the MD5 checksum reuses the
// MD5 every body gets (one pass, not two), and both readers report the
// same digest as the ETag's, as a checksum.
func TestMD5ChecksumIsTheETagHash(t *testing.T) {
	data := []byte("hello world")
	const want = "XrY7u+Ae7tCTyyK7j1rNww==" // Python: base64(hashlib.md5(b"hello world"))
	r := NewReader(bytes.NewReader(data), MD5, XXHASH3, MD5)
	pr := NewParallelReader(bytes.NewReader(data), ParallelOptions{Pool: NewBlockPool(3)}, XXHASH3, MD5)
	defer pr.Close()
	for name, c := range map[string]interface {
		io.Reader
		digestChecker
		MD5() []byte
		Sum(Algorithm) string
	}{"Reader": r, "ParallelReader": pr} {
		t.Run(name, func(t *testing.T) {
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Fatal(err)
			}
			if got := c.Sum(MD5); got != want || base64.StdEncoding.EncodeToString(c.MD5()) != want {
				t.Fatalf("Sum(MD5) = %s, MD5() = %x; want %s", got, c.MD5(), want)
			}
			if err := c.Check(MD5, want); err != nil {
				t.Fatal(err)
			}
			if err := c.Check(MD5, reference(MD5, []byte("hello"))); !errors.Is(err, ErrBadDigest) {
				t.Fatalf("wrong MD5: err = %v, want ErrBadDigest", err)
			}
			if err := c.CheckMD5(want); err != nil {
				t.Fatal(err)
			}
			if got := c.Sum(XXHASH3); got != "1Eex6kDmmIs=" {
				t.Fatalf("Sum(XXHASH3) = %s", got)
			}
		})
	}
	if len(r.list) != 1 {
		t.Fatalf("Reader hashes %d extra digests, want 1 (XXHASH3; MD5 is shared)", len(r.list))
	}
}

func TestReaderPassesErrors(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("abc"), errReader{boom}), SHA1)
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) || string(got) != "abc" || r.Sum(SHA1) != reference(SHA1, []byte("abc")) {
		t.Fatalf("got %q, %v", got, err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestFullObjectMatchesWholeCRC(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for i := range 60 {
		data := make([]byte, rng.IntN(100<<10))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		// Random cut points, empty parts included.
		var parts [][]byte
		rest := data
		for len(rest) > 0 || len(parts) == 0 {
			n := rng.IntN(len(rest) + 1)
			if rng.IntN(3) == 0 {
				n = min(len(rest), 5<<10) // several parts of one size
			}
			parts = append(parts, rest[:n])
			rest = rest[n:]
		}
		for _, a := range []Algorithm{CRC32, CRC32C, CRC64NVME} {
			ps := make([]Part, len(parts))
			for k, p := range parts {
				ps[k] = Part{Sum: reference(a, p), Size: int64(len(p))}
			}
			got, err := FullObject(a, ps)
			if err != nil {
				t.Fatal(err)
			}
			if want := reference(a, data); got != want {
				t.Fatalf("%d: %s of %d parts = %s, want %s", i, a, len(parts), got, want)
			}
		}
	}
}

func TestFullObjectErrors(t *testing.T) {
	tests := []struct {
		name  string
		a     Algorithm
		parts []Part
		want  error
	}{
		{"sha256", SHA256, []Part{{reference(SHA256, nil), 0}}, ErrInvalidChecksum},
		{"md5", MD5, []Part{{reference(MD5, nil), 0}}, ErrInvalidChecksum},
		// 8 bytes like a CRC64NVME, but a hash: no full-object form.
		{"xxhash64", XXHASH64, []Part{{reference(XXHASH64, nil), 0}, {reference(XXHASH64, nil), 0}}, ErrInvalidChecksum},
		{"xxhash3", XXHASH3, []Part{{reference(XXHASH3, nil), 0}}, ErrInvalidChecksum},
		{"none", None, []Part{{"", 0}}, ErrUnknownAlgorithm},
		{"no parts", CRC32, nil, ErrInvalidChecksum},
		{"bad sum", CRC64NVME, []Part{{"AAAAAA==", 1}}, ErrInvalidChecksum},
		{"negative size", CRC32C, []Part{{"AAAAAA==", 1}, {"AAAAAA==", -1}}, ErrInvalidChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := FullObject(tt.a, tt.parts); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzFromHeaders(f *testing.F) {
	f.Add("x-amz-checksum-crc32", "DUoRhQ==", "x-amz-checksum-crc32c", "CRC32")
	f.Add("X-Amz-Checksum-Sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=", "", "sha256")
	f.Add("x-amz-checksum-type", "COMPOSITE", "x-amz-meta-a, x-amz-checksum-sha1", "")
	f.Add("x-amz-checksum-", "", ",,,", "crc64nvme")
	f.Add("x-amz-checksum-md5", "XrY7u+Ae7tCTyyK7j1rNww==", "", "MD5")
	f.Add("x-amz-meta-a", "", "x-amz-checksum-xxhash128", "XXHASH128")
	f.Add("X-Amz-Checksum-Xxhash3", "1Eex6kDmmIs=", "x-amz-checksum-xxhash64", "xxhash3")
	f.Fuzz(func(t *testing.T, name, value, trailer, sdk string) {
		h := http.Header{name: {value}}
		if trailer != "" {
			h["X-Amz-Trailer"] = []string{trailer}
		}
		if sdk != "" {
			h["X-Amz-Sdk-Checksum-Algorithm"] = []string{sdk}
		}
		e, err := FromHeaders(h)
		if err != nil {
			if e != (Expect{}) {
				t.Fatalf("error %v with %+v", err, e)
			}
			for _, s := range []error{ErrMultipleChecksums, ErrUnknownAlgorithm, ErrInvalidChecksum, ErrNoChecksumValue, ErrSDKAlgorithmMismatch} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error without a sentinel: %v", err)
		}
		switch {
		case e.Value != "" && (e.Trailer || e.Algorithm.Validate(e.Value) != nil):
			t.Fatalf("invalid expectation %+v", e)
		case e.Trailer && e.Algorithm == None:
			t.Fatalf("trailer without algorithm: %+v", e)
		}
	})
}

func BenchmarkReader(b *testing.B) {
	const size = 1 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	cases := []struct {
		name string
		algs []Algorithm
	}{
		{"md5-only/1MiB", nil},
		{"md5+crc32/1MiB", []Algorithm{CRC32}},
		{"md5+crc32c/1MiB", []Algorithm{CRC32C}},
		{"md5+crc64nvme/1MiB", []Algorithm{CRC64NVME}},
		{"md5+sha1/1MiB", []Algorithm{SHA1}},
		{"md5+sha256/1MiB", []Algorithm{SHA256}},
		{"md5+md5/1MiB", []Algorithm{MD5}},
		{"md5+sha512/1MiB", []Algorithm{SHA512}},
		{"md5+xxhash64/1MiB", []Algorithm{XXHASH64}},
		{"md5+xxhash3/1MiB", []Algorithm{XXHASH3}},
		{"md5+xxhash128/1MiB", []Algorithm{XXHASH128}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			src := bytes.NewReader(data)
			buf := make([]byte, 128<<10)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(data)
				r := NewReader(src, c.algs...)
				for {
					if _, err := r.Read(buf); err == io.EOF {
						break
					}
				}
			}
		})
	}
	// The cost of the Reader itself: MD5 alone through crypto/md5 directly.
	b.Run("direct-md5/1MiB", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			h := md5.New()
			for off := 0; off < size; off += 128 << 10 {
				h.Write(data[off : off+128<<10])
			}
			h.Sum(nil)
		}
	})
}

func BenchmarkFullObject(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("CRC64NVME/%d-parts", n), func(b *testing.B) {
			parts := make([]Part, n)
			for i := range parts {
				parts[i] = Part{Sum: "AAAAAAAAAAE=", Size: 5 << 20}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FullObject(CRC64NVME, parts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
