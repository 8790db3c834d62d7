package server

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestBucketPolicyNameReuse: a bucket policy's grant to a user does not
// pass to a new user given the name of a deleted one, as in AWS (which
// keeps the user's unique id), not even when the policy is read and
// written back; naming the user again grants the new one.
func TestBucketPolicyNameReuse(t *testing.T) {
	ctx := context.Background()
	srv, root := startServer(t)
	if err := root.MakeBucket(ctx, "shared", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, "shared", "o", bytes.NewReader([]byte("data")), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	eve := userClient(t, srv, "eve")
	amy := userClient(t, srv, "amy")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Principal":{"AWS":["arn:aws:iam::123456789012:user/eve","arn:aws:iam::123456789012:user/amy"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	if err := root.SetBucketPolicy(ctx, "shared", policy); err != nil {
		t.Fatal(err)
	}
	read := func(c *minio.Client) error {
		o, err := c.GetObject(ctx, "shared", "o", minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer o.Close()
		_, err = io.ReadAll(o)
		return err
	}
	if err := read(eve); err != nil {
		t.Fatalf("eve, named by the policy: %v", err)
	}
	if err := srv.IAM().DeleteUser(ctx, "eve"); err != nil {
		t.Fatal(err)
	}
	newEve := userClient(t, srv, "eve")
	if err := read(newEve); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("a new user named eve: %v, want AccessDenied", err)
	}
	// GetBucketPolicy shows the old eve by her unique id, as AWS shows a
	// deleted user; written back as read, it still grants nothing.
	shown, err := root.GetBucketPolicy(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(shown, "user/eve") || !strings.Contains(shown, `"AIDA`) || !strings.Contains(shown, "user/amy") {
		t.Fatalf("policy shown as %s (want eve by id, amy, who still exists, by name)", shown)
	}
	if err := root.SetBucketPolicy(ctx, "shared", shown); err != nil {
		t.Fatalf("writing back the policy as read: %v", err)
	}
	if err := read(newEve); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("new eve after a read-modify-write: %v, want AccessDenied", err)
	}
	if err := read(amy); err != nil {
		t.Fatalf("amy after a read-modify-write: %v", err)
	}
	// Naming eve again grants the eve who exists now.
	if err := root.SetBucketPolicy(ctx, "shared", policy); err != nil {
		t.Fatal(err)
	}
	if err := read(newEve); err != nil {
		t.Fatalf("the new eve once the policy names her again: %v", err)
	}
	// A Deny naming a user who is gone still reads back by name and can
	// be written back: it binds nobody.
	withDeny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Principal":{"AWS":"arn:aws:iam::123456789012:user/amy"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"},
	 {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/dan"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	userClient(t, srv, "dan")
	if err := root.SetBucketPolicy(ctx, "shared", withDeny); err != nil {
		t.Fatal(err)
	}
	if err := srv.IAM().DeleteUser(ctx, "dan"); err != nil {
		t.Fatal(err)
	}
	shown, err = root.GetBucketPolicy(ctx, "shared")
	if err != nil || !strings.Contains(shown, "user/dan") {
		t.Fatalf("policy with a Deny on a gone user shown as %s, %v", shown, err)
	}
	if err := root.SetBucketPolicy(ctx, "shared", shown); err != nil {
		t.Fatalf("writing back a Deny on a gone user: %v", err)
	}
	// An Allow naming a user who does not exist is an invalid principal,
	// as in AWS.
	ghost := strings.ReplaceAll(policy, "user/eve", "user/ghost")
	if err := root.SetBucketPolicy(ctx, "shared", ghost); minio.ToErrorResponse(err).Code != "MalformedPolicy" {
		t.Fatalf("policy naming no user: %v, want MalformedPolicy", err)
	}
}
