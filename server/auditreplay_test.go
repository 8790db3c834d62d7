package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/audit"
)

// TestReplayedCredentialRefusalsAggregated: a browser form, once
// published (it sits in a web page), and a presigned URL can be
// replayed by anyone, and a form after its policy expired too: its
// signature still names the signer. Their refusals were recorded one
// fsynced record each, as the signer's, so anyone holding an old form
// could flood the audit log. They are now aggregated per access key,
// whatever the source: the first three recorded, the rest in one
// summary that names the signer and key. Denials of requests the user
// signs in an Authorization header stay one record each.
func TestReplayedCredentialRefusalsAggregated(t *testing.T) {
	srv, root := startStillAggregator(t)
	ctx := context.Background()
	if err := root.MakeBucket(ctx, "uploads", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	up := userClient(t, srv, "uploader", "readwrite")
	reader := userClient(t, srv, "reader", "readonly")
	send := func(req *http.Request, want int) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
		}
	}

	p := minio.NewPostPolicy()
	p.SetBucket("uploads")
	p.SetKey("form.jpg")
	p.SetExpires(time.Now().Add(-time.Minute)) // expired
	u, fields, err := up.PresignedPostPolicy(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if status, b := postForm(t, u, fields, "form.jpg", []byte("x")); status != http.StatusForbidden {
			t.Fatalf("expired form = %d %s, want 403", status, b)
		}
	}
	// A PUT URL the readonly user presigned: valid, and refused by IAM.
	pu, err := reader.PresignedPutObject(ctx, "uploads", "x", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		req, _ := http.NewRequest("PUT", pu.String(), strings.NewReader("x"))
		send(req, http.StatusForbidden)
	}
	for range 4 {
		if _, err := reader.PutObject(ctx, "uploads", "x", strings.NewReader("x"), 1, minio.PutObjectOptions{}); code(err) != "AccessDenied" {
			t.Fatalf("header-signed PUT by the readonly user = %v", err)
		}
	}
	if err := srv.Close(ctx); err != nil { // writes the summaries
		t.Fatal(err)
	}

	var got []string
	err = audit.Query(ctx, filepath.Join(srv.cfg.DataDir, auditDir), audit.Filter{}, func(r audit.Record) error {
		if r.Identity == audit.Root || r.Status < 400 {
			return nil // the test's own setup
		}
		if r.AccessKey == "" {
			t.Errorf("record %d (%s %s) names no access key", r.Seq, r.Identity, r.Action)
		}
		if s, err := audit.ParseSummary(r); err == nil {
			got = append(got, fmt.Sprintf("summary %s %s %s %s %d", r.Identity, r.Source, r.Action, r.Error, s.Count))
			return nil
		}
		got = append(got, fmt.Sprintf("%s %s %s", r.Identity, r.Action, r.Error))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"user:uploader PostObject AccessDenied", "user:uploader PostObject AccessDenied", "user:uploader PostObject AccessDenied",
		"user:reader PutObject AccessDenied", "user:reader PutObject AccessDenied", "user:reader PutObject AccessDenied",
		"user:reader PutObject AccessDenied", "user:reader PutObject AccessDenied", "user:reader PutObject AccessDenied",
		"user:reader PutObject AccessDenied",
		"summary user:reader 127.0.0.1 PutObject AccessDenied 17",
		"summary user:uploader 127.0.0.1 PostObject AccessDenied 47",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
