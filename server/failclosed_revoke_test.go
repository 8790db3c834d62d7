package server

import (
	"context"
	"errors"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/iam"
)

// TestFailClosedAllowsRevocation: with --audit-fail-closed and the log
// stopped (a full audit disk, which any user with a key can cause:
// their denials are fsynced one by one), the operator can still disable
// a compromised access key or user, and the key stops working. Before,
// those changes were refused with 503 like any other, and the key's
// reads went on being served.
func TestFailClosedAllowsRevocation(t *testing.T) {
	srv, root := startServerWith(t, Config{AuditFailClosed: true})
	ctx := context.Background()
	if err := root.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.IAM().CreateUser(ctx, "mallory", "readonly"); err != nil {
		t.Fatal(err)
	}
	k, err := srv.IAM().CreateAccessKey(ctx, "mallory", iam.AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mallory := clientFor(t, srv, credentials.NewStaticV4(k.ID, k.Secret, ""))
	list := func() error {
		for o := range mallory.ListObjects(ctx, "photos", minio.ListObjectsOptions{}) {
			return o.Err
		}
		return nil
	}
	if err := list(); err != nil {
		t.Fatal(err)
	}
	user, secret := srv.Credentials()
	rc := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
	srv.auditFailed = func() error { return errors.New("audit: write failed: no space left on device") }
	if err := rc.Do(ctx, "POST", "/keys/"+k.ID+"/disable", nil, nil); err != nil {
		t.Errorf("disabling a compromised access key with the log stopped: %v", err)
	}
	if err := rc.Do(ctx, "POST", "/users/mallory/disable", nil, nil); err != nil {
		t.Errorf("disabling a compromised user with the log stopped: %v", err)
	}
	if err := list(); code(err) != "InvalidAccessKeyId" {
		t.Errorf("the disabled key's request = %v, want InvalidAccessKeyId", err)
	}
	var ae *admin.Error
	if err := rc.Do(ctx, "POST", "/keys/"+k.ID+"/enable", nil, nil); !errors.As(err, &ae) || ae.Code != "AuditUnavailable" {
		t.Errorf("enabling the key again with the log stopped: %v, want 503 AuditUnavailable", err)
	}
}
