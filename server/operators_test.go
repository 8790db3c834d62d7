package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/iam"
)

// userClient creates user name with policies and an access key, and
// returns a minio client signing as that key.
func userClient(t *testing.T, srv *Server, name string, policies ...string) *minio.Client {
	t.Helper()
	ctx := context.Background()
	if _, err := srv.IAM().CreateUser(ctx, name, policies...); err != nil {
		t.Fatal(err)
	}
	k, err := srv.IAM().CreateAccessKey(ctx, name, iam.AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return clientFor(t, srv, credentials.NewStaticV4(k.ID, k.Secret, ""))
}

func clientFor(t *testing.T, srv *Server, creds *credentials.Credentials) *minio.Client {
	t.Helper()
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: creds, Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func putPolicy(t *testing.T, srv *Server, name, doc string) {
	t.Helper()
	if _, err := srv.IAM().PutPolicy(context.Background(), name, []byte(doc)); err != nil {
		t.Fatal(err)
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return minio.ToErrorResponse(err).Code
}

// TestIdentitiesEndToEnd: minio-go clients of different identities are
// allowed and refused as their policies say.
func TestIdentitiesEndToEnd(t *testing.T) {
	srv, root := startServer(t)
	ctx := context.Background()
	for _, b := range []string{"shared", "private"} {
		if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a.txt", "uploads/x", "public/p"} {
			if _, err := root.PutObject(ctx, b, k, strings.NewReader("hello "+k), -1, minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	putPolicy(t, srv, "shared-read", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]}]}`)
	putPolicy(t, srv, "uploads-put", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::shared/uploads/*"}]}`)
	putPolicy(t, srv, "deny-a", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::*/a.txt"}]}`)
	reader := userClient(t, srv, "reader", "shared-read")
	uploader := userClient(t, srv, "uploader", "uploads-put")
	denied := userClient(t, srv, "denied", "deny-a")
	anon := clientFor(t, srv, credentials.NewStatic("", "", "", credentials.SignatureAnonymous))

	get := func(c *minio.Client, b, k string) error {
		_, err := getAll(t, c, b, k, minio.GetObjectOptions{})
		return err
	}
	put := func(c *minio.Client, b, k string) error {
		_, err := c.PutObject(ctx, b, k, strings.NewReader("new"), 3, minio.PutObjectOptions{})
		return err
	}
	list := func(c *minio.Client, b string) error {
		for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				return o.Err
			}
		}
		return nil
	}
	steps := []struct {
		name string
		do   func() error
		want string // "" allowed, else the S3 error code
	}{
		{"root reads anything", func() error { return get(root, "private", "a.txt") }, ""},
		{"reader reads shared", func() error { return get(reader, "shared", "a.txt") }, ""},
		{"reader lists shared", func() error { return list(reader, "shared") }, ""},
		{"reader cannot read private", func() error { return get(reader, "private", "a.txt") }, "AccessDenied"},
		{"reader cannot list private", func() error { return list(reader, "private") }, "AccessDenied"},
		{"reader cannot write", func() error { return put(reader, "shared", "uploads/r") }, "AccessDenied"},
		{"reader cannot delete", func() error { return reader.RemoveObject(ctx, "shared", "a.txt", minio.RemoveObjectOptions{}) }, "AccessDenied"},
		{"uploader puts under prefix", func() error { return put(uploader, "shared", "uploads/new") }, ""},
		{"uploader cannot put elsewhere", func() error { return put(uploader, "shared", "other") }, "AccessDenied"},
		{"uploader cannot read its upload", func() error { return get(uploader, "shared", "uploads/new") }, "AccessDenied"},
		{"uploader cannot copy from elsewhere", func() error {
			_, err := uploader.CopyObject(ctx, minio.CopyDestOptions{Bucket: "shared", Object: "uploads/copy"},
				minio.CopySrcOptions{Bucket: "private", Object: "a.txt"})
			return err
		}, "AccessDenied"},
		{"explicit deny wins over s3:*", func() error { return get(denied, "shared", "a.txt") }, "AccessDenied"},
		{"s3:* allows the rest", func() error { return get(denied, "shared", "uploads/x") }, ""},
		{"anonymous refused without policy", func() error { return get(anon, "shared", "public/p") }, "AccessDenied"},
		{"anonymous cannot list buckets", func() error { _, err := anon.ListBuckets(ctx); return err }, "AccessDenied"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if got := code(s.do()); got != s.want {
				t.Fatalf("got %q, want %q", got, s.want)
			}
		})
	}

	t.Run("ListBuckets shows what the user may list", func(t *testing.T) {
		bs, err := reader.ListBuckets(ctx)
		if err != nil || len(bs) != 1 || bs[0].Name != "shared" {
			t.Fatalf("reader sees %v, %v", bs, err)
		}
		bs, err = denied.ListBuckets(ctx)
		if err != nil || len(bs) != 2 {
			t.Fatalf("s3:* user sees %v, %v", bs, err)
		}
	})

	t.Run("DeleteObjects is decided per key", func(t *testing.T) {
		putPolicy(t, srv, "del-uploads", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::shared/uploads/*"}]}`)
		deleter := userClient(t, srv, "deleter", "del-uploads")
		objs := make(chan minio.ObjectInfo, 2)
		objs <- minio.ObjectInfo{Key: "uploads/x"}
		objs <- minio.ObjectInfo{Key: "a.txt"}
		close(objs)
		failed := map[string]string{}
		for e := range deleter.RemoveObjects(ctx, "shared", objs, minio.RemoveObjectsOptions{}) {
			failed[e.ObjectName] = code(e.Err)
		}
		if len(failed) != 1 || failed["a.txt"] != "AccessDenied" {
			t.Fatalf("failures %v, want only a.txt AccessDenied", failed)
		}
		if get(root, "shared", "uploads/x") == nil || get(root, "shared", "a.txt") != nil {
			t.Fatal("wrong objects deleted")
		}
	})

	t.Run("bucket policy grants anonymous read", func(t *testing.T) {
		pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/public/*"}]}`
		if err := reader.SetBucketPolicy(ctx, "shared", pol); code(err) != "AccessDenied" {
			t.Fatalf("reader set a bucket policy: %v", err)
		}
		if err := root.SetBucketPolicy(ctx, "shared", pol); err != nil {
			t.Fatal(err)
		}
		got, err := root.GetBucketPolicy(ctx, "shared")
		if err != nil || !strings.Contains(got, `"Principal":"*"`) {
			t.Fatalf("GetBucketPolicy = %q, %v", got, err)
		}
		if err := get(anon, "shared", "public/p"); err != nil {
			t.Fatalf("anonymous read of public/p: %v", err)
		}
		if err := get(anon, "shared", "a.txt"); code(err) != "AccessDenied" {
			t.Fatalf("anonymous read outside the grant: %v", err)
		}
		// The bucket policy also grants users; a user's own Deny still wins.
		if err := get(denied, "shared", "public/p"); err != nil {
			t.Fatalf("s3:* user on public/p: %v", err)
		}
		resp, err := http.Get("http://" + srv.Addr() + "/shared/public/p")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello public/p" {
			t.Fatalf("plain HTTP GET: %d %q", resp.StatusCode, body)
		}
		// Anonymous requests cannot choose the response's headers (AWS
		// answers InvalidRequest); presigned ones, signed, still can.
		resp, err = http.Get("http://" + srv.Addr() + "/shared/public/p?response-content-type=text%2Fhtml")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidRequest</Code>") || resp.Header.Get("Content-Type") == "text/html" {
			t.Fatalf("anonymous GET with response-content-type: %d %q", resp.StatusCode, body)
		}
		u, err := root.PresignedGetObject(ctx, "shared", "public/p", time.Minute, url.Values{"response-content-type": {"text/html"}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err = http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" {
			t.Fatalf("presigned GET with response-content-type: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if err := root.SetBucketPolicy(ctx, "shared", `{"Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`); code(err) != "MalformedPolicy" {
			t.Fatalf("policy without principal: %v", err)
		}
		if err := root.SetBucketPolicy(ctx, "shared", ""); err != nil { // minio-go: empty deletes
			t.Fatal(err)
		}
		if err := get(anon, "shared", "public/p"); code(err) != "AccessDenied" {
			t.Fatalf("anonymous read after policy deletion: %v", err)
		}
	})

	t.Run("disabled user is refused at once", func(t *testing.T) {
		if err := srv.IAM().SetUserEnabled(ctx, "reader", false); err != nil {
			t.Fatal(err)
		}
		if got := code(get(reader, "shared", "a.txt")); got != "InvalidAccessKeyId" {
			t.Fatalf("disabled user: %q", got)
		}
	})
}

// TestAuditAndMetrics: a state-changing request and a denied one are in
// the audit log with the right identities; verify passes, then finds a
// tampered record; /metrics counts requests by API and status.
func TestAuditAndMetrics(t *testing.T) {
	srv, root := startServer(t)
	ctx := context.Background()
	if err := root.MakeBucket(ctx, "logged", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, "logged", "k", bytes.NewReader([]byte("12345")), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := getAll(t, root, "logged", "k", minio.GetObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	user := userClient(t, srv, "nobody")
	if _, err := user.PutObject(ctx, "logged", "evil", strings.NewReader("x"), 1, minio.PutObjectOptions{}); code(err) != "AccessDenied" {
		t.Fatalf("user without policy wrote: %v", err)
	}

	var recs []audit.Record
	if err := srv.AuditLog().Query(ctx, audit.Filter{Bucket: "logged"}, func(r audit.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var put, denied, get bool
	for _, r := range recs {
		switch {
		case r.Action == "PutObject" && r.Identity == "root" && r.Key == "k" && r.Status == 200 && r.BytesIn > 0:
			put = true
		case r.Action == "PutObject" && r.Identity == "user:nobody" && r.Status == 403 && r.Error == "AccessDenied" && r.Reason != "":
			denied = true
		case r.Action == "GetObject":
			get = true
		}
	}
	if !put || !denied || get {
		t.Fatalf("audit records %+v: root put %v, denied put %v, get (must not be) %v", recs, put, denied, get)
	}

	tok, _ := mintToken(t, srv, iam.ScopeMetricsRead)
	resp, body := scrape(t, srv, "GET", "Bearer "+tok)
	for _, want := range []string{`api="PutObject"`, `code="403"`, `api="GetObject"`} {
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Fatalf("/metrics (%d) lacks %s", resp.StatusCode, want)
		}
	}
	// The admission bound is on by default, sized from memory.
	if !strings.Contains(body, "objstore_requests_limit ") || strings.Contains(body, "objstore_requests_limit 0\n") {
		t.Fatalf("/metrics: no admission bound:\n%s", body)
	}

	dir := srv.AuditLog().Dir()
	if err := srv.AuditLog().Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("verify before tampering: %+v, %v", rep, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no audit files")
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite an early record (the last one has no successor to betray
	// it; anchors cover that case, see package audit).
	forged := bytes.Replace(b, []byte(`"CreateBucket"`), []byte(`"DeleteBucket"`), 1)
	if bytes.Equal(forged, b) {
		t.Fatal("CreateBucket record not found in the file")
	}
	if err := os.WriteFile(files[0], forged, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Issues) == 0 || rep.Issues[0].Kind != audit.IssueModified {
		t.Fatalf("tampered log verified: %+v", rep)
	}
}
