package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"hash/crc32"
	"io"
	"net/http"
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
		// CRC64NVME chosen by the client: the part's, though the same
		// algorithm as the default ones part reads leave out.
		{"crc64nvme", minio.ChecksumCRC64NVME},
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
				if tc.alg == minio.ChecksumCRC64NVME {
					if wantSum := tc.alg.EncodeToString(want); st.ChecksumCRC64NVME != wantSum {
						t.Errorf("part %d: CRC64NVME %q, want the part's %q", n, st.ChecksumCRC64NVME, wantSum)
					}
					continue
				}
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
			if err != nil || st.ChecksumCRC32C != "" || st.ChecksumCRC64NVME != "" {
				t.Errorf("part read without checksum mode: CRC32C %q, CRC64NVME %q, %v", st.ChecksumCRC32C, st.ChecksumCRC64NVME, err)
			}
		})
	}
}

// TestSinglePartMultipartPartRead: a multipart object of one part is
// still a multipart object: GetObject?partNumber=1 answers 206 with
// x-amz-mp-parts-count 1 and, with checksum mode, the part's checksum,
// not the object's COMPOSITE "...-1" value.
func TestSinglePartMultipartPartRead(t *testing.T) {
	ctx := context.Background()
	srv, _ := startServerWith(t, Config{})
	user, secret := srv.Credentials()
	c, err := minio.NewCore(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "spb", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := randBody(7, 1000)
	table := crc32.MakeTable(crc32.Castagnoli)
	sum := crc32.Checksum(body, table)
	partSum := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	up, err := c.NewMultipartUpload(ctx, "spb", "k", minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-checksum-algorithm": "CRC32C"}})
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	hdr.Set("x-amz-checksum-crc32c", partSum)
	p, err := c.PutObjectPart(ctx, "spb", "k", up, 1, bytes.NewReader(body), int64(len(body)), minio.PutObjectPartOptions{CustomHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := c.CompleteMultipartUpload(ctx, "spb", "k", up, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag, ChecksumCRC32C: p.ChecksumCRC32C}}, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ci.ChecksumCRC32C == partSum {
		t.Fatalf("complete returned the part's checksum %q, want the COMPOSITE one", ci.ChecksumCRC32C)
	}
	o := minio.GetObjectOptions{Checksum: true, PartNumber: 1}
	r, info, hh, err := c.GetObject(ctx, "spb", "k", o)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if hh.Get("x-amz-mp-parts-count") != "1" || hh.Get("Content-Range") == "" || info.Size != int64(len(body)) {
		t.Errorf("part read: parts-count %q, content-range %q, size %d", hh.Get("x-amz-mp-parts-count"), hh.Get("Content-Range"), info.Size)
	}
	if hh.Get("x-amz-checksum-crc32c") != partSum {
		t.Errorf("part read returned %q, want the part's %q", hh.Get("x-amz-checksum-crc32c"), partSum)
	}
}
