package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/objstore/objstore/admin"
)

// fakeAdmin is an admin API stand-in on loopback: it answers path with
// body and records the Authorization header of each request.
type fakeAdmin struct {
	*httptest.Server
	mu    sync.Mutex
	authz []string
}

func newFakeAdmin(t *testing.T, routes map[string]any) *fakeAdmin {
	t.Helper()
	f := &fakeAdmin{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.authz = append(f.authz, r.Header.Get("Authorization"))
		f.mu.Unlock()
		v, ok := routes[strings.TrimPrefix(r.URL.Path, admin.Prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAdmin) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.authz...)
}

// testCLI returns a runner of `objstore admin` with env and the alias
// file aliases.
func testCLI(env map[string]string, aliases string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		c := &adminCLI{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }, aliasFile: aliases, poll: time.Millisecond}
		err := c.run(context.Background(), args)
		return out.String(), err
	}
}

// TestAliasTokenStaysWithItsURL: a saved alias's token is sent only to
// that alias's server, never to one named by --url or
// OBJSTORE_ADMIN_URL.
func TestAliasTokenStaysWithItsURL(t *testing.T) {
	routes := map[string]any{"/zones": []admin.Zone{}}
	aliased, other := newFakeAdmin(t, routes), newFakeAdmin(t, routes)
	aliases := filepath.Join(t.TempDir(), "aliases.json")
	const tok = "ost_0123456789abcdef_secret"
	if _, err := testCLI(nil, aliases)("alias", "set", "default", aliased.URL, tok); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		server *fakeAdmin
		authz  string
	}{
		{"alias alone", nil, []string{"zones"}, aliased, "Bearer " + tok},
		{"--url of the alias", nil, []string{"--url", aliased.URL + "/", "zones"}, aliased, "Bearer " + tok},
		{"--url of another server", nil, []string{"--url", other.URL, "zones"}, other, ""},
		{"env URL of another server", map[string]string{"OBJSTORE_ADMIN_URL": other.URL}, []string{"zones"}, other, ""},
		{"--token given for another server", nil, []string{"--url", other.URL, "--token", "ost_given", "zones"}, other, "Bearer ost_given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.server.seen())
			_, _ = testCLI(tt.env, aliases)(tt.args...)
			got := tt.server.seen()
			if len(got) != before+1 || got[before] != tt.authz {
				t.Fatalf("server saw %q, want one request with Authorization %q", got[before:], tt.authz)
			}
		})
	}
}

// TestTextOutputEscapesControls: strings from the server cannot drive
// the terminal or fake lines in text output; JSON stays as it was.
func TestTextOutputEscapesControls(t *testing.T) {
	evil := "/admin/v1/\x1b[2J\x1b[H\n1\t2030-01-01T00:00:00Z\troot\r"
	f := newFakeAdmin(t, map[string]any{
		"/audit":     admin.AuditPage{Records: []admin.AuditRecord{{Seq: 1, Identity: "anonymous", Action: "admin:GetCluster", Key: evil, Status: 401, Reason: "no\u009bcredentials"}}},
		"/users":     []admin.User{{Name: "bob\x07", Policies: []string{"read\x1b]0;pwned\x07only"}}},
		"/users/bob": admin.User{Name: "bob\x1b[1A\rroot", Policies: []string{}},
	})
	run := testCLI(map[string]string{"OBJSTORE_ADMIN_URL": f.URL, "OBJSTORE_ADMIN_TOKEN": "ost_x"}, filepath.Join(t.TempDir(), "a.json"))
	tests := []struct {
		args  []string
		lines int
	}{
		{[]string{"audit", "query"}, 2},
		{[]string{"users", "ls"}, 2},
		{[]string{"users", "info", "bob"}, 4},
	}
	for _, tt := range tests {
		args := tt.args
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, err := run(args...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(out, "\x1b\x07\r\u009b") || strings.Count(out, "\n") != tt.lines {
				t.Fatalf("text output carries control characters or extra lines: %q", out)
			}
			if !strings.Contains(out, `\x1b`) {
				t.Fatalf("control characters not shown escaped: %q", out)
			}
			js, err := run(append([]string{"--json"}, args...)...)
			if err != nil || !strings.Contains(js, `\u001b`) {
				t.Fatalf("JSON output %q, %v", js, err)
			}
		})
	}
}

// TestAliasFileMode: writing a token into an existing alias file leaves
// it readable by its owner only, whatever its mode was.
func TestAliasFileMode(t *testing.T) {
	aliases := filepath.Join(t.TempDir(), "aliases.json")
	if err := os.WriteFile(aliases, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(aliases, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if _, err := testCLI(nil, aliases)("alias", "set", "default", "http://127.0.0.1:9000", "ost_x"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(aliases)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("alias file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	b, _ := os.ReadFile(aliases)
	if !strings.Contains(string(b), "ost_x") {
		t.Fatalf("alias file %s", b)
	}
	if left, _ := filepath.Glob(aliases + ".tmp*"); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestCLIRefusesCleartextCredentials: the CLI never sends a token or
// the root credentials over plain HTTP to a remote host, and says how
// to fix it.
func TestCLIRefusesCleartextCredentials(t *testing.T) {
	env := map[string]string{"OBJSTORE_ROOT_USER": "root", "OBJSTORE_ROOT_PASSWORD": "secret"}
	run := testCLI(env, filepath.Join(t.TempDir(), "a.json"))
	for _, args := range [][]string{
		{"--url", "http://192.0.2.10:9000", "--token", "ost_x", "cluster"},
		{"--url", "http://192.0.2.10:9000", "tokens", "mint", "--name", "n", "--scopes", "status:read"},
	} {
		_, err := run(args...)
		if err == nil || !strings.Contains(err.Error(), "https://") {
			t.Fatalf("%v: error %v, want a refusal naming https://", args, err)
		}
	}
}

// TestWritePrivateThroughSymlinks: a symlinked aliases file, live or
// dangling, is written through (its target holds the data, mode 0600)
// and stays a link.
func TestWritePrivateThroughSymlinks(t *testing.T) {
	for _, dangling := range []bool{false, true} {
		dir := t.TempDir()
		target := filepath.Join(dir, "dotfiles-aliases.json")
		if !dangling {
			if err := os.WriteFile(target, []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		link := filepath.Join(dir, "aliases.json")
		if err := os.Symlink("dotfiles-aliases.json", link); err != nil {
			t.Fatal(err)
		}
		if err := writePrivate(link, []byte(`{"a":1}`)); err != nil {
			t.Fatalf("dangling %t: %v", dangling, err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("dangling %t: the link was replaced (%v)", dangling, err)
		}
		b, err := os.ReadFile(target)
		fi, _ := os.Stat(target)
		if err != nil || string(b) != `{"a":1}` || fi.Mode().Perm() != 0o600 {
			t.Fatalf("dangling %t: target %q %v mode %v", dangling, b, err, fi.Mode())
		}
	}
}
