package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestLostObjectInMetrics: an object whose shards are gone beyond
// repair is found by a read (500 InternalError) and queued for a heal,
// which fails. /metrics must show it to an alert: the heal queue's
// outcomes (objstore_heal_queue_objects_total{outcome="failed"}), and
// the passes' counts summed since start, not the current pass's only.
func TestLostObjectInMetrics(t *testing.T) {
	srv, c := startServer(t)
	ctx := context.Background()
	if err := c.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := randBody(9, 3<<20)
	if _, err := c.PutObject(ctx, "bkt", "scan.dcm", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"drive1", "drive2", "drive3"} { // three of six: 4+2 cannot rebuild
		dirs, _ := filepath.Glob(filepath.Join(srv.cfg.DataDir, d, "data", "*", "*"))
		for _, x := range dirs {
			os.RemoveAll(x)
		}
	}
	if _, err := getAll(t, c, "bkt", "scan.dcm", minio.GetObjectOptions{}); err == nil {
		t.Fatal("read of an object beyond repair succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Store().HealStatus().QueueFailed == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if srv.Store().HealStatus().QueueFailed == 0 {
		t.Fatal("the read queued no heal (test setup)")
	}
	_, metrics := scrape(t, srv, "GET", basicAuth(srv.Credentials()))
	var failed float64
	var lines []string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "objstore_heal") {
			lines = append(lines, l)
			if strings.Contains(l, "fail") {
				f := strings.Fields(l)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				failed += v
			}
		}
	}
	if failed == 0 {
		t.Errorf("an object lost beyond repair (heal failed %d times) shows in no heal metric:\n%s",
			srv.Store().HealStatus().QueueFailed, strings.Join(lines, "\n"))
	}
}
