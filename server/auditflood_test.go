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
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/audit"
)

// startStillAggregator starts a server whose audit aggregator's clock
// stands still, so that a whole test falls in one interval.
func startStillAggregator(t *testing.T) (*Server, *minio.Client) {
	t.Helper()
	still := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	return startServerWith(t, Config{aggregateOptions: func(o *audit.AggregateOptions) {
		o.Now = func() time.Time { return still }
	}})
}

// TestAuditFloodAggregated: refusals of unauthenticated callers (no
// signature, a bad one, no admin credentials) from one source are
// recorded one by one for the first three of the interval and counted
// in summary records after that; a user's denials are recorded each.
// The log verifies with the summaries in it, and every request is in a
// record or a count. This is the audit's reproduction: anonymous
// DELETEs of a 1,024-byte key.
func TestAuditFloodAggregated(t *testing.T) {
	srv, root := startStillAggregator(t)
	ctx := context.Background()
	if err := root.MakeBucket(ctx, "secret", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("k", 1024)
	send := func(method, path string, n int) {
		t.Helper()
		for range n {
			req, _ := http.NewRequest(method, "http://"+srv.Addr()+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s %s = %d, want a refusal", method, path, resp.StatusCode)
			}
		}
	}
	send("DELETE", "/secret/"+key, 20)
	user, _ := srv.Credentials()
	forged := clientFor(t, srv, credentials.NewStaticV4(user, "not-the-secret", ""))
	for range 5 {
		if err := forged.RemoveObject(ctx, "secret", "k", minio.RemoveObjectOptions{}); code(err) != "SignatureDoesNotMatch" {
			t.Fatalf("DELETE with a bad signature = %v", err)
		}
	}
	send("POST", "/admin/v1/users", 6)
	nobody := userClient(t, srv, "nobody")
	for range 4 {
		if err := nobody.RemoveObject(ctx, "secret", "k", minio.RemoveObjectOptions{}); code(err) != "AccessDenied" {
			t.Fatalf("DELETE by a user without policies = %v", err)
		}
	}
	if err := srv.Close(ctx); err != nil { // writes the summaries
		t.Fatal(err)
	}

	dir := filepath.Join(srv.cfg.DataDir, auditDir)
	var got []string
	err := audit.Query(ctx, dir, audit.Filter{}, func(r audit.Record) error {
		if r.Identity == audit.Root || r.Action == "admin:CreateUser" && r.Status == 200 {
			return nil // the test's own setup
		}
		if s, err := audit.ParseSummary(r); err == nil {
			got = append(got, fmt.Sprintf("summary %s %s %s %d", r.Source, r.Action, r.Error, s.Count))
			return nil
		}
		got = append(got, fmt.Sprintf("%s %s %s", r.Identity, r.Action, r.Error))
		if r.Identity == audit.Anonymous && (len(r.Key) != len(key) || len(r.Reason) > 200) {
			t.Errorf("anonymous denial: key of %d bytes, reason of %d: %q", len(r.Key), len(r.Reason), r.Reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"anonymous DeleteObject AccessDenied", "anonymous DeleteObject AccessDenied", "anonymous DeleteObject AccessDenied",
		"user:nobody DeleteObject AccessDenied", "user:nobody DeleteObject AccessDenied",
		"user:nobody DeleteObject AccessDenied", "user:nobody DeleteObject AccessDenied",
		"summary 127.0.0.1 DeleteObject AccessDenied 17", "summary 127.0.0.1 DeleteObject SignatureDoesNotMatch 5",
		"summary 127.0.0.1 admin:CreateUser Unauthorized 6",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rep, err := audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil || !rep.OK() || len(rep.Issues) != 0 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
