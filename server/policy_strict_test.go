package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestPutBucketPolicyStrict: PutBucketPolicy refuses, with 400
// MalformedPolicy naming the check, what AWS S3 refuses: an action that
// does not exist (a typo'd Deny would silently protect nothing), an
// action that applies to none of its statement's resources, and a Sid
// given twice; nothing is stored.
func TestPutBucketPolicyStrict(t *testing.T) {
	ctx := context.Background()
	_, root := startServer(t)
	if err := root.MakeBucket(ctx, "strict", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc, msg string
	}{
		{"typo'd action", `{"Version":"2012-10-17","Statement":[
		  {"Effect":"Allow","Principal":"*","Action":"s3:GetObjects","Resource":"arn:aws:s3:::strict/*"}]}`,
			`Policy has invalid action: "s3:GetObjects"`},
		{"typo'd action in a Deny", `{"Version":"2012-10-17","Statement":[
		  {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::strict/*"},
		  {"Effect":"Deny","Principal":"*","Action":"s3:DeleteObjects","Resource":"arn:aws:s3:::strict/*"}]}`,
			`Statement[1].Action: Policy has invalid action: "s3:DeleteObjects"`},
		{"bucket action on objects only", `{"Version":"2012-10-17","Statement":[
		  {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::strict/*"}]}`,
			"Action does not apply to any resource(s) in statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := root.SetBucketPolicy(ctx, "strict", tt.doc)
			resp := minio.ToErrorResponse(err)
			if resp.StatusCode != http.StatusBadRequest || resp.Code != "MalformedPolicy" || !strings.Contains(resp.Message, tt.msg) {
				t.Fatalf("PutBucketPolicy: %d %s %q, want 400 MalformedPolicy saying %q", resp.StatusCode, resp.Code, resp.Message, tt.msg)
			}
			// minio-go answers NoSuchBucketPolicy with "" and no error.
			if got, err := root.GetBucketPolicy(ctx, "strict"); got != "" || err != nil {
				t.Fatalf("GetBucketPolicy after a refused put = %q, %v; want no policy", got, err)
			}
		})
	}
}

// TestStoredLenientPolicyStillApplies: a policy an older build stored,
// with an action PutBucketPolicy now refuses, still loads and grants what
// its valid statements grant; written again, it is checked.
func TestStoredLenientPolicyStillApplies(t *testing.T) {
	ctx := context.Background()
	srv, root := startServer(t)
	if err := root.MakeBucket(ctx, "legacy", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, "legacy", "pub/a", bytes.NewReader([]byte("hello")), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	old := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::legacy/pub/*"},` +
		`{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObjects","Resource":"arn:aws:s3:::legacy/*"}]}`
	if _, err := srv.Store().UpdateBucketMetadata(ctx, "legacy", func(md map[string]string) error {
		md["policy"] = old // s3api's bucketPolicyKey, as an older build wrote it
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/legacy/pub/a")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Fatalf("anonymous GET under the stored policy: %d %q, want 200 hello", resp.StatusCode, body)
	}
	if got, err := root.GetBucketPolicy(ctx, "legacy"); err != nil || got != old {
		t.Fatalf("GetBucketPolicy = %q, %v; want the stored document", got, err)
	}
	if err := root.SetBucketPolicy(ctx, "legacy", old); minio.ToErrorResponse(err).Code != "MalformedPolicy" {
		t.Fatalf("writing the old policy again: %v, want MalformedPolicy", err)
	}
}
