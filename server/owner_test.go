package server

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/iam"
)

// TestOwnerIsTheAccount: every caller sees one Owner ID for the buckets,
// objects and uploads the server holds, and the ID outlives a restart
// under other root credentials. It was derived from the caller's access
// key: root and an IAM user saw two owners of one bucket. The Initiator
// of the upload the user started is the user, as AWS names it (the
// user's ARN and name), the same after the restart; it was the account.
func TestOwnerIsTheAccount(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, root := startServerWith(t, Config{DataDir: dir})
	user := userClient(t, srv, "owner-reader", iam.PolicyReadWrite)
	if err := root.MakeBucket(ctx, "owned", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := user.PutObject(ctx, "owned", "k", nil, 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := (&minio.Core{Client: user}).NewMultipartUpload(ctx, "owned", "up", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	owners := func(c *minio.Client) []string {
		t.Helper()
		core := &minio.Core{Client: c}
		lr, err := core.ListObjectsV2("owned", "", "", "", "", 10) // fetch-owner=true
		if err != nil || len(lr.Contents) != 1 {
			t.Fatalf("list: %+v, %v", lr, err)
		}
		ur, err := core.ListMultipartUploads(ctx, "owned", "", "", "", "", 10)
		if err != nil || len(ur.Uploads) != 1 {
			t.Fatalf("uploads: %+v, %v", ur, err)
		}
		u := ur.Uploads[0]
		return []string{lr.Contents[0].Owner.ID, u.Owner.ID, u.Initiator.ID, u.Initiator.DisplayName}
	}
	want := owners(root)[0]
	if len(want) != 64 {
		t.Fatalf("owner id %q", want)
	}
	initiator := owners(root)[2]
	if !regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:user/owner-reader$`).MatchString(initiator) {
		t.Fatalf("initiator %q, want the user's ARN", initiator)
	}
	for _, c := range []*minio.Client{root, user} {
		if got := owners(c); got[0] != want || got[1] != want || got[2] != initiator || got[3] != "owner-reader" {
			t.Fatalf("owner ids %q, want %q as owner and %q, owner-reader as initiator", got, want, initiator)
		}
	}
	ctxc, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Close(ctxc); err != nil {
		t.Fatal(err)
	}
	_, root2 := startServerWith(t, Config{DataDir: dir, RootUser: "otherroot", RootPassword: "other-root-secret-1234"})
	if got := owners(root2); got[0] != want || got[1] != want || got[2] != initiator {
		t.Fatalf("after a restart under other credentials: %q, want %q", got, want)
	}
	// Another cluster is another owner.
	_, other := startServer(t)
	if err := other.MakeBucket(ctx, "owned", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.PutObject(ctx, "owned", "k", nil, 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := (&minio.Core{Client: other}).NewMultipartUpload(ctx, "owned", "up", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := owners(other); got[0] == want {
		t.Fatalf("two clusters share the owner id %q", want)
	}
}
