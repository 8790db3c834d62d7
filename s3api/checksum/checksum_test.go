package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"testing"
)

// Independent implementations: the standard library directly, and
// hash/crc64 with the NVMe polynomial for CRC64NVME.
func reference(a Algorithm, data []byte) string {
	var raw []byte
	switch a {
	case CRC32:
		raw = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	case CRC32C:
		raw = binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	case CRC64NVME:
		raw = binary.BigEndian.AppendUint64(nil, crc64.Checksum(data, crc64.MakeTable(0x9A6C9329AC4BC9B5)))
	case SHA1:
		s := sha1.Sum(data)
		raw = s[:]
	case SHA256:
		s := sha256.Sum256(data)
		raw = s[:]
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func sum(a Algorithm, data []byte) string {
	h := a.New()
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestKnownVectors(t *testing.T) {
	tests := []struct {
		a          Algorithm
		data, want string
	}{
		{CRC32, "", "AAAAAA=="},
		{CRC32, "hello world", "DUoRhQ=="},
		{CRC32C, "", "AAAAAA=="},
		{CRC32C, "hello world", "yZRlqg=="},
		{CRC64NVME, "", "AAAAAAAAAAA="},
		// The CRC-64/NVME catalogue check value 0xae8b14860a799888.
		{CRC64NVME, "123456789", "rosUhgp5mIg="},
		{SHA1, "", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
		{SHA1, "hello world", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
		{SHA256, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		{SHA256, "hello world", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
	}
	for _, tt := range tests {
		t.Run(tt.a.String()+"/"+tt.data, func(t *testing.T) {
			if got := sum(tt.a, []byte(tt.data)); got != tt.want {
				t.Fatalf("New() = %s, want %s", got, tt.want)
			}
			if got := reference(tt.a, []byte(tt.data)); got != tt.want {
				t.Fatalf("reference = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAlgorithmNames(t *testing.T) {
	tests := []struct {
		in     string
		want   Algorithm
		header string
		size   int
		err    error
	}{
		{"", None, "", 0, nil},
		{"CRC32", CRC32, "x-amz-checksum-crc32", 4, nil},
		{"crc32c", CRC32C, "x-amz-checksum-crc32c", 4, nil},
		{"Crc64Nvme", CRC64NVME, "x-amz-checksum-crc64nvme", 8, nil},
		{"SHA1", SHA1, "x-amz-checksum-sha1", 20, nil},
		{"sha256", SHA256, "x-amz-checksum-sha256", 32, nil},
		{"MD5", None, "", 0, ErrUnknownAlgorithm},
		{"SHA-256", None, "", 0, ErrUnknownAlgorithm},
		{"crc32 ", None, "", 0, ErrUnknownAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAlgorithm(tt.in)
			if a != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("ParseAlgorithm = %v, %v; want %v, %v", a, err, tt.want, tt.err)
			}
			if a.Header() != tt.header || a.Size() != tt.size {
				t.Fatalf("Header %q Size %d", a.Header(), a.Size())
			}
			if a != None {
				if back, _ := ParseAlgorithm(a.String()); back != a {
					t.Fatalf("String %q does not parse back", a.String())
				}
				if len(a.New().Sum(nil)) != a.Size() {
					t.Fatalf("digest size differs from Size")
				}
			} else if a.New() != nil {
				t.Fatal("None.New() is not nil")
			}
		})
	}
	if Algorithm(99).New() != nil || Algorithm(99).Header() != "" || Algorithm(-1).Size() != 0 {
		t.Fatal("out-of-range algorithm behaves like a real one")
	}
}

func TestFromHeaders(t *testing.T) {
	crc := sum(CRC32, []byte("x"))
	sha := sum(SHA256, []byte("x"))
	tests := []struct {
		name string
		h    http.Header
		want Expect
		err  error
	}{
		{"none", http.Header{"Content-Type": {"text/plain"}}, Expect{}, nil},
		{"header", http.Header{"X-Amz-Checksum-Crc32": {crc}}, Expect{Algorithm: CRC32, Value: crc}, nil},
		{"lower-case map", http.Header{"x-amz-checksum-sha256": {sha}}, Expect{Algorithm: SHA256, Value: sha}, nil},
		{"header with sdk algorithm", http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Sdk-Checksum-Algorithm": {"CRC32"}},
			Expect{Algorithm: CRC32, Value: crc}, nil},
		{"sdk algorithm only", http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"crc64nvme"}}, Expect{Algorithm: CRC64NVME}, nil},
		{"trailer", http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc32c"}}, Expect{Algorithm: CRC32C, Trailer: true}, nil},
		{"trailer among others", http.Header{"X-Amz-Trailer": {"x-amz-meta-a, X-Amz-Checksum-SHA1"}, "X-Amz-Sdk-Checksum-Algorithm": {"SHA1"}},
			Expect{Algorithm: SHA1, Trailer: true}, nil},
		{"type and mode headers ignored", http.Header{"X-Amz-Checksum-Type": {"FULL_OBJECT"}, "X-Amz-Checksum-Mode": {"ENABLED"}}, Expect{}, nil},
		{"unknown checksum header ignored", http.Header{"X-Amz-Checksum-Md5": {"abc"}}, Expect{}, nil},
		{"two checksum headers", http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Checksum-Sha256": {sha}}, Expect{}, ErrMultipleChecksums},
		{"header given twice", http.Header{"X-Amz-Checksum-Crc32": {crc, crc}}, Expect{}, ErrMultipleChecksums},
		{"header and trailer", http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}}, Expect{}, ErrMultipleChecksums},
		{"two trailers", http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc32,x-amz-checksum-sha1"}}, Expect{}, ErrMultipleChecksums},
		{"two trailers, two lines", http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc32", "x-amz-checksum-sha1"}}, Expect{}, ErrMultipleChecksums},
		{"sdk algorithm disagrees", http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Sdk-Checksum-Algorithm": {"SHA256"}}, Expect{}, ErrMultipleChecksums},
		{"unknown sdk algorithm", http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"MD5"}}, Expect{}, ErrUnknownAlgorithm},
		{"unknown trailer algorithm", http.Header{"X-Amz-Trailer": {"x-amz-checksum-md5"}}, Expect{}, ErrUnknownAlgorithm},
		{"not base64", http.Header{"X-Amz-Checksum-Crc32": {"!!!!!!=="}}, Expect{}, ErrInvalidChecksum},
		{"wrong length", http.Header{"X-Amz-Checksum-Crc32": {sha}}, Expect{}, ErrInvalidChecksum},
		{"unpadded", http.Header{"X-Amz-Checksum-Crc32": {crc[:6]}}, Expect{}, ErrInvalidChecksum},
		{"empty value", http.Header{"X-Amz-Checksum-Sha1": {""}}, Expect{}, ErrInvalidChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromHeaders(tt.h)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("FromHeaders = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestComposite(t *testing.T) {
	parts := [][]byte{[]byte("part one"), []byte("part two"), []byte("three")}
	for _, a := range []Algorithm{CRC32, CRC32C, SHA1, SHA256} {
		t.Run(a.String(), func(t *testing.T) {
			var sums []string
			var concat []byte
			for _, p := range parts {
				s := reference(a, p)
				sums = append(sums, s)
				raw, _ := base64.StdEncoding.DecodeString(s)
				concat = append(concat, raw...)
			}
			got, err := Composite(a, sums)
			if err != nil {
				t.Fatal(err)
			}
			if want := reference(a, concat) + "-3"; got != want {
				t.Fatalf("Composite = %s, want %s", got, want)
			}
		})
	}
	// A fixed vector computed with Python's zlib: CRC32 of the CRC32s of
	// "a" (e8b7be43) and "b" (71beeff9).
	got, err := Composite(CRC32, []string{reference(CRC32, []byte("a")), reference(CRC32, []byte("b"))})
	if err != nil || got != "7pJxdw==-2" {
		t.Fatalf("Composite(CRC32, a, b) = %s, %v", got, err)
	}
	errs := []struct {
		name string
		a    Algorithm
		sums []string
		want error
	}{
		{"none", None, []string{"AAAAAA=="}, ErrUnknownAlgorithm},
		{"crc64nvme", CRC64NVME, []string{"AAAAAAAAAAA="}, ErrInvalidChecksum},
		{"no parts", CRC32, nil, ErrInvalidChecksum},
		{"bad part", SHA256, []string{"AAAAAA=="}, ErrInvalidChecksum},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Composite(tt.a, tt.sums); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
