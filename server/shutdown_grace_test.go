package server

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestShutdownGraceCutsSlowRequests: a request still running when the
// shutdown's grace period ends is cut, and that is no failure of the
// shutdown (Close returns nil, so the process exits 0 and a service
// manager does not mark the stop failed); the cut upload is not visible
// after a restart.
func TestShutdownGraceCutsSlowRequests(t *testing.T) {
	dir := t.TempDir()
	srv, c := startServerWith(t, Config{DataDir: dir})
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	putDone := make(chan error, 1)
	go func() {
		_, err := c.PutObject(ctx, "bkt", "slow", pr, 8<<20, minio.PutObjectOptions{DisableMultipart: true})
		putDone <- err
	}()
	if _, err := pw.Write(make([]byte, 64<<10)); err != nil { // the upload is under way
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		t.Fatalf("Close after its grace period cut a request: %v, want nil", err)
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	if err := <-putDone; err == nil {
		t.Fatal("the cut upload succeeded")
	}

	_, c2 := startServerWith(t, Config{DataDir: dir})
	if _, err := c2.StatObject(ctx, "bkt", "slow", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("the cut upload after a restart: %v, want NoSuchKey", err)
	}
}
