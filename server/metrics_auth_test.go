package server

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/iam"
)

// mintToken mints an admin token holding scopes and returns it.
func mintToken(t *testing.T, srv *Server, scopes ...string) (secret string, info iam.TokenInfo) {
	t.Helper()
	secret, info, err := srv.IAM().MintToken(context.Background(), iam.TokenOptions{Name: "scraper", Scopes: scopes, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return secret, info
}

// scrape asks for /metrics with the Authorization header authz (none
// when empty) and returns the response and its body.
func scrape(t *testing.T, srv *Server, method, authz string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.Addr()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func basicAuth(user, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, secret)
	return r.Header.Get("Authorization")
}

// TestMetricsAuthentication: by default /metrics is served to an admin
// token holding metrics:read and to root, never to anonymous callers
// (401 with a Bearer challenge, which Prometheus understands) nor to
// tokens without the scope (403); a scrape that is let in names the
// drives' paths, so that an operator finds a failed drive. Refusals are
// audited as admin:ScrapeMetrics. With MetricsPublic anyone scrapes,
// and the paths are left out.
func TestMetricsAuthentication(t *testing.T) {
	type scrapeCase struct {
		name   string
		method string
		authz  func(srv *Server) string
		status int
	}
	anonymous := func(*Server) string { return "" }
	withScopes := func(scopes ...string) func(*Server) string {
		return func(srv *Server) string {
			tok, _ := mintToken(t, srv, scopes...)
			return "Bearer " + tok
		}
	}
	root := func(srv *Server) string { return basicAuth(srv.Credentials()) }
	wrongRoot := func(srv *Server) string {
		user, secret := srv.Credentials()
		return basicAuth(user, secret+"x")
	}
	tests := []struct {
		name   string
		public bool
		cases  []scrapeCase
	}{
		{"default", false, []scrapeCase{
			{"anonymous", "GET", anonymous, 401},
			{"anonymous HEAD", "HEAD", anonymous, 401},
			{"unknown token", "GET", func(*Server) string { return "Bearer ost_0000000000000000_x" }, 401},
			{"token without metrics:read", "GET", withScopes(iam.ScopeStatusRead, iam.ScopeAuditRead), 403},
			{"token with metrics:read", "GET", withScopes(iam.ScopeMetricsRead), 200},
			{"token with metrics:read among others", "GET", withScopes(iam.ScopeStatusRead, iam.ScopeMetricsRead), 200},
			{"root", "GET", root, 200},
			{"wrong root secret", "GET", wrongRoot, 401},
		}},
		{"public", true, []scrapeCase{
			{"anonymous", "GET", anonymous, 200},
			{"token without metrics:read", "GET", withScopes(iam.ScopeStatusRead), 200},
			{"root", "GET", root, 200},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := startServerWith(t, Config{MetricsPublic: tt.public, DataShards: 2, ParityShards: 1, Zones: 1})
			drive := filepath.Join(srv.cfg.DataDir, "drive1")
			for _, sc := range tt.cases {
				t.Run(sc.name, func(t *testing.T) {
					resp, body := scrape(t, srv, sc.method, sc.authz(srv))
					if resp.StatusCode != sc.status {
						t.Fatalf("%d, want %d: %s", resp.StatusCode, sc.status, body)
					}
					challenge := resp.Header.Get("WWW-Authenticate")
					if (sc.status == 401) != strings.HasPrefix(challenge, "Bearer ") {
						t.Fatalf("%d with WWW-Authenticate %q", sc.status, challenge)
					}
					if sc.status != 200 {
						if strings.Contains(body, "objstore_") || strings.Contains(body, drive) {
							t.Fatalf("a refusal holds metrics: %s", body)
						}
						if sc.method == "GET" && !strings.Contains(body, `"requestId"`) {
							t.Fatalf("not the admin API's error: %s", body)
						}
						return
					}
					for _, want := range []string{"objstore_requests_limit ", "objstore_drive_online{", "objstore_heal_running "} {
						if !strings.Contains(body, want) {
							t.Fatalf("no %s in:\n%s", want, body)
						}
					}
					// With authentication the path names the drive; public
					// scrapes get an empty one, which Prometheus stores as
					// no label at all.
					hasPath := strings.Contains(body, `path="`+drive+`"`)
					if hasPath == tt.public || tt.public != strings.Contains(body, `path=""`) {
						t.Fatalf("public %v: drive path %s shown %v:\n%s", tt.public, drive, hasPath, body)
					}
					if tt.public && strings.Contains(body, srv.cfg.DataDir) {
						t.Fatalf("a public scrape names the data folder %s", srv.cfg.DataDir)
					}
				})
			}
			if tt.public {
				return
			}
			// The refusals are in the audit log, the scoped token's
			// under its identity.
			ctx := context.Background()
			if err := srv.ops.denials.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			var anon, forbidden int
			if err := srv.AuditLog().Query(ctx, audit.Filter{Action: "admin:" + metricsOperation}, func(r audit.Record) error {
				switch {
				case r.Identity == audit.Anonymous && r.Status == 401 && r.Key == "/metrics":
					anon++
				case strings.HasPrefix(r.Identity, audit.AdminToken("")) && r.Status == 403 && r.Error == "Forbidden":
					forbidden++
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if anon == 0 || forbidden != 1 {
				t.Fatalf("audit: %d anonymous 401 records, %d records of the token without the scope (want 1)", anon, forbidden)
			}
		})
	}
}
