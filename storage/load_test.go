package storage

import (
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

func TestWriteLoadSyncDelay(t *testing.T) {
	tests := []struct {
		name    string
		writers int
		want    time.Duration
	}{
		{"idle", 0, 0},
		{"one writer never waits", 1, 0},
		{"two share the default gap", 2, drive.DefaultSyncGap},
		{"a few clients", syncFreeWriters, drive.DefaultSyncGap},
		{"one more", syncFreeWriters + 1, drive.DefaultSyncGap + syncDelayPerWriter},
		{"thirty-two", 32, drive.DefaultSyncGap + 28*syncDelayPerWriter},
		{"capped", 1000, maxSyncDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l writeLoad
			var done []func()
			for range tt.writers {
				done = append(done, l.begin())
			}
			if got := l.syncDelay(); got != tt.want {
				t.Errorf("%d writers: delay %v, want %v", tt.writers, got, tt.want)
			}
			for _, f := range done {
				f()
			}
			if got := l.syncDelay(); got != 0 {
				t.Errorf("after all writers finished: delay %v, want 0", got)
			}
		})
	}
}

// TestWriteLoadCountsWrites checks that the store's write paths are
// counted while they run and released when they return, on success and
// on failure alike.
func TestWriteLoadCountsWrites(t *testing.T) {
	s, _ := testStore(t)
	ctx := t.Context()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	seen := int64(-1)
	_, err := s.PutObject(ctx, "b", "k", strings.NewReader("hello"), PutOptions{Size: 5, Finish: func() (string, map[string]string, error) {
		seen = s.load.n.Load()
		return "etag", nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if seen != 1 {
		t.Errorf("during PutObject the load was %d, want 1", seen)
	}
	if _, err := s.PutObject(ctx, "missing-bucket", "k", strings.NewReader("x"), PutOptions{Size: 1}); err == nil {
		t.Fatal("PutObject into a missing bucket succeeded")
	}
	if err := s.DeleteObject(ctx, "b", "k", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := s.load.n.Load(); n != 0 {
		t.Errorf("after the writes returned the load is %d, want 0", n)
	}
}

// TestWriteLoadAlone: staging files sync ahead only for a lone writer.
func TestWriteLoadAlone(t *testing.T) {
	var l writeLoad
	if !l.alone() {
		t.Error("idle: not alone")
	}
	done := l.begin()
	if !l.alone() {
		t.Error("one writer: not alone")
	}
	done2 := l.begin()
	if l.alone() {
		t.Error("two writers: alone")
	}
	done2()
	done()
}

// TestDriveOptionsFollowLoad: the options every drive is opened with
// (driveOptions) read the store's write load for the WAL sync pause and
// the staging files' sync-ahead.
func TestDriveOptionsFollowLoad(t *testing.T) {
	var l writeLoad
	o := driveOptions(nil, &l)
	if o.SyncDelay == nil || o.SyncAhead == nil {
		t.Fatalf("SyncDelay set %t, SyncAhead set %t: both must follow the load", o.SyncDelay != nil, o.SyncAhead != nil)
	}
	var done []func()
	for n := range 6 {
		if got, want := o.SyncAhead(), n <= 1; got != want {
			t.Errorf("%d writers: SyncAhead %t, want %t", n, got, want)
		}
		if got, want := o.SyncDelay(), l.syncDelay(); got != want {
			t.Errorf("%d writers: SyncDelay %v, want the load's %v", n, got, want)
		}
		done = append(done, l.begin())
	}
	for _, f := range done {
		f()
	}
}
