package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/server"
)

// TestAdminUnknownFlagRefused: `objstore admin` refuses a flag the
// command does not take, naming it, with a non-zero exit: a typo must
// not change what is made without a word (`keys add alice --expire T`
// for --expires would mint a key that never expires, `users add bob
// --policies readonly` a user without a policy, `heal start
// --objects-per-sec 5` an unthrottled pass).
func TestAdminUnknownFlagRefused(t *testing.T) {
	_, _, run := opsCLI(t, "identity:write,status:read,heal:write")
	if _, err := run("users", "add", "alice", "--policy", "readonly"); err != nil {
		t.Fatal(err)
	}

	out, err := run("--json", "keys", "add", "alice", "--expire", "2027-01-01T00:00:00Z")
	if err == nil {
		var nk admin.NewAccessKey
		json.Unmarshal([]byte(out), &nk)
		t.Errorf("keys add --expire (typo of --expires) succeeded: key %s expires %v (never)", nk.ID, nk.Expires)
	}
	out, err = run("users", "add", "bob", "--policies", "readonly")
	if err == nil {
		t.Errorf("users add --policies (typo of --policy) succeeded:\n%s", out)
	}
	if _, err := run("heal", "start", "--objects-per-sec", "5"); err == nil {
		t.Errorf("heal start --objects-per-sec (typo of --objects-per-second) succeeded: the pass runs unthrottled")
	} else if !strings.Contains(err.Error(), "objects-per-sec") {
		t.Errorf("the error does not name the flag: %v", err)
	}
}

// TestHealWatchReportsFailure: `heal status --watch`, the README's way
// to follow a heal ("heal start && heal status --watch"), must not end
// with exit status 0 and a full bar reading "100% ... (done)" for a
// pass stopped after a few objects, nor for one that met objects beyond
// repair (data lost for good): a script checking the exit status, or an
// operator reading the bar, would be told all is well.
func TestHealWatchReportsFailure(t *testing.T) {
	srv, data, run := opsCLI(t, "status:read,heal:write")
	user, secret := srv.Credentials()
	ctx := context.Background()
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		body := bytes.Repeat([]byte(k), 1<<20)
		if _, err := c.PutObject(ctx, "bkt", k, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
	}

	// A pass stopped after its first objects.
	if _, err := run("heal", "start", "--objects-per-second", "1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := run("heal", "stop"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	out, err := run("heal", "status", "--watch")
	if err == nil && strings.Contains(out, "100%") {
		t.Errorf("a stopped pass is shown complete, exit 0:\n%s", out)
	}

	// Two of three drives lose every shard file: 2+1 cannot rebuild.
	for _, d := range []string{"drive1", "drive2"} {
		dirs, _ := filepath.Glob(filepath.Join(data, d, "data", "*", "*"))
		for _, x := range dirs {
			os.RemoveAll(x)
		}
	}
	if _, err := run("heal", "start"); err != nil {
		t.Fatal(err)
	}
	out, err = run("heal", "status", "--watch")
	if err == nil {
		t.Errorf("a pass that found objects beyond repair exits 0:\n%s", out)
	}
}

// TestAliasURLChecked: an alias must name an http or https URL with a
// host; anything else would only fail later, at the first command, far
// from the typo.
func TestAliasURLChecked(t *testing.T) {
	aliases := filepath.Join(t.TempDir(), "aliases.json")
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:9000", true},
		{"https://objstore.example:443", true},
		{"notaurl", false},
		{"127.0.0.1:9000", false},
		{"ftp://host", false},
		{"http://", false},
	} {
		c := &adminCLI{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, aliasFile: aliases}
		err := c.run(context.Background(), []string{"alias", "set", "a", tc.url, "tok"})
		if (err == nil) != tc.ok {
			t.Errorf("alias set a %q: %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

// opsCLI is adminTestServer whose runner's default alias holds a token
// minted with scopes.
func opsCLI(t *testing.T, scopes string) (*server.Server, string, func(args ...string) (string, error)) {
	t.Helper()
	e := adminTestServer(t)
	srv, data, run := e.srv, e.data, e.run
	base := "http://" + srv.Addr()
	out, err := run("--url", base, "--json", "tokens", "mint", "--name", "ops", "--scopes", scopes)
	if err != nil {
		t.Fatal(err)
	}
	var nt admin.NewToken
	if err := json.Unmarshal([]byte(out), &nt); err != nil {
		t.Fatal(err)
	}
	if _, err := run("alias", "set", "default", base, nt.Secret); err != nil {
		t.Fatal(err)
	}
	return srv, data, run
}

// adminTestEnv is a server for admin CLI tests: its data folder, and a
// runner of `objstore admin` in-process with the root credentials in its
// environment and the alias file aliases of its own.
type adminTestEnv struct {
	srv     *server.Server
	data    string
	aliases string
	run     func(args ...string) (string, error)
}

// adminTestServer starts a 2+1 server in a temporary folder, stopped at
// the test's end.
func adminTestServer(t *testing.T) adminTestEnv {
	t.Helper()
	data := t.TempDir()
	srv, err := server.Start(context.Background(), server.Config{Address: "127.0.0.1:0", DataDir: data, DataShards: 2, ParityShards: 1, Zones: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	user, secret := srv.Credentials()
	env := map[string]string{"OBJSTORE_ROOT_USER": user, "OBJSTORE_ROOT_PASSWORD": secret}
	aliases := filepath.Join(t.TempDir(), "aliases.json")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		c := &adminCLI{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }, aliasFile: aliases, poll: 10 * time.Millisecond}
		err := c.run(context.Background(), args)
		return out.String(), err
	}
	return adminTestEnv{srv: srv, data: data, aliases: aliases, run: run}
}

// TestAdminCommandHelp: `objstore admin COMMAND --help` shows that
// command's lines of the usage, not all of it; an unknown command gets
// the whole usage.
func TestAdminCommandHelp(t *testing.T) {
	help := func(args ...string) string {
		var out bytes.Buffer
		c := &adminCLI{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }}
		if err := c.run(context.Background(), args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	got := help("heal", "--help")
	if !strings.Contains(got, "heal start [--objects-per-second N]") || strings.Contains(got, "buckets ls") {
		t.Errorf("heal --help:\n%s", got)
	}
	if got := help("cluster", "-h"); !strings.Contains(got, "cluster | zones") {
		t.Errorf("cluster -h:\n%s", got)
	}
	if got := help("nosuch", "--help"); got != adminUsage {
		t.Errorf("nosuch --help:\n%s", got)
	}
	if got := help("--help"); got != adminUsage {
		t.Errorf("--help:\n%s", got)
	}
}
