package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/audit"
)

// readyStatus asks /health/ready.
func readyStatus(t *testing.T, srv *Server) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + srv.Addr() + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReady polls /health/ready until it answers code.
func waitReady(t *testing.T, srv *Server, code int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, body := readyStatus(t, srv)
		if got == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ready = %d %q, want %d", got, body, code)
		}
	}
}

// TestNotReadyWhileAuditStopped: a stopped audit log (a full audit disk)
// makes /health/ready answer 503, so changes going unaudited show.
func TestNotReadyWhileAuditStopped(t *testing.T) {
	srv, _ := startServer(t)
	if code, body := readyStatus(t, srv); code != 200 {
		t.Fatalf("ready = %d %s", code, body)
	}
	srv.auditFailed = func() error { return errors.New("audit: write failed: no space left on device") }
	if code, body := readyStatus(t, srv); code != 503 || !strings.Contains(body, "audit log") {
		t.Fatalf("ready with the audit log stopped = %d %q, want 503 naming the audit log", code, body)
	}
}

// fullAuditDisk fails the audit log's writes with ENOSPC while full is
// set, as a full file system does.
type fullAuditDisk struct{ full atomic.Bool }

func (d *fullAuditDisk) wrap(f *os.File) audit.File { return &fullAuditFile{File: f, disk: d} }

type fullAuditFile struct {
	*os.File
	disk *fullAuditDisk
}

func (f *fullAuditFile) Write(p []byte) (int, error) {
	if f.disk.full.Load() {
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

// TestReadyAfterAuditResumes: the audit disk fills; requests are still
// served (the audit log fails open) and readiness answers 503; once
// space is freed the log resumes by itself, readiness answers 200 again,
// and the log verifies with a gap record that accounts for every change
// it did not record.
func TestReadyAfterAuditResumes(t *testing.T) {
	disk := &fullAuditDisk{}
	srv, c := startServerWith(t, Config{auditOptions: func(o *audit.Options) {
		o.WrapFile = disk.wrap
		o.RetryInterval = 50 * time.Millisecond
	}})
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	changes := 1
	put := func() {
		t.Helper()
		body := []byte("cat")
		if _, err := c.PutObject(ctx, "photos", "cat.jpg", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PUT with the audit disk full = %v, want it served", err)
		}
		changes++
	}
	put()
	waitReady(t, srv, 200)

	disk.full.Store(true)
	put()
	waitReady(t, srv, 503)
	if _, body := readyStatus(t, srv); !strings.Contains(body, "audit log") {
		t.Fatalf("ready body %q does not name the audit log", body)
	}
	put()
	put()

	disk.full.Store(false)
	waitReady(t, srv, 200)
	rep, err := srv.AuditLog().Verify(ctx, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Gaps) != 1 || rep.Unrecorded == 0 || rep.Anchor == nil {
		t.Fatalf("verification after the resume: %+v", rep)
	}

	// Once the server is closed no request is in flight: every change is
	// either recorded or counted in the gap.
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(srv.cfg.DataDir, auditDir)
	rep, err = audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recorded := 0
	err = audit.Query(ctx, dir, audit.Filter{Bucket: "photos"}, func(r audit.Record) error {
		recorded++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Gaps) != 1 || recorded+int(rep.Unrecorded) != changes {
		t.Fatalf("%d changes, %d recorded, %d unrecorded; report %+v", changes, recorded, rep.Unrecorded, rep)
	}
}
