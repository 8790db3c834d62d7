package admin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/iam"
)

// failingRecorder is an audit log that takes no record, as a stopped
// one.
type failingRecorder struct{}

func (failingRecorder) Append(context.Context, audit.Entry) error {
	return errors.New("audit: write failed: no space left on device")
}

// TestRevocationsServedWhileAuditStopped: with RefuseChanges refusing
// (--audit-fail-closed, the log stopped), changes that only take access
// away (disable or delete an access key or a user, revoke a token) are
// still served, so that a compromised credential can be stopped, and
// what they did goes to the server log, without secrets, since the
// audit log took no record. Other changes, enabling a key again
// included, are refused with 503 AuditUnavailable. Before, every change
// was refused, and the compromised key went on working.
func TestRevocationsServedWhileAuditStopped(t *testing.T) {
	srv, _ := start(t)
	ctx := context.Background()
	ids := srv.IAM()
	if _, err := ids.CreateUser(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.CreateUser(ctx, "eve"); err != nil {
		t.Fatal(err)
	}
	k1, err := ids.CreateAccessKey(ctx, "mallory", iam.AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ids.CreateAccessKey(ctx, "mallory", iam.AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok, info, err := ids.MintToken(ctx, iam.TokenOptions{Name: "leaked", Scopes: []string{iam.ScopeStatusRead}, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	h, err := admin.New(admin.Config{IAM: ids, Store: srv.Store(), Audit: srv.AuditLog(), Root: srv.Credentials,
		Recorder:      failingRecorder{},
		RefuseChanges: func() error { return errors.New("server: the audit log cannot record changes: disk full") },
		Logger:        slog.New(slog.NewJSONHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	user, secret := srv.Credentials()
	tests := []struct {
		method, path, action string
		status               int
	}{
		{"POST", "/keys/" + k1.ID + "/disable", "DisableAccessKey", 204},
		{"POST", "/keys/" + k1.ID + "/enable", "EnableAccessKey", 503},
		{"DELETE", "/keys/" + k2.ID, "DeleteAccessKey", 204},
		{"POST", "/users/eve/disable", "DisableUser", 204},
		{"POST", "/users/eve/enable", "EnableUser", 503},
		{"DELETE", "/users/mallory", "DeleteUser", 204},
		{"DELETE", "/tokens/" + info.ID, "RevokeToken", 204},
		{"POST", "/users", "CreateUser", 503},
		{"DELETE", "/policies/unused", "DeletePolicy", 503},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			var body *strings.Reader
			if tt.action == "CreateUser" {
				body = strings.NewReader(`{"name":"ann"}`)
			} else {
				body = strings.NewReader("")
			}
			r := httptest.NewRequest(tt.method, admin.Prefix+tt.path, body)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Authorization", "Basic "+basic(user, secret))
			r.Header.Set("Content-Type", "application/json")
			logged.Reset()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code/100 != tt.status/100 {
				t.Fatalf("%s %s with the log stopped = %d %s, want %d", tt.method, tt.path, w.Code, w.Body, tt.status)
			}
			if tt.status == 503 && !strings.Contains(w.Body.String(), "AuditUnavailable") {
				t.Fatalf("refused with %s, want AuditUnavailable", w.Body)
			}
			line := logged.String()
			if tt.status != 503 {
				for _, want := range []string{`"level":"ERROR"`, `"action":"admin:` + tt.action + `"`, `"path":"` + admin.Prefix + tt.path + `"`,
					`"request_id":"` + w.Header().Get("X-Request-Id") + `"`, `"identity":"root"`} {
					if !strings.Contains(line, want) {
						t.Errorf("server log %s lacks %s", line, want)
					}
				}
			}
			if strings.Contains(line, secret) || strings.Contains(line, tok) || strings.Contains(line, k1.Secret) {
				t.Errorf("server log holds a secret: %s", line)
			}
		})
	}
	if _, _, ok := ids.Secret(k1.ID); ok {
		t.Error("the disabled access key still works")
	}
	if _, _, ok := ids.Secret(k2.ID); ok {
		t.Error("the deleted access key still works")
	}
	if ti, err := ids.Token(info.ID); err != nil || ti.Revoked.IsZero() {
		t.Errorf("token after its revocation: %+v, %v", ti, err)
	}
	if u, err := ids.User("eve"); err != nil || u.Enabled {
		t.Errorf("user eve after DisableUser: %+v, %v", u, err)
	}
}
