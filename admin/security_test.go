package admin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/server"
)

// send does req and returns the response with its body read.
func send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// handlerOver returns a second admin Handler over srv's IAM store, object
// layer and audit log, to serve requests with any remote address.
func handlerOver(t *testing.T, srv *server.Server) *admin.Handler {
	t.Helper()
	h, err := admin.New(admin.Config{IAM: srv.IAM(), Store: srv.Store(), Audit: srv.AuditLog(), Root: srv.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// auditRecords returns the audit records matching query (as in GET
// /audit?...).
func auditRecords(t *testing.T, root *admin.Client, query string) []admin.AuditRecord {
	t.Helper()
	var page admin.AuditPage
	if err := root.Do(context.Background(), "GET", "/audit?"+query, nil, &page); err != nil {
		t.Fatal(err)
	}
	return page.Records
}

// TestTransportOfCredentials: tokens, like the root credentials, are
// accepted only over TLS or from the loopback interface; the scheme's
// case does not matter.
func TestTransportOfCredentials(t *testing.T) {
	srv, base := start(t)
	root := rootClient(srv, base)
	tok := mint(t, root, "1h", "status:read")
	user, secret := srv.Credentials()
	h := handlerOver(t, srv)
	tests := []struct {
		name   string
		remote string
		tls    bool
		authz  string
		status int
		code   string
	}{
		{"token from a remote address", "192.0.2.7:40000", false, "Bearer " + tok.Secret, 401, "InsecureTransport"},
		{"token from a remote IPv6 address", "[2001:db8::7]:40000", false, "Bearer " + tok.Secret, 401, "InsecureTransport"},
		{"unknown token from a remote address", "192.0.2.7:40000", false, "Bearer ost_0000000000000000_x", 401, "InsecureTransport"},
		{"token over TLS from a remote address", "192.0.2.7:40000", true, "Bearer " + tok.Secret, 200, ""},
		{"token from 127.0.0.1", "127.0.0.1:40000", false, "Bearer " + tok.Secret, 200, ""},
		{"token from ::1", "[::1]:40000", false, "Bearer " + tok.Secret, 200, ""},
		{"root from a remote address", "192.0.2.7:40000", false, "Basic " + basic(user, secret), 401, "InsecureTransport"},
		{"root over TLS from a remote address", "192.0.2.7:40000", true, "Basic " + basic(user, secret), 200, ""},
		{"lower-case bearer", "127.0.0.1:40000", false, "bearer " + tok.Secret, 200, ""},
		{"upper-case bearer", "127.0.0.1:40000", false, "BEARER " + tok.Secret, 200, ""},
		{"other scheme", "127.0.0.1:40000", false, "Token " + tok.Secret, 401, "Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", admin.Prefix+"/heal/status", nil)
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r.Header.Set("Authorization", tt.authz)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var e admin.Error
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			if w.Code != tt.status || e.Code != tt.code {
				t.Fatalf("%d %s, want %d %s: %s", w.Code, e.Code, tt.status, tt.code, w.Body)
			}
		})
	}
	// The genuine token sent in clear is named in the audit record, so
	// that the operator knows which one to revoke.
	var found bool
	for _, r := range auditRecords(t, root, "identity="+audit.AdminToken(tok.ID)) {
		found = found || (r.Status == 401 && r.Error == "InsecureTransport" && r.Source == "192.0.2.7")
	}
	if !found {
		t.Fatal("no InsecureTransport record names the token sent in clear")
	}
}

func basic(user, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, secret)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// TestRefusedTokensAudited: uses of an expired or revoked token are
// audited under the token's identity, not as anonymous.
func TestRefusedTokensAudited(t *testing.T) {
	srv, base := start(t)
	ctx := context.Background()
	root := rootClient(srv, base)
	short := mint(t, root, "1s", "status:read")
	revoked := mint(t, root, "1h", "status:read")
	if err := root.Do(ctx, "DELETE", "/tokens/"+revoked.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, (&admin.Client{URL: base, Token: revoked.Secret}).Do(ctx, "GET", "/cluster", nil, nil), 401, "TokenRevoked")
	time.Sleep(1100 * time.Millisecond)
	wantCode(t, (&admin.Client{URL: base, Token: short.Secret}).Do(ctx, "GET", "/cluster", nil, nil), 401, "TokenExpired")
	for _, tc := range []struct{ id, code string }{{revoked.ID, "TokenRevoked"}, {short.ID, "TokenExpired"}} {
		var found bool
		for _, r := range auditRecords(t, root, "identity="+audit.AdminToken(tc.id)) {
			found = found || (r.Status == 401 && r.Error == tc.code)
		}
		if !found {
			t.Errorf("no %s record under %s", tc.code, audit.AdminToken(tc.id))
		}
	}
}

// TestContentTypeRequired: a body must be declared as JSON, so that a
// cross-site form (text/plain, urlencoded, multipart) never reaches a
// route, even with Basic credentials a browser would add.
func TestContentTypeRequired(t *testing.T) {
	srv, base := start(t)
	user, secret := srv.Credentials()
	tests := []struct {
		name, contentType string
		status            int
	}{
		{"text/plain", "text/plain", 415},
		{"form", "application/x-www-form-urlencoded", 415},
		{"multipart", "multipart/form-data; boundary=x", 415},
		{"none", "", 415},
		{"json look-alike", "application/jsonp", 415},
		{"malformed", "application/json; =", 415},
		{"json", "application/json", 201},
		{"json with charset", "application/json; charset=utf-8", 201},
		{"json in capitals", "Application/JSON", 201},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "ct" + string(rune('a'+i))
			req, _ := http.NewRequest("POST", base+admin.Prefix+"/users", strings.NewReader(`{"name":"`+name+`"}`))
			req.SetBasicAuth(user, secret)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, body := send(t, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			_, err := srv.IAM().User(name)
			if created := err == nil; created != (tt.status == 201) {
				t.Fatalf("user created: %v after %d", created, resp.StatusCode)
			}
			if tt.status == 415 && !strings.Contains(string(body), `"UnsupportedMediaType"`) {
				t.Fatalf("body %s", body)
			}
		})
	}
}

// TestAuditDetails: admin changes record what they changed, never a
// secret.
func TestAuditDetails(t *testing.T) {
	srv, base := start(t)
	ctx := context.Background()
	root := rootClient(srv, base)
	nt := mint(t, root, "1h", "identity:write")
	ident := &admin.Client{URL: base, Token: nt.Secret}
	if err := ident.Do(ctx, "POST", "/users", admin.CreateUserRequest{Name: "alice", Policies: []string{"readonly"}}, nil); err != nil {
		t.Fatal(err)
	}
	var nk admin.NewAccessKey
	if err := ident.Do(ctx, "POST", "/users/alice/keys", nil, &nk); err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::team/*"}]}`)
	if err := ident.Do(ctx, "PUT", "/policies/team", doc, nil); err != nil {
		t.Fatal(err)
	}
	if err := ident.Do(ctx, "PUT", "/users/alice/policies", admin.PoliciesRequest{Policies: []string{"team", "readonly"}}, nil); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	tests := []struct {
		action string
		want   []string
	}{
		{"MintToken", []string{"token " + nt.ID, `name "test"`, `scopes ["identity:write"]`, "expires " + nt.Expires.UTC().Format(time.RFC3339)}},
		{"CreateUser", []string{`user "alice"`, `policies ["readonly"]`}},
		{"CreateAccessKey", []string{"access key " + nk.ID, `user "alice"`}},
		{"PutPolicy", []string{`policy "team"`, "sha256 " + hex.EncodeToString(sum[:])}},
		{"SetUserPolicies", []string{`user "alice"`, `policies ["team" "readonly"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			rs := auditRecords(t, root, "action=admin:"+tt.action)
			if len(rs) == 0 {
				t.Fatal("no record")
			}
			got := rs[len(rs)-1].Reason
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("reason %q lacks %q", got, w)
				}
			}
		})
	}
	resp, err := root.Open(ctx, "GET", "/audit/export", nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(all, []byte(nk.Secret)) || bytes.Contains(all, []byte(nt.Secret[len(nt.Secret)-43:])) {
		t.Fatal("a secret is in the audit log")
	}
}

// TestMintTokenExpiry: a token lives at most iam.MaxTokenLifetime, and
// a request naming both a ttl and an expiry is refused, not half read.
func TestMintTokenExpiry(t *testing.T) {
	srv, base := start(t)
	ctx := context.Background()
	root := rootClient(srv, base)
	mintReq := func(req admin.MintRequest) error {
		req.Name, req.Scopes = "t", []string{"status:read"}
		return root.Do(ctx, "POST", "/tokens", req, nil)
	}
	soon := time.Now().Add(time.Hour)
	wantCode(t, mintReq(admin.MintRequest{TTL: "1h", Expires: soon}), 400, "InvalidRequest")
	wantCode(t, mintReq(admin.MintRequest{TTL: "2161h"}), 400, "InvalidExpiry")
	wantCode(t, mintReq(admin.MintRequest{Expires: time.Now().Add(91 * 24 * time.Hour)}), 400, "InvalidExpiry")
	for _, req := range []admin.MintRequest{{TTL: "2159h"}, {Expires: soon}} {
		if err := mintReq(req); err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
	}
}

// TestRotateInvalidKeyID: an id that creation would refuse is a bad
// request on rotation too, not an internal error.
func TestRotateInvalidKeyID(t *testing.T) {
	srv, base := start(t)
	root := rootClient(srv, base)
	for _, id := range []string{"bad~id", strings.Repeat("k", 300)} {
		wantCode(t, root.Do(context.Background(), "POST", "/kms/keys/"+id+"/rotate", nil, nil), 400, "InvalidRequest")
	}
}

// TestBrowserRequestsRefused: a request a browser sends for a web page
// (Origin, Sec-Fetch-Site) is refused before its credentials are looked
// at, bodiless state changes included, which no Content-Type rule
// catches; the user's own navigation (Sec-Fetch-Site: none) and
// non-browser clients are not.
func TestBrowserRequestsRefused(t *testing.T) {
	srv, base := start(t)
	user, secret := srv.Credentials()
	if _, err := srv.IAM().CreateUser(context.Background(), "victim"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"cross-site form", map[string]string{"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}, 403},
		{"fetch without a body", map[string]string{"Origin": "http://evil.example"}, 403},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"cross-site, no Origin", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"typed by the user", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"CLI or curl", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", base+admin.Prefix+"/users/victim/disable", nil)
			req.SetBasicAuth(user, secret)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, body := send(t, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			u, err := srv.IAM().User("victim")
			if err != nil {
				t.Fatal(err)
			}
			if disabled := !u.Enabled; disabled != (tt.status == 200) {
				t.Fatalf("user disabled: %t after %d", disabled, resp.StatusCode)
			}
			if err := srv.IAM().SetUserEnabled(context.Background(), "victim", true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBrowserRefusedBeforeCredentials: a browser request is refused as
// such (403) even with wrong credentials, before they are looked at.
func TestBrowserRefusedBeforeCredentials(t *testing.T) {
	_, base := start(t)
	req, _ := http.NewRequest("POST", base+admin.Prefix+"/users/nobody/disable", nil)
	req.SetBasicAuth("wrong", "credentials")
	req.Header.Set("Origin", "http://evil.example")
	resp, body := send(t, req)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "web pages") {
		t.Fatalf("%d %s, want 403 for the browser request", resp.StatusCode, body)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, é ✓": "plain text, é ✓",
		"\x1b]0;PWNED\a":  `"\x1b]0;PWNED\a"`,
		"two\nlines":      `"two\nlines"`,
		`"looks quoted"`:  `"\"looks quoted\""`,
		"bad utf-8 \xff":  `"bad utf-8 \xff"`,
		"zero\u200bwidth": `"zero\u200bwidth"`,
		"":                "",
	} {
		if got := admin.Printable(in); got != want {
			t.Errorf("Printable(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestBucketLocationChecked: the admin API takes the same region-like
// locations as CreateBucket over S3 (they come back in headers).
func TestBucketLocationChecked(t *testing.T) {
	srv, base := start(t)
	user, secret := srv.Credentials()
	for i, tc := range []struct {
		location string
		status   int
	}{
		{"eu-central-1", 201},
		{"../../etc <script>\u0000", 400},
		{"a\r\nX-Evil: 1", 400},
		{strings.Repeat("x", 65), 400},
	} {
		loc, _ := json.Marshal(tc.location)
		body := fmt.Sprintf(`{"name":"location-%d","location":%s}`, i, loc)
		req, _ := http.NewRequest("POST", base+admin.Prefix+"/buckets", strings.NewReader(body))
		req.SetBasicAuth(user, secret)
		req.Header.Set("Content-Type", "application/json")
		if resp, out := send(t, req); resp.StatusCode != tc.status {
			t.Fatalf("location %q: %d %s, want %d", tc.location, resp.StatusCode, out, tc.status)
		}
	}
}
