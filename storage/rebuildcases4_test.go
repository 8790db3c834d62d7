package storage

// Cases a fourth review of the rebuild tracking (2ecfed5) found. Each
// failed before its fix. The comments tell each defect as it was before
// the fix. (A folder whose tmp/ holds files is now refused at start, as
// the watcher refuses it, rather than formatted unmarked.)

import (
	"bytes"
	"errors"

	"context"
	"github.com/objstore/objstore/storage/drive"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestStartCountsOnlyDrivesThatOpen: Open counts as holders
// every folder with this cluster's format.json (held), before drive.Open
// has looked at them. Two disks mounted on each other's mount points
// (device names reordered at boot) are refused (ErrWrongPosition) but
// counted, so with a third disk not mounted its empty mount point is
// formatted though only three drives hold the data. The set then takes
// writes (D2-D4 and the root-fs folder); once the disks are where they
// belong, the new object is on three drives and is rolled back.
func TestStartCountsOnlyDrivesThatOpen(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "old", randBytes(1, 200_000))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	swap := func() {
		t.Helper()
		for _, r := range [][2]string{{dirs[0], dirs[0] + ".x"}, {dirs[1], dirs[0]}, {dirs[0] + ".x", dirs[1]}} {
			if err := os.Rename(r[0], r[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	swap()                         // disks 0 and 1 on each other's mount points
	remount := unmount(t, dirs, 5) // disk 5 not mounted
	s = openManual(t, dirs)
	_, ferr := os.Stat(filepath.Join(dirs[5], "format.json"))
	body := randBytes(2, 200_000)
	_, perr := s.PutObject(ctx, "b", "new", bytes.NewReader(body), PutOptions{Size: int64(len(body))})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	swap()
	remount()
	s = openManual(t, dirs)
	defer s.Close()
	s.Heal(ctx, HealOptions{})
	got, gerr := get(t, s, "b", "new", 0, -1)
	t.Logf("put: %v", perr)
	if ferr == nil || (perr == nil && (gerr != nil || !bytes.Equal(got, body))) {
		t.Fatalf("empty mount point formatted with 3 holders online: %v; PUT acknowledged: %v; after the disks are back: %v",
			ferr == nil, perr == nil, gerr)
	}
}

// markAtFormat is a slog handler that, when drive.Open logs its format,
// records whether the rebuild mark was already in dir: a crash right
// after the format leaves what it saw.
type markAtFormat struct {
	slog.Handler
	dir    string
	marked atomic.Int32 // 1 marked, 2 not
}

func (h *markAtFormat) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "drive: formatted") {
		if isRebuilding(h.dir) {
			h.marked.CompareAndSwap(0, 1)
		} else {
			h.marked.CompareAndSwap(0, 2)
		}
	}
	return h.Handler.Handle(ctx, r)
}
func (h *markAtFormat) WithAttrs(a []slog.Attr) slog.Handler {
	return &markAtFormatW{h, h.Handler.WithAttrs(a)}
}

type markAtFormatW struct {
	p *markAtFormat
	slog.Handler
}

func (w *markAtFormatW) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "drive: formatted") {
		if isRebuilding(w.p.dir) {
			w.p.marked.CompareAndSwap(0, 1)
		} else {
			w.p.marked.CompareAndSwap(0, 2)
		}
	}
	return w.Handler.Handle(ctx, r)
}
func (w *markAtFormatW) WithAttrs(a []slog.Attr) slog.Handler {
	return &markAtFormatW{w.p, w.Handler.WithAttrs(a)}
}

// TestStartNeverFormatsUnmarked: at start the mark
// is written first only when emptyFolder says the folder is empty, but
// drive.Open (checkFormattable) also formats a folder whose tmp/ holds
// files. Such a folder is formatted unmarked; markRebuilding writes the
// mark only after newStore (loadBuckets, healBuckets...). A crash in
// between leaves an empty drive a restart counts as a holder. At run
// time the same folder is refused ("holds files but no format").
func TestStartNeverFormatsUnmarked(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openManual(t, dirs)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	unmount(t, dirs, 5)
	if err := os.MkdirAll(filepath.Join(dirs[5], "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[5], "tmp", "leftover"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &markAtFormat{Handler: slog.NewTextHandler(&logBuffer{}, nil), dir: dirs[5]}
	s = openStore(t, dirs, func(c *Config) { c.DriveCheckInterval = 1 << 62; c.Logger = slog.New(h) })
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dirs[5], "format.json")); err == nil && h.marked.Load() != 1 {
		t.Fatalf("folder formatted at start without the rebuild mark written first (marked=%d)", h.marked.Load())
	}
}

// TestStartCountsOnlyDrivesThatOpenKEqualsM: the same in a 2+2
// layout (write quorum k+1): drive 1 formatted but its metadata store
// will not open, disks 2 and 3 not mounted. Both empty mount points are
// formatted (held = 2 counted drive 1), and the start-up pass rolls back
// every object on drive 0, the one drive left holding it, and drops its
// shards there.
func TestStartCountsOnlyDrivesThatOpenKEqualsM(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())[:4]
	mod := func(c *Config) { c.DataShards, c.ParityShards = 2, 2; c.DriveCheckInterval = 1 << 62 }
	s := openStore(t, dirs, mod)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "old", randBytes(1, 200_000))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dirs[1], "meta")
	if err := os.Rename(meta, meta+".aside"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, nil, 0o600); err != nil { // pebble cannot open it
		t.Fatal(err)
	}
	unmount(t, dirs, 2, 3)
	s = openStore(t, dirs, mod)
	defer s.Close()
	for s.HealStatus().Running || s.HealStatus().Pass == 0 {
		if _, err := s.Heal(ctx, HealOptions{}); err != ErrHealRunning {
			break
		}
	}
	raw, rerr := s.sets[0].drives()[0].Get(ctx, objectKey("b", "old"))
	_, f2 := os.Stat(filepath.Join(dirs[2], "format.json"))
	t.Logf("drive 0 record: %d bytes, %v; folder 2 formatted: %v", len(raw), rerr, f2 == nil)
	if f2 == nil || rerr != nil {
		t.Fatalf("with one drive holding the data online, the empty mount points were formatted (%v) and drive 0's record is gone (%v)", f2 == nil, rerr)
	}
}

// TestRebuildGoesOnWhenAnUploadIsUndecided: the sibling of
// TestRebuildGoesOnWhenTheQueueRollsBack. healUpload's "left to the
// object heal" branch marks every drive short, but the loop returns nil
// before it when any drive fails to answer the object record read
// (scanmeta.go, rerrs[p] != nil): no drive is short, the heal queue rolls
// the completion back and gives drive 5 part records without shards,
// and the pass ends drive 5's rebuild.
func TestRebuildGoesOnWhenAnUploadIsUndecided(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		put(t, s, "b", "a"+string(rune('0'+i)), randBytes(uint64(i), 1000))
	}
	fds[5].set(func(f *faultDrive) { f.offline = true })
	up, pi := startUpload(t, s, "b", "mp")
	ukey, pkey := uploadKey("b", "mp", up), partKey(up, 1)
	uval, _ := fds[3].Drive.Get(ctx, ukey)
	pval, _ := fds[3].Drive.Get(ctx, pkey)
	if _, err := s.CompleteMultipartUpload(ctx, "b", "mp", up, []CompletePart{{Number: 1, ETag: pi.ETag}}, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.settle()
	s.healq.wait()
	t.Logf("after complete: %+v", s.HealStatus())
	for _, p := range []int{3, 4} {
		if err := fds[p].Drive.Apply(ctx, []drive.Op{{Key: objectKey("b", "mp"), Delete: true},
			{Key: ukey, Value: uval}, {Key: pkey, Value: pval}}); err != nil {
			t.Fatal(err)
		}
	}
	fds[5].set(func(f *faultDrive) { f.offline = false })
	s.markRebuilding(dirs[5])
	// Drive 0 fails its point reads (not its iterators) for the pass.
	fds[0].set(func(f *faultDrive) { f.fail["get"] = errors.New("injected read error") })
	done := slowPass(t, s, 5, 1)
	s.queueHeal("b", "mp", false)
	s.healq.wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fds[0].clear()
	for p := range fds {
		_, e1 := fds[p].Drive.Get(ctx, objectKey("b", "mp"))
		_, e2 := fds[p].Drive.Get(ctx, pkey)
		_, e3 := fds[p].Drive.Get(ctx, ukey)
		t.Logf("drive %d: object %v part %v upload %v", p, e1, e2, e3)
	}
	t.Logf("status %+v", s.HealStatus())
	raw, err := fds[5].Drive.Get(ctx, pkey)
	if err != nil {
		t.Fatalf("setup: drive 5 was not given the part record: %v", err)
	}
	part, _ := decodePart(raw)
	if _, err := fds[5].Drive.OpenData(ctx, part.DataID, part.File); err != nil && !s.beingRebuilt(dirs[5]) {
		t.Fatalf("drive 5's rebuild ended though it holds a part record without its shard: %v", err)
	}
}

// TestFailingSetDoesNotBlockOtherRebuilds: a pass that fails in one set
// (three of its drives away: its keys cannot be listed) ends no rebuild
// in any set, though set 0's replacement got everything. While set 1
// stays down, set 0's replacement never counts, and set 0 is back to
// the "stuck" state 16ecb7b fixed within a set.
func TestFailingSetDoesNotBlockOtherRebuilds(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	cfg := Config{DataShards: 4, ParityShards: 2, BlockSize: 64 << 10, InlineLimit: 16 << 10, ScanInterval: -1,
		ScanObjectsPerSecond: -1, ScanBytesPerSecond: -1, Logger: testLogger(t)}
	var sets [][]Drive
	var fds [][]*faultDrive
	var dirs [][]string
	for si := range 2 {
		var ds []Drive
		var fs []*faultDrive
		var dd []string
		for i := range 6 {
			dir := filepath.Join(root, "s"+string(rune('0'+si))+"d"+string(rune('0'+i)))
			d, err := drive.Open(dir, drive.Format{ClusterID: "c", Set: si, Position: i, Zone: "z"}, drive.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fd := newFaultDrive(d)
			ds, fs, dd = append(ds, fd), append(fs, fd), append(dd, dir)
		}
		sets, fds, dirs = append(sets, ds), append(fds, fs), append(dirs, dd)
	}
	s, err := New(cfg, sets)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		put(t, s, "b", "k"+string(rune('a'+i)), randBytes(uint64(i), 1000))
	}
	s.settle()
	for p := range 3 {
		fds[1][p].set(func(f *faultDrive) { f.offline = true })
	}
	s.markRebuilding(dirs[0][5])
	st, err := s.Heal(ctx, HealOptions{})
	t.Logf("pass: %v", err)
	s.scan.mu.Lock()
	short := s.scan.short[dirs[0][5]]
	s.scan.mu.Unlock()
	if !short && s.beingRebuilt(dirs[0][5]) {
		t.Fatalf("set 0's replacement left short of nothing (failed %d), yet still rebuilding because set 1 failed the pass", st.ObjectsFailed)
	}
}
