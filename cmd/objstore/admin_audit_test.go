package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/server"
)

// TestAuditVerifyAnchor: `objstore admin audit verify` catches a cut tail
// (offline, with the KMS beside the data) and a rewritten chain (online,
// after a restart kept the mismatching anchor as evidence); the chain
// alone passes both.
func TestAuditVerifyAnchor(t *testing.T) {
	data := t.TempDir()
	start := func() *server.Server {
		srv, err := server.Start(context.Background(), server.Config{Address: "127.0.0.1:0", DataDir: data, DataShards: 2, ParityShards: 1, Zones: 1})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	stop := func(srv *server.Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	}
	srv := start()
	run := func(srv *server.Server, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		env := map[string]string{}
		if srv != nil {
			user, secret := srv.Credentials()
			rc := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
			var nt admin.NewToken
			if err := rc.Do(context.Background(), "POST", "/tokens", admin.MintRequest{Name: "t", Scopes: []string{"audit:read"}, TTL: "1h"}, &nt); err != nil {
				t.Fatal(err)
			}
			env["OBJSTORE_ADMIN_URL"], env["OBJSTORE_ADMIN_TOKEN"] = "http://"+srv.Addr(), nt.Secret
		}
		c := &adminCLI{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }, aliasFile: filepath.Join(t.TempDir(), "a.json")}
		err := c.run(context.Background(), args)
		return out.String() + errOut.String(), err
	}
	// Records to anchor: admin changes by root.
	user, secret := srv.Credentials()
	rc := &admin.Client{URL: "http://" + srv.Addr(), RootUser: user, RootSecret: secret}
	for _, name := range []string{"ann", "ben", "cid", "dee", "eve"} {
		if err := rc.Do(context.Background(), "POST", "/users", admin.CreateUserRequest{Name: name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	stop(srv) // anchors the head
	dir := filepath.Join(data, "audit")
	if out, err := run(nil, "audit", "verify", "--dir", dir); err != nil || !strings.Contains(out, "anchored at record 5") || !strings.Contains(out, "OK") {
		t.Fatalf("offline verify of the intact log: %v %q", err, out)
	}

	// Cut the newest two records at a line boundary.
	files, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	last := files[len(files)-1]
	b, _ := os.ReadFile(last)
	lines := bytes.SplitAfter(b, []byte("\n"))
	cut := bytes.Join(lines[:len(lines)-3], nil) // the last element is empty
	if err := os.WriteFile(last, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(nil, "audit", "verify", "--dir", dir, "--no-anchor"); err != nil {
		t.Fatalf("without the anchor a cut tail looks intact: %v %q", err, out)
	}
	out, err := run(nil, "audit", "verify", "--dir", dir)
	if !errors.Is(err, errTampered) || !strings.Contains(out, "newest records were removed") {
		t.Fatalf("offline verify of a cut tail: %v %q", err, out)
	}

	// A restart keeps the mismatching anchor as evidence: the online
	// verify goes on failing until an operator removes it.
	srv = start()
	defer stop(srv)
	out, err = run(srv, "audit", "verify")
	if !errors.Is(err, errTampered) || !strings.Contains(out, "kept as evidence") {
		t.Fatalf("online verify after a restart over a cut log: %v %q", err, out)
	}
}

// enospcFile fails writes like a full disk while full is set.
type enospcFile struct {
	*os.File
	full *atomic.Bool
}

func (f *enospcFile) Write(p []byte) (int, error) {
	if f.full.Load() {
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

// TestAuditVerifyGap: a log that a full disk stopped and that resumed
// passes `objstore admin audit verify`, which shows the gap and says how
// many events were not recorded.
func TestAuditVerifyGap(t *testing.T) {
	dir := t.TempDir()
	var full atomic.Bool
	l, err := audit.Open(dir, audit.Options{RetryInterval: 10 * time.Millisecond,
		WrapFile: func(f *os.File) audit.File { return &enospcFile{File: f, full: &full} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := audit.Entry{Identity: audit.Root, Action: "admin:CreateUser", Status: 201}
	l.Append(ctx, e)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	l.Append(ctx, e)
	if err := l.Sync(ctx); !errors.Is(err, audit.ErrWrite) {
		t.Fatalf("Sync on a full disk = %v", err)
	}
	l.Append(ctx, e) // refused, counted
	full.Store(false)
	for deadline := time.Now().Add(10 * time.Second); l.Err() != nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the log did not resume")
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	c := &adminCLI{stdout: &out, stderr: &out, getenv: func(string) string { return "" }, aliasFile: filepath.Join(t.TempDir(), "a.json")}
	if err := c.run(ctx, []string{"audit", "verify", "--dir", dir, "--no-anchor"}); err != nil {
		t.Fatalf("verify of a resumed log: %v %q", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "seq 2: gap: the audit log was stopped") ||
		!strings.Contains(s, "no space left on device") ||
		!strings.Contains(s, "OK: the chain is intact, but 2 events were not recorded") {
		t.Fatalf("verify output %q", s)
	}
}
