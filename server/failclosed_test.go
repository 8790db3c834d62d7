package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
)

// TestAuditFailClosed: with AuditFailClosed and the audit log stopped,
// every kind of S3 and admin change is refused with 503 before it runs,
// and reads are served; without it (the default) changes are served.
func TestAuditFailClosed(t *testing.T) {
	for _, closed := range []bool{true, false} {
		name := map[bool]string{true: "fail closed", false: "fail open (default)"}[closed]
		t.Run(name, func(t *testing.T) {
			srv, c := startServerWith(t, Config{AuditFailClosed: closed})
			ctx := context.Background()
			if err := c.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			put := func(key string) error {
				_, err := c.PutObject(ctx, "photos", key, strings.NewReader("cat"), 3, minio.PutObjectOptions{})
				return err
			}
			if err := put("cat.jpg"); err != nil {
				t.Fatal(err)
			}
			user, secret := srv.Credentials()
			rc := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
			srv.auditFailed = func() error { return errors.New("audit: write failed: no space left on device") }

			changes := []struct {
				name string
				do   func() error
			}{
				{"PutObject", func() error { return put("new.jpg") }},
				{"CopyObject", func() error {
					_, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "photos", Object: "copy.jpg"},
						minio.CopySrcOptions{Bucket: "photos", Object: "cat.jpg"})
					return err
				}},
				{"DeleteObject", func() error { return c.RemoveObject(ctx, "photos", "cat.jpg", minio.RemoveObjectOptions{}) }},
				{"CreateBucket", func() error { return c.MakeBucket(ctx, "more", minio.MakeBucketOptions{}) }},
				{"PutBucketPolicy", func() error {
					return c.SetBucketPolicy(ctx, "photos", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`)
				}},
				{"CreateMultipartUpload", func() error {
					_, err := (&minio.Core{Client: c}).NewMultipartUpload(ctx, "photos", "big", minio.PutObjectOptions{})
					return err
				}},
				{"DeleteObjects", func() error {
					objs := make(chan minio.ObjectInfo, 1)
					objs <- minio.ObjectInfo{Key: "cat.jpg"}
					close(objs)
					for e := range c.RemoveObjects(ctx, "photos", objs, minio.RemoveObjectsOptions{}) {
						return e.Err
					}
					return nil
				}},
				{"PostObject", func() error {
					if status, body := postV2Form(t, c, "photos", "form.jpg", []byte("cat")); status >= 300 {
						return minio.ErrorResponse{StatusCode: status, Code: between(body, "<Code>", "</Code>")}
					}
					return nil
				}},
				{"admin CreateUser", func() error {
					return rc.Do(ctx, "POST", "/users", admin.CreateUserRequest{Name: "ann"}, nil)
				}},
			}
			for _, ch := range changes {
				err := ch.do()
				var ae *admin.Error
				switch {
				case !closed && err != nil:
					t.Errorf("%s with the log stopped, fail open: %v, want it served", ch.name, err)
				case closed && strings.HasPrefix(ch.name, "admin"):
					if !errors.As(err, &ae) || ae.Status != 503 || ae.Code != "AuditUnavailable" {
						t.Errorf("%s with the log stopped, fail closed: %v, want 503 AuditUnavailable", ch.name, err)
					}
				case closed:
					if r := minio.ToErrorResponse(err); r.StatusCode != 503 || r.Code != "ServiceUnavailable" {
						t.Errorf("%s with the log stopped, fail closed: %v, want 503 ServiceUnavailable", ch.name, err)
					}
				}
			}
			if !closed {
				return
			}

			// Refused before it ran: nothing changed, and the client is
			// told when to retry.
			if _, err := c.StatObject(ctx, "photos", "new.jpg", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
				t.Errorf("refused PUT stored the object: %v", err)
			}
			req, _ := http.NewRequest("PUT", "http://"+srv.Addr()+"/photos/raw", nil) // anonymous: refused by policy first
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
				t.Errorf("anonymous PUT with the log stopped = %v %v, want 403 (authorization comes first)", resp.StatusCode, err)
			}
			url, err := c.PresignedPutObject(ctx, "photos", "raw", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			req, _ = http.NewRequest("PUT", url.String(), strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !bytes.Contains(body, []byte("<Code>ServiceUnavailable</Code>")) {
				t.Errorf("presigned PUT with the log stopped: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}

			// Reads go on.
			if b, err := getAll(t, c, "photos", "cat.jpg", minio.GetObjectOptions{}); err != nil || string(b) != "cat" {
				t.Errorf("GET with the log stopped: %q, %v", b, err)
			}
			for o := range c.ListObjects(ctx, "photos", minio.ListObjectsOptions{}) {
				if o.Err != nil {
					t.Errorf("LIST with the log stopped: %v", o.Err)
				}
			}
			if err := rc.Do(ctx, "GET", "/users", nil, new(any)); err != nil {
				t.Errorf("admin GET with the log stopped: %v", err)
			}
		})
	}
}

// between returns what s holds between open and close.
func between(s, open, close string) string {
	_, s, _ = strings.Cut(s, open)
	s, _, _ = strings.Cut(s, close)
	return s
}

// TestAuditFailClosedResumes: with AuditFailClosed, a full audit disk
// stops the log and a PUT is refused while it is stopped; once space is
// freed the log resumes by itself and the same PUT is served. The
// refused attempt is counted in the gap record.
func TestAuditFailClosedResumes(t *testing.T) {
	disk := &fullAuditDisk{}
	srv, c := startServerWith(t, Config{AuditFailClosed: true, auditOptions: func(o *audit.Options) {
		o.WrapFile = disk.wrap
		o.RetryInterval = 50 * time.Millisecond
	}})
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func() error {
		_, err := c.PutObject(ctx, "photos", "cat.jpg", strings.NewReader("cat"), 3, minio.PutObjectOptions{})
		return err
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv, 200)
	// Every record so far on disk before it fills: one written late would
	// stop the log before the PUT below (seen on a loaded machine).
	if err := srv.ops.audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	disk.full.Store(true)
	// Served: the log learns the disk is full only when it writes this
	// PUT's record, after the response.
	if err := put(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv, 503)
	if r := minio.ToErrorResponse(put()); r.StatusCode != 503 || r.Code != "ServiceUnavailable" {
		t.Fatalf("PUT with the audit log stopped, fail closed: %+v, want 503 ServiceUnavailable", r)
	}
	if _, err := getAll(t, c, "photos", "cat.jpg", minio.GetObjectOptions{}); err != nil {
		t.Fatalf("GET with the audit log stopped: %v", err)
	}

	disk.full.Store(false)
	waitReady(t, srv, 200)
	if err := put(); err != nil {
		t.Fatalf("PUT once the audit log resumed: %v", err)
	}
	rep, err := srv.AuditLog().Verify(ctx, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Gaps) != 1 || rep.Gaps[0].Refused == 0 {
		t.Fatalf("verification after the resume: %+v", rep)
	}
}
