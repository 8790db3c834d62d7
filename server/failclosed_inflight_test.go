package server

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/objstore/objstore/audit"
)

// TestFailClosedInFlightChange: --audit-fail-closed refuses changes
// that arrive while the log is stopped; a change that passed that check
// before the log stopped (here a PUT whose body is still arriving)
// completes, and the record the log then refuses is counted in the gap
// record written when it resumes. docs/durability.md says so: the check
// is made once per request, not again before each commit.
func TestFailClosedInFlightChange(t *testing.T) {
	disk := &fullAuditDisk{}
	srv, c := startServerWith(t, Config{AuditFailClosed: true, auditOptions: func(o *audit.Options) {
		o.WrapFile = disk.wrap
		o.RetryInterval = 50 * time.Millisecond
	}})
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	// The bucket's record must be on disk before the disk fills: written
	// late, it would be the record that stops the log, and the DELETE's
	// below would be refused too (seen on a loaded machine).
	if err := srv.ops.audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The next look at the log's state is the PUT's check.
	var armed atomic.Bool
	checked := make(chan struct{})
	srv.auditFailed = func() error {
		if armed.CompareAndSwap(true, false) {
			close(checked)
		}
		return srv.ops.audit.Err()
	}
	armed.Store(true)
	body, feed := newGatedReader(1 << 20)
	done := make(chan error, 1)
	go func() {
		_, err := c.PutObject(ctx, "photos", "late", body, 1<<20, minio.PutObjectOptions{})
		done <- err
	}()
	<-checked

	// The log stops: the record of a refused request is not written.
	disk.full.Store(true)
	req, _ := http.NewRequest("DELETE", "http://"+srv.Addr()+"/photos/x", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	for srv.ops.audit.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	close(feed)
	if err := <-done; err != nil {
		t.Fatalf("a PUT past the check when the log stopped: %v, want it served", err)
	}
	if _, err := c.StatObject(ctx, "photos", "late", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the PUT past the check: %v", err)
	}

	disk.full.Store(false)
	for srv.ops.audit.Err() != nil {
		time.Sleep(5 * time.Millisecond)
	}
	rep, err := srv.AuditLog().Verify(ctx, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Gaps) != 1 || rep.Gaps[0].Refused != 1 {
		t.Fatalf("verification after the resume: %+v, want one gap with the PUT's record refused", rep)
	}
	err = audit.Query(ctx, filepath.Join(srv.cfg.DataDir, auditDir), audit.Filter{}, func(r audit.Record) error {
		if r.Action == "PutObject" && r.Key == "late" {
			t.Errorf("record %d of the PUT made while the log was stopped", r.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newGatedReader returns a reader of n zero bytes that gives its first
// half at once and the rest once feed is closed.
func newGatedReader(n int) (*gatedReader, chan struct{}) {
	feed := make(chan struct{})
	return &gatedReader{r: bytes.NewReader(make([]byte, n)), half: n / 2, feed: feed}, feed
}

type gatedReader struct {
	r    *bytes.Reader
	read int
	half int
	feed chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.read >= g.half {
		<-g.feed
	} else {
		p = p[:min(len(p), g.half-g.read)]
	}
	n, err := g.r.Read(p)
	g.read += n
	return n, err
}
