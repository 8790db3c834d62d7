package server

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// signedDo sends one SigV4-signed request (unsigned payload) as root and
// returns the response with its body read.
func signedDo(t *testing.T, srv *Server, method, path string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.Addr()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	user, secret := srv.Credentials()
	req = signer.SignV4(*req, user, secret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, out
}

func md5b64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestCompatibilityRows checks rows of docs/compatibility.md that no
// client in the gate exercises: the SSE-KMS key id forms, the bucket-key
// header, aws:kms:dsse, versionId on reads, and GetBucketPolicyStatus.
func TestCompatibilityRows(t *testing.T) {
	ctx := context.Background()
	srv, c := startServerWith(t, Config{})
	if err := srv.Keys().CreateKey(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "rows", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	kms := func(id string, extra ...string) map[string]string {
		h := map[string]string{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": id}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	t.Run("SSE-KMS key id forms and bucket key", func(t *testing.T) {
		for _, id := range []string{"tenant-a", "arn:aws:kms:us-east-1:111122223333:key/tenant-a", "alias/tenant-a"} {
			resp, out := signedDo(t, srv, "PUT", "/rows/k", kms(id, "x-amz-server-side-encryption-bucket-key-enabled", "true"), []byte("hello"))
			if resp.StatusCode != 200 || resp.Header.Get("x-amz-server-side-encryption") != "aws:kms" ||
				!isKeyARN(resp.Header.Get("x-amz-server-side-encryption-aws-kms-key-id"), "tenant-a") ||
				resp.Header.Get("x-amz-server-side-encryption-bucket-key-enabled") != "true" {
				t.Fatalf("key id %q: %d %s %v", id, resp.StatusCode, out, resp.Header)
			}
			// Stored under the key the id names, not merely echoed.
			resp, _ = signedDo(t, srv, "HEAD", "/rows/k", nil, nil)
			if !isKeyARN(resp.Header.Get("x-amz-server-side-encryption-aws-kms-key-id"), "tenant-a") {
				t.Fatalf("key id %q: HEAD %v", id, resp.Header)
			}
		}
		// Without the bucket-key header, SSE-KMS responses still say
		// bucket key: every object is sealed under one.
		resp, out := signedDo(t, srv, "PUT", "/rows/nobk", kms("tenant-a"), []byte("hello"))
		if resp.StatusCode != 200 || resp.Header.Get("x-amz-server-side-encryption-bucket-key-enabled") != "true" {
			t.Fatalf("PUT without the bucket-key header: %d %s %v", resp.StatusCode, out, resp.Header)
		}
		resp, _ = signedDo(t, srv, "HEAD", "/rows/nobk", nil, nil)
		if resp.Header.Get("x-amz-server-side-encryption-bucket-key-enabled") != "true" {
			t.Fatalf("HEAD of an SSE-KMS object: %v", resp.Header)
		}
		resp, out = signedDo(t, srv, "PUT", "/rows/d", map[string]string{"x-amz-server-side-encryption": "aws:kms:dsse"}, []byte("hello"))
		if resp.StatusCode != 400 || !bytes.Contains(out, []byte("<Code>InvalidArgument</Code>")) {
			t.Fatalf("aws:kms:dsse object: %d %s", resp.StatusCode, out)
		}
		doc := []byte(`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms:dsse</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`)
		resp, out = signedDo(t, srv, "PUT", "/rows?encryption", map[string]string{"Content-MD5": md5b64(doc)}, doc)
		if resp.StatusCode != 501 || !bytes.Contains(out, []byte("<Code>NotImplemented</Code>")) {
			t.Fatalf("aws:kms:dsse bucket default: %d %s", resp.StatusCode, out)
		}
	})
	t.Run("versionId", func(t *testing.T) {
		resp, out := signedDo(t, srv, "GET", "/rows/k?versionId=null", nil, nil)
		if resp.StatusCode != 200 || string(out) != "hello" {
			t.Fatalf("versionId=null: %d %q", resp.StatusCode, out)
		}
		const other = "/rows/k?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY"
		resp, out = signedDo(t, srv, "GET", other, nil, nil)
		if resp.StatusCode != 404 || !bytes.Contains(out, []byte("<Code>NoSuchVersion</Code>")) {
			t.Fatalf("GET another version: %d %s", resp.StatusCode, out)
		}
		if resp, _ = signedDo(t, srv, "HEAD", other, nil, nil); resp.StatusCode != 404 {
			t.Fatalf("HEAD another version: %d", resp.StatusCode)
		}
	})
	t.Run("policy status", func(t *testing.T) {
		status := func() string {
			resp, out := signedDo(t, srv, "GET", "/rows?policyStatus", nil, nil)
			i := bytes.Index(out, []byte("<IsPublic>"))
			if resp.StatusCode != 200 || i < 0 {
				return string(out)
			}
			return string(out[i:])
		}
		if got := status(); !strings.Contains(got, "NoSuchBucketPolicy") {
			t.Fatalf("without a policy: %s", got)
		}
		public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::rows/*"}]}`
		if err := c.SetBucketPolicy(ctx, "rows", public); err != nil {
			t.Fatal(err)
		}
		if got := status(); !strings.HasPrefix(got, "<IsPublic>true</IsPublic>") {
			t.Fatalf("public policy: %s", got)
		}
		conditioned := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::rows/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
		if err := c.SetBucketPolicy(ctx, "rows", conditioned); err != nil {
			t.Fatal(err)
		}
		if got := status(); !strings.HasPrefix(got, "<IsPublic>false</IsPublic>") {
			t.Fatalf("policy with a condition: %s", got)
		}
	})
}
