package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// TestCopySourceCondition: s3:x-amz-copy-source holds the source the
// copy reads, "bucket/key" decoded, so a Deny on it cannot be passed by
// writing the same source another way. Before, the key held the raw
// header: "%70ub1/private/b.txt" copied pub1/private/b.txt while a Deny
// on "pub1/private/*" never matched it.
func TestCopySourceCondition(t *testing.T) {
	pol, err := iam.ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub1/*"},
	 {"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::pub1/mallory/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	h, err := New(Config{
		Store:       store,
		Credentials: func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey },
		Identities:  staticIdentities{"MALLORYKEY": {"mallory-secret", "mallory"}},
		Authorizer:  iam.NewEngine(formUserPolicies{"mallory": {{Name: "p", Policy: pol}}}, iam.EngineOptions{}),
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	if err := store.MakeBucket(ctx, "pub1", ""); err != nil {
		t.Fatal(err)
	}
	store.buckets["pub1"].info.Metadata = map[string]string{bucketPolicyKey: `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::pub1/*",
	  "Condition":{"StringLike":{"s3:x-amz-copy-source":"pub1/private/*"}}}]}`}
	for _, k := range []string{"private/b.txt", "mallory/ok.txt"} {
		if _, err := store.PutObject(ctx, "pub1", k, bytes.NewReader([]byte("data of "+k)), storage.PutOptions{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	do := func(t *testing.T, method, path, copySource string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if copySource != "" {
			req.Header.Set("x-amz-copy-source", copySource)
		}
		sum := sha256.Sum256(nil)
		if err := sigv4.SignRequest(req, "MALLORYKEY", "mallory-secret", testRegion, time.Now(), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, body := do(t, "POST", "/pub1/mallory/mp?uploads", "")
	var up struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(body, &up); resp.StatusCode != 200 || err != nil || up.UploadID == "" {
		t.Fatalf("CreateMultipartUpload: %d %s", resp.StatusCode, body)
	}
	tests := []struct {
		name   string
		source string
		status int
	}{
		{"plain", "pub1/private/b.txt", http.StatusForbidden},
		{"leading slash", "/pub1/private/b.txt", http.StatusForbidden},
		{"encoded bucket", "%70ub1/private/b.txt", http.StatusForbidden},
		{"encoded key", "pub1/%70rivate/b.txt", http.StatusForbidden},
		{"encoded slash", "pub1%2Fprivate%2Fb.txt", http.StatusForbidden},
		{"with a version", "pub1/private/b.txt?versionId=null", http.StatusForbidden},
		{"outside the denied prefix", "pub1/mallory/ok.txt", http.StatusOK},
		{"outside, encoded", "pub1/%6Dallory/ok.txt", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range []struct{ name, path string }{
				{"CopyObject", "/pub1/mallory/copy"},
				{"UploadPartCopy", "/pub1/mallory/mp?partNumber=1&uploadId=" + up.UploadID},
			} {
				resp, body := do(t, "PUT", op.path, tt.source)
				if resp.StatusCode != tt.status {
					t.Fatalf("%s from %q: %d %s, want %d", op.name, tt.source, resp.StatusCode, body, tt.status)
				}
			}
		})
	}
}
