package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/server"
)

func start(t *testing.T) (*server.Server, string) {
	t.Helper()
	srv, err := server.Start(context.Background(), server.Config{Address: "127.0.0.1:0", DataDir: t.TempDir(), DataShards: 2, ParityShards: 1, Zones: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	return srv, "http://" + srv.Addr()
}

func rootClient(srv *server.Server, base string) *admin.Client {
	u, s := srv.Credentials()
	return &admin.Client{URL: base, RootUser: u, RootSecret: s}
}

func mint(t *testing.T, root *admin.Client, ttl string, scopes ...string) admin.NewToken {
	t.Helper()
	var nt admin.NewToken
	if err := root.Do(context.Background(), "POST", "/tokens", admin.MintRequest{Name: "test", Scopes: scopes, TTL: ttl}, &nt); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(nt.Secret, "ost_") || nt.ID == "" {
		t.Fatalf("minted %+v", nt.Token)
	}
	return nt
}

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *admin.Error
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code || ae.RequestID == "" || ae.Message == "" {
		t.Fatalf("error %v, want %d %s with a message and request id", err, status, code)
	}
}

func TestAdminAPI(t *testing.T) {
	srv, base := start(t)
	ctx := context.Background()
	root := rootClient(srv, base)

	t.Run("OpenAPI document served without auth", func(t *testing.T) {
		resp, err := http.Get(base + "/admin/v1/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || doc["openapi"] == nil {
			t.Fatalf("%d %v %v", resp.StatusCode, err, doc["openapi"])
		}
	})

	status := &admin.Client{URL: base, Token: mint(t, root, "1h", "status:read").Secret}
	ident := &admin.Client{URL: base, Token: mint(t, root, "1h", "identity:write").Secret}

	t.Run("errors", func(t *testing.T) {
		wantCode(t, (&admin.Client{URL: base}).Do(ctx, "GET", "/cluster", nil, nil), 401, "Unauthorized")
		wantCode(t, (&admin.Client{URL: base, Token: "ost_0000000000000000_bogus"}).Do(ctx, "GET", "/cluster", nil, nil), 401, "Unauthorized")
		wantCode(t, (&admin.Client{URL: base, RootUser: "x", RootSecret: "y"}).Do(ctx, "GET", "/cluster", nil, nil), 401, "Unauthorized")
		wantCode(t, status.Do(ctx, "GET", "/nowhere", nil, nil), 404, "NotFound")
		wantCode(t, status.Do(ctx, "PATCH", "/users", nil, nil), 405, "MethodNotAllowed")
		wantCode(t, ident.Do(ctx, "GET", "/users/ghost", nil, nil), 404, "NoSuchUser")
		wantCode(t, ident.Do(ctx, "POST", "/users", []byte(`{"name":"x","bogus":1}`), nil), 400, "InvalidRequest")
		wantCode(t, ident.Do(ctx, "PUT", "/policies/bad", []byte(`{"Statement":[{"Effect":"Maybe"}]}`), nil), 400, "MalformedPolicy")
	})

	t.Run("scopes enforced", func(t *testing.T) {
		var cl admin.Cluster
		if err := status.Do(ctx, "GET", "/cluster", nil, &cl); err != nil || !cl.Ready || len(cl.Sets) != 1 || len(cl.Sets[0]) != 3 || !cl.Sets[0][0].Online || cl.Sets[0][0].State != "online" || cl.Sets[0][0].Total == 0 {
			t.Fatalf("cluster %+v, %v", cl, err)
		}
		var zs []admin.Zone
		if err := status.Do(ctx, "GET", "/zones", nil, &zs); err != nil || len(zs) != 1 || zs[0].Online != 3 {
			t.Fatalf("zones %+v, %v", zs, err)
		}
		wantCode(t, status.Do(ctx, "POST", "/users", admin.CreateUserRequest{Name: "eve"}, nil), 403, "Forbidden")
		wantCode(t, status.Do(ctx, "GET", "/users", nil, nil), 403, "Forbidden")
		wantCode(t, ident.Do(ctx, "GET", "/cluster", nil, nil), 403, "Forbidden")
		// identity:write implies identity:read.
		if err := ident.Do(ctx, "GET", "/users", nil, &[]admin.User{}); err != nil {
			t.Fatal(err)
		}
		// Only root mints.
		wantCode(t, ident.Do(ctx, "POST", "/tokens", admin.MintRequest{Name: "x", Scopes: []string{"audit:read"}, TTL: "1h"}, nil), 403, "Forbidden")
	})

	t.Run("users, keys and policies", func(t *testing.T) {
		var u admin.User
		if err := ident.Do(ctx, "POST", "/users", admin.CreateUserRequest{Name: "alice", Policies: []string{"readonly"}}, &u); err != nil || !u.Enabled {
			t.Fatalf("%+v %v", u, err)
		}
		wantCode(t, ident.Do(ctx, "POST", "/users", admin.CreateUserRequest{Name: "alice"}, nil), 409, "UserExists")
		var nk admin.NewAccessKey
		if err := ident.Do(ctx, "POST", "/users/alice/keys", nil, &nk); err != nil || len(nk.Secret) < 40 {
			t.Fatalf("new key %v", err)
		}
		resp, err := ident.Open(ctx, "GET", "/users/alice/keys", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), nk.Secret) || !strings.Contains(string(body), nk.ID) {
			t.Fatalf("key listing shows the secret or lacks the key: %s", body)
		}
		var k admin.AccessKey
		if err := ident.Do(ctx, "POST", "/keys/"+nk.ID+"/disable", nil, &k); err != nil || k.Enabled {
			t.Fatalf("disable: %+v %v", k, err)
		}
		if err := ident.Do(ctx, "PUT", "/policies/team", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::team/*"}]}`), nil); err != nil {
			t.Fatal(err)
		}
		if err := ident.Do(ctx, "PUT", "/users/alice/policies", admin.PoliciesRequest{Policies: []string{"team"}}, &u); err != nil || len(u.Policies) != 1 {
			t.Fatalf("%+v %v", u, err)
		}
		wantCode(t, ident.Do(ctx, "DELETE", "/policies/team", nil, nil), 409, "PolicyInUse")
		if err := ident.Do(ctx, "DELETE", "/keys/"+nk.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := ident.Do(ctx, "DELETE", "/users/alice", nil, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("buckets and heal", func(t *testing.T) {
		all := &admin.Client{URL: base, Token: mint(t, root, "1h", "buckets:write", "heal:write").Secret}
		var b admin.Bucket
		if err := all.Do(ctx, "POST", "/buckets", admin.CreateBucketRequest{Name: "photos", Quota: 1 << 30, Settings: map[string]string{"team": "x"}}, &b); err != nil || b.Quota != 1<<30 {
			t.Fatalf("%+v %v", b, err)
		}
		if err := all.Do(ctx, "GET", "/buckets/photos", nil, &b); err != nil || b.Settings["team"] != "x" {
			t.Fatalf("%+v %v", b, err)
		}
		wantCode(t, all.Do(ctx, "POST", "/buckets", admin.CreateBucketRequest{Name: "photos"}, nil), 409, "BucketExists")
		var hs admin.HealStatus
		if err := all.Do(ctx, "POST", "/heal/start", nil, &hs); err != nil {
			t.Fatal(err)
		}
		if err := all.Do(ctx, "GET", "/heal/status", nil, &hs); err != nil || hs.Pass < 1 {
			t.Fatalf("%+v %v", hs, err)
		}
		if err := all.Do(ctx, "POST", "/heal/stop", nil, &hs); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("expired and revoked tokens refused", func(t *testing.T) {
		short := mint(t, root, "1s", "status:read")
		revoked := mint(t, root, "1h", "status:read")
		if err := root.Do(ctx, "DELETE", "/tokens/"+revoked.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		wantCode(t, (&admin.Client{URL: base, Token: revoked.Secret}).Do(ctx, "GET", "/cluster", nil, nil), 401, "TokenRevoked")
		time.Sleep(1100 * time.Millisecond)
		wantCode(t, (&admin.Client{URL: base, Token: short.Secret}).Do(ctx, "GET", "/cluster", nil, nil), 401, "TokenExpired")
	})

	t.Run("tokens cannot use the S3 API", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/photos", nil)
		req.Header.Set("Authorization", "Bearer "+status.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("S3 request with an admin token: %d", resp.StatusCode)
		}
	})

	t.Run("audit", func(t *testing.T) {
		auditor := &admin.Client{URL: base, Token: mint(t, root, "1h", "audit:read").Secret}
		var page admin.AuditPage
		if err := auditor.Do(ctx, "GET", "/audit?action=admin:CreateUser", nil, &page); err != nil {
			t.Fatal(err)
		}
		var ok, denied bool
		for _, r := range page.Records {
			ok = ok || (r.Status == 201 && strings.HasPrefix(r.Identity, "admin-token:"))
			denied = denied || (r.Status == 403 && r.Error == "Forbidden" && r.Reason != "")
		}
		if !ok || !denied {
			t.Fatalf("CreateUser records %+v", page.Records)
		}
		resp, err := auditor.Open(ctx, "GET", "/audit/export?identity="+audit.Root, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"admin:MintToken"`) || strings.Contains(string(body), "ost_") {
			t.Fatalf("export of root records: %s", body)
		}
		var v admin.AuditVerification
		if err := auditor.Do(ctx, "GET", "/audit/verify", nil, &v); err != nil || !v.OK || v.Records == 0 {
			t.Fatalf("verify %+v %v", v, err)
		}
	})
}

// TestClusterDriveStates: /cluster and /zones report a drive the store
// no longer counts, with the reason, and count it again once it is back.
func TestClusterDriveStates(t *testing.T) {
	srv, base := start(t)
	ctx := context.Background()
	root := rootClient(srv, base)
	path := srv.Store().Sets()[0][1].Path
	format := filepath.Join(path, "format.json")
	if err := os.Rename(format, format+".aside"); err != nil {
		t.Fatal(err)
	}
	var cl admin.Cluster
	if err := root.Do(ctx, "GET", "/cluster", nil, &cl); err != nil {
		t.Fatal(err)
	}
	if d := cl.Sets[0][1]; d.Online || d.State != "faulty" || !strings.Contains(d.Error, "format.json") {
		t.Fatalf("drive without its format.json: %+v", d)
	}
	if d := cl.Sets[0][0]; !d.Online || d.State != "online" || d.Error != "" {
		t.Fatalf("healthy drive: %+v", d)
	}
	var zs []admin.Zone
	if err := root.Do(ctx, "GET", "/zones", nil, &zs); err != nil || len(zs) != 1 || zs[0].Online != 2 {
		t.Fatalf("zones %+v, %v", zs, err)
	}
	if err := os.Rename(format+".aside", format); err != nil {
		t.Fatal(err)
	}
	if err := root.Do(ctx, "GET", "/cluster", nil, &cl); err != nil || cl.Sets[0][1].State != "online" {
		t.Fatalf("drive back: %+v, %v", cl.Sets[0][1], err)
	}
}
