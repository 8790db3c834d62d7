package s3api

import (
	"context"
	"encoding/xml"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/iam"
)

// TestUploadInitiator: an upload an IAM user started names the user as
// its Initiator, as AWS does (ID the user's ARN, DisplayName the user
// name), in ListMultipartUploads and ListParts; one root started names
// the account, as its Owner; Owner is the account either way. Before,
// every Initiator was the account.
func TestUploadInitiator(t *testing.T) {
	store := newFakeStore()
	pol, err := iam.ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{
		Store:       store,
		Credentials: func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey },
		Identities:  staticIdentities{"USERKEY": {"user-secret", "alice"}},
		Authorizer:  iam.NewEngine(formUserPolicies{"alice": {{Name: "rw", Policy: pol}}}, iam.EngineOptions{}),
		Logger:      slog.New(slog.DiscardHandler),
		Account:     "cluster-0001",
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, srv: httptest.NewServer(h), store: store}
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(testAccessKey, testSecretKey)
	e.mustMakeBucket("init")
	ctx := context.Background()
	alice := &minio.Core{Client: e.newClient("USERKEY", "user-secret")}
	root := &minio.Core{Client: e.client}
	rootUp, err := root.NewMultipartUpload(ctx, "init", "by-root", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	aliceUp, err := alice.NewMultipartUpload(ctx, "init", "by-alice", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	account := accountOwner("cluster-0001")
	arn := regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:user/alice$`)

	resp, out := e.do(rawRequest{method: "GET", path: "/init?uploads"})
	var lu listMultipartUploadsResult
	if err := xml.Unmarshal(out, &lu); err != nil || resp.StatusCode != 200 || len(lu.Uploads) != 2 {
		t.Fatalf("ListMultipartUploads %d %s: %v", resp.StatusCode, out, err)
	}
	byKey := map[string]uploadItem{}
	for _, u := range lu.Uploads {
		byKey[u.Key] = u
	}
	var aliceID string
	if u := byKey["by-alice"]; !arn.MatchString(u.Initiator.ID) || u.Initiator.DisplayName != "alice" || u.Owner != account {
		t.Errorf("alice's upload: Initiator %+v Owner %+v, want alice's ARN and name, the account %+v", u.Initiator, u.Owner, account)
	} else {
		aliceID = u.Initiator.ID
	}
	// The ARN names alice where bucket policies take principals.
	bp, err := iam.ParseBucketPolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"AWS":"`+aliceID+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::init/*"}]}`), "init")
	if err != nil {
		t.Errorf("a policy naming %q: %v", aliceID, err)
	} else if !slices.Equal(bp.UserNames(), []string{"alice"}) {
		t.Errorf("a policy naming %q names %v", aliceID, bp.UserNames())
	}
	if u := byKey["by-root"]; u.Initiator != account || u.Owner != account {
		t.Errorf("root's upload: Initiator %+v Owner %+v, want the account %+v", u.Initiator, u.Owner, account)
	}

	for _, tt := range []struct {
		key, id string
		want    owner
	}{
		{"by-alice", aliceUp, owner{ID: aliceID, DisplayName: "alice"}},
		{"by-root", rootUp, account},
	} {
		resp, out := e.do(rawRequest{method: "GET", path: "/init/" + tt.key + "?uploadId=" + tt.id})
		var lp listPartsResult
		if err := xml.Unmarshal(out, &lp); err != nil || resp.StatusCode != 200 {
			t.Fatalf("ListParts %d %s: %v", resp.StatusCode, out, err)
		}
		if lp.Initiator != tt.want || lp.Owner != account {
			t.Errorf("ListParts of %s: Initiator %+v Owner %+v, want %+v and %+v", tt.key, lp.Initiator, lp.Owner, tt.want, account)
		}
	}
}
