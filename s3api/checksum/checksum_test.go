package checksum

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// Independent implementations: the standard library directly, hash/crc64
// with the NVMe polynomial for CRC64NVME, and the xxHash libraries'
// one-shot functions (a separate code path from their streaming hashers,
// which New returns); TestKnownVectors ties both to outside values.
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
	case MD5:
		s := md5.Sum(data)
		raw = s[:]
	case SHA512:
		s := sha512.Sum512(data)
		raw = s[:]
	case XXHASH64:
		raw = binary.BigEndian.AppendUint64(nil, xxhash.Sum64(data))
	case XXHASH3:
		raw = binary.BigEndian.AppendUint64(nil, xxh3.Hash(data))
	case XXHASH128:
		h := xxh3.Hash128(data)
		raw = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, h.Hi), h.Lo)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// randomAlgs returns a random subset of the algorithms in random order.
func randomAlgs(rng *rand.Rand) []Algorithm {
	all := Algorithms()
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:rng.IntN(len(all)+1)]
}

// pattern1280 is bytes 0..255 five times: long enough for XXH3's
// block loop (1,024-byte blocks) and SHA-512's multi-block path.
func pattern1280() string {
	b := make([]byte, 1280)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
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

		// MD5 and SHA512: Python's hashlib (OpenSSL), e.g.
		// python3 -c 'import hashlib,base64; print(base64.b64encode(hashlib.md5(b"abc").digest()))'.
		// MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 is RFC 1321's
		// test suite value; SHA-512("abc") starts ddaf35a1 as in FIPS 180-2
		// appendix C.1.
		{MD5, "", "1B2M2Y8AsgTpgAmY7PhCfg=="},
		{MD5, "abc", "kAFQmDzST7DWlj99KOF/cg=="},
		{MD5, "hello world", "XrY7u+Ae7tCTyyK7j1rNww=="},
		{MD5, pattern1280(), "goKfHz8rsPGLJfJ45buovQ=="},
		{SHA512, "", "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="},
		{SHA512, "abc", "3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="},
		{SHA512, "hello world", "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw=="},
		{SHA512, pattern1280(), "yT9VzPL6jIJpn/m1iv41kSQrE12Qim2GXhfjittBwh0dU1nlEnMDY3PVTSC1ZZzIfm57OB/wJ9M/lxQWzFkPkA=="},

		// The xxHash family: computed with libxxhash 0.8.1, the reference
		// C implementation (Debian libxxhash0), called through Python's
		// ctypes as XXH64(p, n, 0), XXH3_64bits(p, n) and
		// XXH3_128bits(p, n), then packed big-endian (XXH128: high64
		// first), xxHash's canonical form. XXH64("") = ef46db3751d8e999,
		// XXH3_64("") = 2d06800538d394c2 and XXH3_128("") =
		// 99aa06d3014798d86001c324468d497f are also the empty-input
		// values of xxHash's own sanity tests.
		{XXHASH64, "", "70bbN1HY6Zk="},              // ef46db3751d8e999
		{XXHASH64, "a", "0k7E8amMbls="},             // d24ec4f1a98c6e5b
		{XXHASH64, "abc", "RLws9a13CZk="},           // 44bc2cf5ad770999
		{XXHASH64, "hello world", "RatnNLIeaWg="},   // 45ab6734b21e6968
		{XXHASH64, pattern1280(), "r8GErXk4o1Q="},   // afc184ad7938a354
		{XXHASH3, "", "LQaABTjTlMI="},               // 2d06800538d394c2
		{XXHASH3, "a", "5sYyth6WTh8="},              // e6c632b61e964e1f
		{XXHASH3, "abc", "eK9flIkvOVA="},            // 78af5f94892f3950
		{XXHASH3, "hello world", "1Eex6kDmmIs="},    // d447b1ea40e6988b
		{XXHASH3, pattern1280(), "SESwCeFkNS4="},    // 4844b009e164352e
		{XXHASH128, "", "maoG0wFHmNhgAcMkRo1Jfw=="}, // 99aa06d3014798d8 6001c324468d497f
		{XXHASH128, "a", "qW+vcFrxaDTmxjK2HpZOHw=="},
		{XXHASH128, "abc", "BrBatnM6YYV4r1+UiS85UA=="},
		{XXHASH128, "hello world", "340J6T+HSQCpm4d1zBW2xw=="}, // df8d09e93f874900 a99b8775cc15b6c7
		{XXHASH128, pattern1280(), "2SqzocsFQqdIRLAJ4WQ1Lg=="},
	}
	for _, tt := range tests {
		name := tt.data
		if len(name) > 16 {
			name = "1280-byte-pattern"
		}
		t.Run(tt.a.String()+"/"+name, func(t *testing.T) {
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
		{"MD5", MD5, "x-amz-checksum-md5", 16, nil},
		{"sha512", SHA512, "x-amz-checksum-sha512", 64, nil},
		{"XXHASH64", XXHASH64, "x-amz-checksum-xxhash64", 8, nil},
		{"xxhash3", XXHASH3, "x-amz-checksum-xxhash3", 8, nil},
		{"XxHash128", XXHASH128, "x-amz-checksum-xxhash128", 16, nil},
		{"SHA-256", None, "", 0, ErrUnknownAlgorithm},
		{"crc32 ", None, "", 0, ErrUnknownAlgorithm},
		{"XXH3", None, "", 0, ErrUnknownAlgorithm},
		{"XXHASH", None, "", 0, ErrUnknownAlgorithm},
		{"BLAKE3", None, "", 0, ErrUnknownAlgorithm},
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
	if Algorithm(99).New() != nil || Algorithm(99).Header() != "" || Algorithm(-1).Size() != 0 ||
		numAlgorithms.New() != nil || numAlgorithms.Header() != "" || numAlgorithms.Composite() {
		t.Fatal("out-of-range algorithm behaves like a real one")
	}
	if n := len(Algorithms()); n != int(numAlgorithms)-1 {
		t.Fatalf("Algorithms() lists %d of %d", n, int(numAlgorithms)-1)
	}
}

// TestMultipartForms pins which multipart checksum types each algorithm
// has: AWS combines only the CRCs into FULL_OBJECT values, and
// CRC64NVME has no COMPOSITE form.
func TestMultipartForms(t *testing.T) {
	tests := []struct {
		a                     Algorithm
		composite, fullObject bool
	}{
		{None, false, false},
		{CRC32, true, true},
		{CRC32C, true, true},
		{CRC64NVME, false, true},
		{SHA1, true, false},
		{SHA256, true, false},
		{MD5, true, false},
		{SHA512, true, false},
		{XXHASH64, true, false},
		{XXHASH3, true, false},
		{XXHASH128, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.a.String(), func(t *testing.T) {
			if got := tt.a.Composite(); got != tt.composite {
				t.Errorf("Composite() = %v, want %v", got, tt.composite)
			}
			if got := tt.a.FullObject(); got != tt.fullObject {
				t.Errorf("FullObject() = %v, want %v", got, tt.fullObject)
			}
		})
	}
}

func TestFromHeaders(t *testing.T) {
	crc := sum(CRC32, []byte("x"))
	sha := sum(SHA256, []byte("x"))
	md := sum(MD5, []byte("x"))
	xx := sum(XXHASH64, []byte("x"))
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
		// AWS refuses the SDK header alone: the value it announces is missing.
		{"sdk algorithm only", http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"crc64nvme"}}, Expect{}, ErrNoChecksumValue},
		{"trailer", http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc32c"}}, Expect{Algorithm: CRC32C, Trailer: true}, nil},
		{"trailer among others", http.Header{"X-Amz-Trailer": {"x-amz-meta-a, X-Amz-Checksum-SHA1"}, "X-Amz-Sdk-Checksum-Algorithm": {"SHA1"}},
			Expect{Algorithm: SHA1, Trailer: true}, nil},
		{"type and mode headers ignored", http.Header{"X-Amz-Checksum-Type": {"FULL_OBJECT"}, "X-Amz-Checksum-Mode": {"ENABLED"}}, Expect{}, nil},
		{"unknown checksum header ignored", http.Header{"X-Amz-Checksum-Blake3": {"abc"}}, Expect{}, nil},
		{"md5 header", http.Header{"X-Amz-Checksum-Md5": {md}}, Expect{Algorithm: MD5, Value: md}, nil},
		{"md5 header, not content-md5", http.Header{"Content-Md5": {md}}, Expect{}, nil},
		{"sha512 header", http.Header{"x-amz-checksum-sha512": {sum(SHA512, nil)}}, Expect{Algorithm: SHA512, Value: sum(SHA512, nil)}, nil},
		{"xxhash64 header with sdk algorithm", http.Header{"X-Amz-Checksum-Xxhash64": {xx}, "X-Amz-Sdk-Checksum-Algorithm": {"XXHASH64"}},
			Expect{Algorithm: XXHASH64, Value: xx}, nil},
		{"sdk algorithm xxhash3 only", http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"XXHASH3"}}, Expect{}, ErrNoChecksumValue},
		{"sdk algorithm with a non-checksum trailer", http.Header{"X-Amz-Trailer": {"x-amz-meta-a"}, "X-Amz-Sdk-Checksum-Algorithm": {"CRC32"}},
			Expect{}, ErrNoChecksumValue},
		{"xxhash128 trailer", http.Header{"X-Amz-Trailer": {"x-amz-checksum-xxhash128"}, "X-Amz-Sdk-Checksum-Algorithm": {"XXHASH128"}},
			Expect{Algorithm: XXHASH128, Trailer: true}, nil},
		{"md5 and crc32 headers", http.Header{"X-Amz-Checksum-Md5": {md}, "X-Amz-Checksum-Crc32": {crc}}, Expect{}, ErrMultipleChecksums},
		{"md5 header with sdk sha512", http.Header{"X-Amz-Checksum-Md5": {md}, "X-Amz-Sdk-Checksum-Algorithm": {"SHA512"}}, Expect{}, ErrSDKAlgorithmMismatch},
		// XXHASH64, XXHASH3 and CRC64NVME values are all 8 bytes: the
		// length alone does not tell them apart, but 4 or 16 bytes is wrong.
		{"xxhash3 given a crc32", http.Header{"X-Amz-Checksum-Xxhash3": {crc}}, Expect{}, ErrInvalidChecksum},
		{"xxhash128 given an xxhash64", http.Header{"X-Amz-Checksum-Xxhash128": {xx}}, Expect{}, ErrInvalidChecksum},
		{"md5 given hex", http.Header{"X-Amz-Checksum-Md5": {"9e107d9d372bb6826bd81d3542a419d6"}}, Expect{}, ErrInvalidChecksum},
		{"two checksum headers", http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Checksum-Sha256": {sha}}, Expect{}, ErrMultipleChecksums},
		{"header given twice", http.Header{"X-Amz-Checksum-Crc32": {crc, crc}}, Expect{}, ErrMultipleChecksums},
		{"header and trailer", http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}}, Expect{}, ErrMultipleChecksums},
		{"two trailers", http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc32,x-amz-checksum-sha1"}}, Expect{}, ErrMultipleChecksums},
		{"two trailers, two lines", http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc32", "x-amz-checksum-sha1"}}, Expect{}, ErrMultipleChecksums},
		{"sdk algorithm disagrees", http.Header{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Sdk-Checksum-Algorithm": {"SHA256"}}, Expect{}, ErrSDKAlgorithmMismatch},
		{"sdk algorithm disagrees with the trailer", http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc64nvme"}, "X-Amz-Sdk-Checksum-Algorithm": {"SHA1"}},
			Expect{}, ErrSDKAlgorithmMismatch},
		{"unknown sdk algorithm", http.Header{"X-Amz-Sdk-Checksum-Algorithm": {"BLAKE3"}}, Expect{}, ErrUnknownAlgorithm},
		{"unknown trailer algorithm", http.Header{"X-Amz-Trailer": {"x-amz-checksum-xxh3"}}, Expect{}, ErrUnknownAlgorithm},
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
	for _, a := range Algorithms() {
		if a == CRC64NVME {
			continue
		}
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
	// Fixed vectors of the new algorithms over parts "a" and "b": the hash
	// of the two raw part digests concatenated, computed with Python's
	// hashlib (MD5, SHA512) and libxxhash 0.8.1 through ctypes (XXH*).
	fixed := []struct {
		a    Algorithm
		want string
	}{
		{MD5, "luAkuiB0/nfo6WW6Q6cEvg==-2"},
		{SHA512, "pA+2JHv5qiIzSOuMmdzqnRmGlLgFroW8v9X/0z+O9CwH3UlG/6aGVP0ZAm7icj1+yyhowxNM6WCYEVayEg72LA==-2"},
		{XXHASH64, "ZGJd8H9+h/o=-2"},
		{XXHASH3, "otLaJURcpgo=-2"},
		{XXHASH128, "O/6EKdp3RKrIWxqRlv46xg==-2"},
	}
	for _, tt := range fixed {
		got, err := Composite(tt.a, []string{reference(tt.a, []byte("a")), reference(tt.a, []byte("b"))})
		if err != nil || got != tt.want {
			t.Errorf("Composite(%s, a, b) = %s, %v; want %s", tt.a, got, err, tt.want)
		}
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

// TestDefault: the s3api layer stores Default as FULL_OBJECT for every
// kind of upload, multipart included, which only a CRC that combines from
// part values allows; AWS chose CRC64NVME.
func TestDefault(t *testing.T) {
	if Default != CRC64NVME {
		t.Fatalf("Default = %s, AWS's default is CRC64NVME", Default)
	}
	if !Default.FullObject() || Default.Composite() {
		t.Fatalf("%s: FullObject %v Composite %v, want a full-object-only CRC", Default, Default.FullObject(), Default.Composite())
	}
	sum := func(s string) string {
		h := Default.New()
		h.Write([]byte(s))
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	got, err := FullObject(Default, []Part{{sum("part one, "), 10}, {sum("two"), 3}})
	if want := sum("part one, two"); err != nil || got != want {
		t.Fatalf("FullObject = %q, %v; the CRC of the whole is %q", got, err, want)
	}
}

// TestAlgorithmError: a malformed value and a mismatch name their
// algorithm, which S3's messages quote, and still match their sentinel.
func TestAlgorithmError(t *testing.T) {
	data := []byte("hello world")
	par := NewParallelReader(bytes.NewReader(data), ParallelOptions{}, CRC32C)
	defer par.Close()
	ser := NewReader(bytes.NewReader(data), CRC32C)
	for _, r := range []io.Reader{par, ser} {
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatal(err)
		}
	}
	_, fromHeaders := FromHeaders(http.Header{"X-Amz-Checksum-Sha1": {"AAAAAA=="}})
	tests := []struct {
		name string
		err  error
		kind error
		alg  Algorithm
	}{
		{"malformed header", fromHeaders, ErrInvalidChecksum, SHA1},
		{"Reader mismatch", ser.Check(CRC32C, sum(CRC32C, []byte("other"))), ErrBadDigest, CRC32C},
		{"ParallelReader mismatch", par.Check(CRC32C, sum(CRC32C, []byte("other"))), ErrBadDigest, CRC32C},
		{"Reader malformed", ser.Check(CRC32C, "AAAA"), ErrInvalidChecksum, CRC32C},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae *AlgorithmError
			if !errors.Is(tt.err, tt.kind) || !errors.As(tt.err, &ae) || ae.Algorithm != tt.alg {
				t.Fatalf("err = %v, want %v naming %s", tt.err, tt.kind, tt.alg)
			}
		})
	}
}
