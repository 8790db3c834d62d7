package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"hash/crc32"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestPartChecksumOnPartRead checks GetObject?partNumber with checksum
// mode: the answer carries the part's own checksum (AWS behaviour,
// minio-go's testTrailingChecksums), not the object's, which describes
// the whole; without checksum mode, none.
func TestPartChecksumOnPartRead(t *testing.T) {
	ctx := context.Background()
	srv, _ := startServerWith(t, Config{})
	user, secret := srv.Credentials()
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Region: "us-east-1", TrailingHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "parts", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	const partSize = 5 << 20
	body := randBody(42, 2*partSize+1234)
	cases := []struct {
		name string
		alg  minio.ChecksumType
	}{
		{"composite", minio.ChecksumCRC32C},
		{"full-object", minio.ChecksumFullObjectCRC32C},
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.PutObject(ctx, "parts", tc.name, bytes.NewReader(body), int64(len(body)),
				minio.PutObjectOptions{PartSize: partSize, Checksum: tc.alg}); err != nil {
				t.Fatal(err)
			}
			for n, want := range map[int][]byte{1: body[:partSize], 2: body[partSize : 2*partSize], 3: body[2*partSize:]} {
				opts := minio.GetObjectOptions{Checksum: true, PartNumber: n}
				r, err := c.GetObject(ctx, "parts", tc.name, opts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("part %d: %d bytes, %v", n, len(got), err)
				}
				st, err := r.Stat()
				if err != nil {
					t.Fatal(err)
				}
				r.Close()
				sum := crc32.Checksum(want, table)
				wantSum := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
				if st.ChecksumCRC32C != wantSum {
					t.Errorf("part %d: CRC32C %q, want the part's %q", n, st.ChecksumCRC32C, wantSum)
				}
			}
			r, err := c.GetObject(ctx, "parts", tc.name, minio.GetObjectOptions{PartNumber: 2})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, r)
			st, err := r.Stat()
			r.Close()
			if err != nil || st.ChecksumCRC32C != "" {
				t.Errorf("part read without checksum mode: CRC32C %q, %v", st.ChecksumCRC32C, err)
			}
		})
	}
}
