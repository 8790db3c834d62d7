package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/crc64nvme"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// TestDefaultChecksumNotBesideCiphertext checks the rule of
// docs/architecture.md "What is stored in clear": an object written
// without a checksum gets the default CRC64NVME under SSE-S3 (whose MD5
// ETag is in clear anyway), but under SSE-KMS and SSE-C no digest of
// the plaintext may sit in clear on the drives, so neither HEAD returns
// one nor does its value appear in any file of the data folder. The
// bodies are low-entropy on purpose: those are the ones a stored CRC
// would let someone with drive access confirm a guess of.
func TestDefaultChecksumNotBesideCiphertext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, c := startSSEServer(t, dir, true)
	if err := srv.Keys().CreateKey(ctx, "tenant-d"); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "digests", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{5}, 32))
	kms, _ := encrypt.NewSSEKMS("tenant-d", nil)
	cases := []struct {
		name   string
		sse    encrypt.ServerSide
		get    encrypt.ServerSide
		stored bool // the default checksum is kept
		size   int
		part   uint64
	}{
		{"SSE-S3", encrypt.NewSSE(), nil, true, 700, 0},
		{"SSE-KMS", kms, nil, false, 700, 0},
		{"SSE-C", ssec, ssec, false, 700, 0},
		{"SSE-KMS-file", kms, nil, false, 3 << 20, 0},
		{"SSE-C-multipart", ssec, ssec, false, 11 << 20, 5 << 20},
		{"SSE-KMS-multipart", kms, nil, false, 11 << 20, 5 << 20},
	}
	crcs := map[string]string{}
	for i, tc := range cases {
		body := bytes.Repeat([]byte{'A' + byte(i)}, tc.size) // low entropy, one per case
		var sum [8]byte
		binary.BigEndian.PutUint64(sum[:], crc64nvme.Checksum(body))
		crc := base64.StdEncoding.EncodeToString(sum[:])
		crcs[tc.name] = crc
		_, err := c.PutObject(ctx, "digests", tc.name, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
			ServerSideEncryption: tc.sse, DisableMultipart: tc.part == 0, PartSize: max(tc.part, 5<<20),
			// No checksum from the client: only the default could be stored.
			DisableContentSha256: true,
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		st, err := c.StatObject(ctx, "digests", tc.name, minio.StatObjectOptions{ServerSideEncryption: tc.get, Checksum: true})
		if err != nil {
			t.Fatalf("%s: stat: %v", tc.name, err)
		}
		got := st.ChecksumCRC64NVME
		switch {
		case tc.stored && tc.part == 0 && got != crc:
			t.Errorf("%s: HEAD CRC64NVME %q, want the default %q", tc.name, got, crc)
		case !tc.stored && (got != "" || st.ChecksumCRC32C != "" || st.ChecksumCRC32 != ""):
			t.Errorf("%s: HEAD returned checksums (crc64nvme %q, crc32c %q, crc32 %q) for an object whose client sent none", tc.name, got, st.ChecksumCRC32C, st.ChecksumCRC32)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name, crc := range crcs {
			if bytes.Contains(b, []byte(crc)) {
				found[name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		if found[tc.name] != tc.stored {
			t.Errorf("%s: CRC64NVME of the plaintext found on the drives: %v, want %v", tc.name, found[tc.name], tc.stored)
		}
	}
}

// TestCopyDropsUnaskedChecksumsUnderKMSAndSSEC: a copy inherits its
// source's checksums when the client names none, but not onto SSE-KMS or
// SSE-C ciphertext, where no unasked digest of the plaintext is kept
// (docs/architecture.md, "What is stored in clear"); this includes
// re-encrypting an object in place, the usual way to move it to KMS.
func TestCopyDropsUnaskedChecksumsUnderKMSAndSSEC(t *testing.T) {
	ctx := context.Background()
	srv, c := startSSEServer(t, t.TempDir(), true)
	if err := srv.Keys().CreateKey(ctx, "tenant-copy"); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "digests-copy", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("Z"), 700)
	if _, err := c.PutObject(ctx, "digests-copy", "src", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableContentSha256: true, DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	st, _ := c.StatObject(ctx, "digests-copy", "src", minio.StatObjectOptions{Checksum: true})
	if st.ChecksumCRC64NVME == "" {
		t.Fatal("the SSE-S3 source has no default checksum to inherit")
	}
	kms, _ := encrypt.NewSSEKMS("tenant-copy", nil)
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{7}, 32))
	for _, tc := range []struct {
		name string
		dst  string
		sse  encrypt.ServerSide
		get  encrypt.ServerSide
	}{{"to KMS", "dst-kms", kms, nil}, {"to SSE-C", "dst-c", ssec, ssec}} {
		if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "digests-copy", Object: tc.dst, Encryption: tc.sse}, minio.CopySrcOptions{Bucket: "digests-copy", Object: "src"}); err != nil {
			t.Fatal(err)
		}
		st, err := c.StatObject(ctx, "digests-copy", tc.dst, minio.StatObjectOptions{Checksum: true, ServerSideEncryption: tc.get})
		if err != nil {
			t.Fatal(err)
		}
		if st.ChecksumCRC64NVME != "" {
			t.Errorf("%s: plaintext CRC64NVME stored beside ciphertext though the client asked for none", tc.name)
		}
	}
	// A checksum the client asked for on an SSE-KMS object is kept by
	// its copies: such a source stores no unasked one.
	tc, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(srvUser(srv)), Region: "us-east-1", TrailingHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.PutObject(ctx, "digests-copy", "asked", bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ServerSideEncryption: kms, Checksum: minio.ChecksumSHA256, DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	asked, err := c.StatObject(ctx, "digests-copy", "asked", minio.StatObjectOptions{Checksum: true})
	if err != nil || asked.ChecksumSHA256 == "" {
		t.Fatalf("SSE-KMS object PUT with SHA256: checksum %q, %v", asked.ChecksumSHA256, err)
	}
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "digests-copy", Object: "asked-copy", Encryption: kms},
		minio.CopySrcOptions{Bucket: "digests-copy", Object: "asked"}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.StatObject(ctx, "digests-copy", "asked-copy", minio.StatObjectOptions{Checksum: true}); err != nil || st.ChecksumSHA256 != asked.ChecksumSHA256 {
		t.Errorf("copy of an SSE-KMS object with an asked-for SHA256: %q, %v; want %q", st.ChecksumSHA256, err, asked.ChecksumSHA256)
	}
	// Re-encrypt in place (copy onto itself with SSE-KMS).
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "digests-copy", Object: "src", Encryption: kms, ReplaceMetadata: true}, minio.CopySrcOptions{Bucket: "digests-copy", Object: "src"}); err != nil {
		t.Fatal(err)
	}
	st, _ = c.StatObject(ctx, "digests-copy", "src", minio.StatObjectOptions{Checksum: true})
	if st.ChecksumCRC64NVME != "" {
		t.Errorf("in-place re-encryption: plaintext CRC64NVME kept beside KMS ciphertext")
	}
}

// srvUser returns the root credentials and an empty session token, the
// arguments of credentials.NewStaticV4.
func srvUser(srv *Server) (string, string, string) {
	u, p := srv.Credentials()
	return u, p, ""
}

// TestSSEOnePartMultipart: a one-part multipart object reads back whole
// and as part 1 under each encryption mode (storage lists its one part
// like any multipart object's since it keeps part data ids in listings).
func TestSSEOnePartMultipart(t *testing.T) {
	ctx := context.Background()
	srv, c := startSSEServer(t, t.TempDir(), true)
	if err := srv.Keys().CreateKey(ctx, "tenant-one"); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "onepart", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	kms, _ := encrypt.NewSSEKMS("tenant-one", nil)
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{4}, 32))
	core := minio.Core{Client: c}
	for _, tc := range []struct {
		name     string
		sse, get encrypt.ServerSide
	}{{"SSE-S3", encrypt.NewSSE(), nil}, {"SSE-KMS", kms, nil}, {"SSE-C", ssec, ssec}} {
		body := randBody(11, 70000)
		up, err := core.NewMultipartUpload(ctx, "onepart", tc.name, minio.PutObjectOptions{ServerSideEncryption: tc.sse})
		if err != nil {
			t.Fatal(err)
		}
		p, err := core.PutObjectPart(ctx, "onepart", tc.name, up, 1, bytes.NewReader(body), int64(len(body)), minio.PutObjectPartOptions{SSE: tc.sse})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := core.CompleteMultipartUpload(ctx, "onepart", tc.name, up, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, pn := range []int{0, 1} {
			opts := minio.GetObjectOptions{ServerSideEncryption: tc.get, PartNumber: pn}
			got, err := getAll(t, c, "onepart", tc.name, opts)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%s partNumber=%d: %d bytes, %v", tc.name, pn, len(got), err)
			}
		}
	}
}
