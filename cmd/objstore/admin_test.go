package main

import (
	"bytes"
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
)

// TestAdminCLI runs `objstore admin` in-process against a server.
func TestAdminCLI(t *testing.T) {
	e := adminTestServer(t)
	srv, data, aliases, run := e.srv, e.data, e.aliases, e.run
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("objstore admin %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	base := "http://" + srv.Addr()

	// Bootstrap: mint with the root credentials, keep the token in an alias.
	var nt admin.NewToken
	if err := json.Unmarshal([]byte(must("--url", base, "--json", "tokens", "mint", "--name", "ops", "--scopes", "identity:write,status:read,heal:write,audit:read,buckets:write")), &nt); err != nil {
		t.Fatal(err)
	}
	must("alias", "set", "default", base, nt.Secret)

	// The README's scrape token: metrics:read lets Prometheus in, and
	// /metrics refuses anyone without a token.
	var scrapeTok admin.NewToken
	if err := json.Unmarshal([]byte(must("--url", base, "--json", "tokens", "mint", "--name", "prometheus", "--scopes", "metrics:read", "--ttl", "2160h")), &scrapeTok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, authz string
		status      int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"the ops token, without metrics:read", "Bearer " + nt.Secret, http.StatusForbidden},
		{"the scrape token", "Bearer " + scrapeTok.Secret, http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if tc.authz != "" {
			req.Header.Set("Authorization", tc.authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.status == http.StatusOK) != strings.Contains(string(body), "objstore_drive_online{") {
			t.Fatalf("/metrics, %s: %d, want %d:\n%.300s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
	if fi, err := os.Stat(aliases); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("alias file: %v %v", fi, err)
	}
	if out := must("alias", "ls"); !strings.Contains(out, base) || strings.Contains(out, nt.Secret) {
		t.Fatalf("alias ls: %q", out)
	}

	if out := must("cluster"); !strings.Contains(out, "ready true") || !strings.Contains(out, "kms keyring up since ") || !strings.Contains(out, "STATE") || !strings.Contains(out, " online ") {
		t.Fatalf("cluster: %q", out)
	}
	must("zones")
	must("buckets", "create", "media", "--quota", "1000")
	if out := must("buckets", "ls"); !strings.Contains(out, "media") || !strings.Contains(out, "USED") {
		t.Fatalf("buckets ls: %q", out)
	}
	if out := must("buckets", "quota", "media", "2KiB"); !strings.Contains(out, "2048 bytes") {
		t.Fatalf("buckets quota: %q", out)
	}
	if out := must("buckets", "usage", "media", "--refresh"); !strings.Contains(out, "2.0 KiB, 0.0% used") || !strings.Contains(out, "objects:") {
		t.Fatalf("buckets usage: %q", out)
	}
	if out := must("buckets", "info", "media"); !strings.Contains(out, "2048") || !strings.Contains(out, "all versions:") {
		t.Fatalf("buckets info: %q", out)
	}
	must("users", "add", "bob", "--policy", "readonly")
	if out := must("users", "ls"); !strings.Contains(out, "bob") || !strings.Contains(out, "readonly") {
		t.Fatalf("users ls: %q", out)
	}
	var nk admin.NewAccessKey
	if err := json.Unmarshal([]byte(must("--json", "keys", "add", "bob")), &nk); err != nil || nk.Secret == "" {
		t.Fatalf("keys add: %v", err)
	}
	if out := must("keys", "ls", "bob"); !strings.Contains(out, nk.ID) || strings.Contains(out, nk.Secret) {
		t.Fatalf("keys ls: %q", out)
	}
	must("keys", "disable", nk.ID)
	must("users", "disable", "bob")
	must("users", "policy", "bob", "writeonly")
	pol := filepath.Join(t.TempDir(), "p.json")
	os.WriteFile(pol, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::media"}]}`), 0o600)
	must("policies", "put", "lister", pol)
	if out := must("policies", "get", "lister"); !strings.Contains(out, "s3:ListBucket") {
		t.Fatalf("policies get: %q", out)
	}
	must("policies", "rm", "lister")
	must("keys", "rm", nk.ID)
	must("users", "rm", "bob")
	must("heal", "start")
	if out := must("heal", "status", "--watch"); !strings.Contains(out, "done") {
		t.Fatalf("heal status --watch: %q", out)
	}
	if out := must("tokens", "ls"); !strings.Contains(out, nt.ID) {
		t.Fatalf("tokens ls: %q", out)
	}
	if out := must("audit", "query", "--action", "admin:CreateUser"); !strings.Contains(out, "admin-token:"+nt.ID) {
		t.Fatalf("audit query: %q", out)
	}
	if out := must("audit", "export"); !strings.Contains(out, `"admin:DeleteUser"`) {
		t.Fatalf("audit export: %q", out)
	}
	if out := must("audit", "verify"); !strings.Contains(out, "OK") {
		t.Fatalf("audit verify: %q", out)
	}

	// A revoked token is refused with its code.
	must("tokens", "revoke", nt.ID)
	_, err := run("users", "ls")
	var ae *admin.Error
	if !errors.As(err, &ae) || ae.Code != "TokenRevoked" {
		t.Fatalf("revoked token: %v", err)
	}

	// Offline verification of the files, then of a tampered copy.
	dir := filepath.Join(data, "audit")
	if err := srv.AuditLog().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := must("audit", "verify", "--dir", dir); !strings.Contains(out, "OK") {
		t.Fatalf("offline verify: %q", out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	b, _ := os.ReadFile(files[0])
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines[1], lines[2] = lines[2], lines[1] // reorder two records
	copyDir := t.TempDir()
	os.WriteFile(filepath.Join(copyDir, filepath.Base(files[0])), bytes.Join(lines, nil), 0o600)
	out, err := run("audit", "verify", "--dir", copyDir)
	if !errors.Is(err, errTampered) || !strings.Contains(out, filepath.Base(files[0])) {
		t.Fatalf("tampered verify: %v %q", err, out)
	}
}

// TestKMSLine: `admin cluster` shows the KMS up or down, since when, and
// while down why, quoting what could drive a terminal.
func TestKMSLine(t *testing.T) {
	since := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	at := since.Local().Format("2006-01-02 15:04:05")
	for _, tc := range []struct {
		k    admin.KMSHealth
		want string
	}{
		{admin.KMSHealth{Backend: "kmip", State: "up", Since: since}, "kms kmip up since " + at},
		{admin.KMSHealth{Backend: "kmip", State: "down", Since: since, Cause: "kms: backend failed: kmip: connect to 10.0.0.9:5696: connection refused"},
			"kms kmip down since " + at + ": kms: backend failed: kmip: connect to 10.0.0.9:5696: connection refused"},
		{admin.KMSHealth{Backend: "pkcs11", State: "down", Since: since, Cause: "C_Encrypt\x1b[2J"},
			"kms pkcs11 down since " + at + `: "C_Encrypt\x1b[2J"`},
	} {
		if got := kmsLine(tc.k); got != tc.want {
			t.Errorf("kmsLine(%+v) = %q, want %q", tc.k, got, tc.want)
		}
	}
}
