package admin_test

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/iam"
)

// TestRequire: an endpoint put behind Handler.Require lets in a token
// holding the scope and root, over TLS or from loopback only, and
// refuses everyone else the way the admin API does: 401 with
// WWW-Authenticate: Bearer, 403 for a token without the scope, a JSON
// error, and an audit record of the refusal.
func TestRequire(t *testing.T) {
	srv, base := start(t)
	root := rootClient(srv, base)
	metricsTok := mint(t, root, "1h", iam.ScopeMetricsRead)
	statusTok := mint(t, root, "1h", iam.ScopeStatusRead)
	user, secret := srv.Credentials()
	h := handlerOver(t, srv)
	served := 0
	guarded := h.Require("ScrapeMetrics", iam.ScopeMetricsRead, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		w.Write([]byte("objstore_up 1\n"))
	}))
	const local, remote = "127.0.0.1:40000", "192.0.2.9:40000"
	tests := []struct {
		name   string
		remote string
		tls    bool
		authz  string
		status int
		code   string
	}{
		{"anonymous", local, false, "", 401, "Unauthorized"},
		{"unknown token", local, false, "Bearer ost_0000000000000000_x", 401, "Unauthorized"},
		{"token without the scope", local, false, "Bearer " + statusTok.Secret, 403, "Forbidden"},
		{"token with the scope", local, false, "Bearer " + metricsTok.Secret, 200, ""},
		{"token with the scope, lower-case scheme", local, false, "bearer " + metricsTok.Secret, 200, ""},
		{"token with the scope from a remote address", remote, false, "Bearer " + metricsTok.Secret, 401, "InsecureTransport"},
		{"token with the scope over TLS from a remote address", remote, true, "Bearer " + metricsTok.Secret, 200, ""},
		{"root", local, false, "Basic " + basic(user, secret), 200, ""},
		{"wrong root secret", local, false, "Basic " + basic(user, secret+"x"), 401, "Unauthorized"},
		{"root from a remote address", remote, false, "Basic " + basic(user, secret), 401, "InsecureTransport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := served
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			w := httptest.NewRecorder()
			guarded.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("%d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 200 {
				if served != before+1 || w.Body.String() != "objstore_up 1\n" {
					t.Fatalf("not served: %q", w.Body)
				}
				return
			}
			if served != before {
				t.Fatal("served a refused request")
			}
			var e admin.Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != tt.code || e.RequestID == "" {
				t.Fatalf("error body %s (%v), want code %s with a request id", w.Body, err, tt.code)
			}
			if got := w.Header().Get("X-Request-Id"); got != e.RequestID {
				t.Fatalf("X-Request-Id %q, body's %q", got, e.RequestID)
			}
			challenge := w.Header().Get("WWW-Authenticate")
			if (tt.status == 401) != strings.HasPrefix(challenge, "Bearer ") {
				t.Fatalf("%d with WWW-Authenticate %q", tt.status, challenge)
			}
		})
	}

	// The refusals are audited under the endpoint's name, the token's
	// ones under the token.
	var anon, scoped bool
	for _, r := range auditRecords(t, root, "action=admin:ScrapeMetrics") {
		anon = anon || (r.Identity == audit.Anonymous && r.Status == 401 && r.Key == "/metrics" && r.Source == "127.0.0.1")
		scoped = scoped || (r.Identity == audit.AdminToken(statusTok.ID) && r.Status == 403 && r.Error == "Forbidden")
	}
	if !anon || !scoped {
		t.Fatalf("audit: anonymous 401 recorded %v, 403 of the token without the scope recorded %v", anon, scoped)
	}
}
