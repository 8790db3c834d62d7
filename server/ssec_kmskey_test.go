package server

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/objstore/objstore/iam"
)

// TestSSECWithKMSKeyIDRefused: a PUT carrying SSE-C headers and an SSE-KMS
// key id names a key (and satisfies a bucket policy that pins
// s3:x-amz-server-side-encryption-aws-kms-key-id), but would not be
// sealed under it. Before, the key id was dropped: a user without a
// grant passed both the KMS check and the bucket's "only under hr-dept"
// rule, with an object that is not under hr-dept. AWS answers 400
// InvalidArgument, and so does objstore.
func TestSSECWithKMSKeyIDRefused(t *testing.T) {
	ctx := context.Background()
	srv, root := startServerWith(t, Config{InsecureSSEC: true})
	if err := srv.Keys().CreateKey(ctx, "hr-dept"); err != nil {
		t.Fatal(err)
	}
	if err := root.MakeBucket(ctx, "hrb", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	// AWS's documented "require a specific KMS key" bucket policy.
	pin := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::hrb/*",` +
		`"Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"hr-dept"}}}]}`
	if err := root.SetBucketPolicy(ctx, "hrb", pin); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.IAM().CreateUser(ctx, "alice", "readwrite"); err != nil { // no kms grant
		t.Fatal(err)
	}
	ak, err := srv.IAM().CreateAccessKey(ctx, "alice", iam.AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	sum := md5.Sum(key)
	req, _ := http.NewRequest(http.MethodPut, "http://"+srv.Addr()+"/hrb/payroll", bytes.NewReader([]byte("x")))
	req.ContentLength = 1
	req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	req.Header.Set("x-amz-server-side-encryption-customer-algorithm", "AES256")
	req.Header.Set("x-amz-server-side-encryption-customer-key", base64.StdEncoding.EncodeToString(key))
	req.Header.Set("x-amz-server-side-encryption-customer-key-md5", base64.StdEncoding.EncodeToString(sum[:]))
	req.Header.Set("x-amz-server-side-encryption-aws-kms-key-id", "hr-dept")
	req = signer.SignV4(*req, ak.ID, ak.Secret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || xmlCode(string(b)) != "InvalidArgument" {
		t.Fatalf("SSE-C with an SSE-KMS key id by a user without kms:GenerateDataKey: %d %s, want 400 InvalidArgument "+
			"(the object is SSE-C under the default key, yet passed the hr-dept pin and named hr-dept)", resp.StatusCode, b)
	}
}
