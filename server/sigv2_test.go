package server

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestSigV2Switch: SigV2 clients work by default and are refused with
// InvalidRequest when the server is started with DisableSigV2
// (objstore server --no-sigv2); SigV4 works either way.
func TestSigV2Switch(t *testing.T) {
	ctx := context.Background()
	for _, disabled := range []bool{false, true} {
		srv, v4 := startServerWith(t, Config{DisableSigV2: disabled})
		user, secret := srv.Credentials()
		v2, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV2(user, secret, ""), Region: "us-east-1", MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		err = v2.MakeBucket(ctx, "v2bucket", minio.MakeBucketOptions{})
		switch {
		case !disabled && err != nil:
			t.Errorf("SigV2 enabled: %v", err)
		case disabled && errCode(err) != "InvalidRequest":
			t.Errorf("SigV2 disabled: %v, want InvalidRequest", err)
		}
		if err := v4.MakeBucket(ctx, "v4bucket", minio.MakeBucketOptions{}); err != nil {
			t.Errorf("SigV4 with SigV2 disabled=%t: %v", disabled, err)
		}
		// A browser-upload form signed with SigV2 follows the switch too.
		status, body := postV2Form(t, v2, "v4bucket", "form.txt", []byte("posted"))
		switch {
		case !disabled && status != http.StatusNoContent:
			t.Errorf("SigV2 form, SigV2 enabled: %d %s", status, body)
		case disabled && (status != http.StatusBadRequest || !strings.Contains(body, "<Code>InvalidRequest</Code>")):
			t.Errorf("SigV2 form, SigV2 disabled: %d %s, want InvalidRequest", status, body)
		}
	}
}

// postV2Form uploads data to bucket/key with a POST policy form that the
// SigV2 client c signs, and returns the status and body of the answer.
func postV2Form(t *testing.T, c *minio.Client, bucket, key string, data []byte) (int, string) {
	t.Helper()
	p := minio.NewPostPolicy()
	p.SetBucket(bucket)
	p.SetKey(key)
	p.SetExpires(time.Now().Add(time.Hour))
	u, fields, err := c.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return postForm(t, u, fields, key, data)
}

// postForm sends a browser upload form, fields and then data as the
// file named key, to u, and returns the status and body of the answer.
func postForm(t *testing.T, u *url.URL, fields map[string]string, key string, data []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("file", key)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(u.String(), w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
