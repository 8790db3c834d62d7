package storage

// Cases a review of the per-drive rebuild tracking (16ecb7b) found: each
// ended a rebuild that should have gone on (the first lost every object
// of the set once the unmounted disks came back) or called a readable
// object corrupt. Each failed before its fix.
// The comments tell each defect as it was before the fix.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// TestRebuildGoesOnWhileOthersAreAway: a drive being rebuilt (formatted in
// place of a failed one, marked "rebuilding") and a restart with two other
// disks of the set not mounted. Every object then has 3 holders + 2 unknown:
// ambiguous, not visible, so the pass gives drive 5 nothing and marks only
// drives 3 and 4 short. The pass ends drive 5's rebuild although it holds
// nothing; drive 5 then counts as a holder, the two empty mount points are
// formatted, and the next pass rolls every object back.
func TestRebuildGoesOnWhileOthersAreAway(t *testing.T) {
	ctx := context.Background()
	dirs := driveDirs(t.TempDir())
	s := openWatched(t, dirs, &logBuffer{})
	bodies := fillBucket(t, s, 4, 70_000) // inline and not
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Drive 5 was replaced and the machine restarted before its rebuild
	// ended: a formatted, empty drive with the rebuilding mark.
	fm, err := drive.ReadFormat(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dirs[5], dirs[5]+".dead"); err != nil {
		t.Fatal(err)
	}
	d, err := drive.Open(dirs[5], drive.Format{Version: 1, ClusterID: fm.ClusterID, Set: 0, Position: 5, Zone: "zone-2"}, drive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := writeSynced(filepath.Join(dirs[5], rebuildingFile)); err != nil {
		t.Fatal(err)
	}
	// ... and disks 3 and 4 did not mount.
	remount := unmount(t, dirs, 3, 4)
	log := &logBuffer{}
	s = openWatched(t, dirs, log)
	waitFor(t, "the start-up pass", func() bool { st := s.HealStatus(); return st.Pass >= 1 && !st.Running })
	rebuilding := s.beingRebuilt(dirs[5])
	// Let the watcher see the empty folders twice.
	time.Sleep(300 * time.Millisecond)
	formatted := []int{}
	for _, p := range []int{3, 4} {
		if _, err := os.Stat(filepath.Join(dirs[p], "format.json")); err == nil {
			formatted = append(formatted, p)
		}
	}
	for { // the pass the formats requested
		if _, err := s.Heal(ctx, HealOptions{}); err != ErrHealRunning {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	remount()
	s = openWatched(t, dirs, &logBuffer{})
	defer s.Close()
	lost := []string{}
	for key, want := range bodies {
		got, err := get(t, s, "b", key, 0, -1)
		if err != nil || !bytes.Equal(got, want) {
			lost = append(lost, fmt.Sprintf("%s: %v", key, err))
		}
	}
	if rebuilding == false || len(formatted) > 0 || len(lost) > 0 {
		t.Fatalf("drive 5 still rebuilding after a pass that gave it nothing: %v; unmounted folders formatted: %v; objects lost after the disks came back: %v",
			rebuilding, formatted, lost)
	}
}

// TestRebuildGoesOnWhenUploadsUnread: healUpload skips a drive whose upload
// records it could not read (errs[p] != nil) and does not count it short,
// unlike healRecords for object records. A drive being rebuilt whose
// iterator fails during the pass gets neither the upload's records nor its
// part shards (holders() finds no part record there), yet its rebuild ends.
func TestRebuildGoesOnWhenUploadsUnread(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	// Drive 5 is away while the upload and its part are written: it
	// holds none of them, as an empty replacement would.
	fds[5].set(func(f *faultDrive) { f.offline = true })
	up, err := s.NewMultipartUpload(ctx, "b", "mp", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := randBytes(9, 300_000)
	if _, err := s.PutObjectPart(ctx, "b", "mp", up, 1, bytes.NewReader(body), PutOptions{Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	fds[5].set(func(f *faultDrive) { f.offline = false })
	s.markRebuilding(dirs[5])
	// Drive 5's iterators fail (a passing I/O error) during the pass.
	fds[5].set(func(f *faultDrive) { f.fail["iter"] = errInjectedIO })
	st, err := s.Heal(ctx, HealOptions{})
	t.Logf("pass: %+v, %v", st, err)
	fds[5].clear()
	_, uerr := fds[5].Drive.Get(ctx, uploadKey("b", "mp", up))
	if err != nil {
		t.Fatalf("the pass failed, so it could end no rebuild: %v", err)
	}
	if !s.beingRebuilt(dirs[5]) {
		t.Fatalf("drive 5's rebuild ended though it holds neither the upload record (%v) nor the part", uerr)
	}
}

// TestRebuildGoesOnBesideALostPart: an object with one part lost
// for good (ErrDataCorrupt) and another part whose rebuilt shard could not
// be written to the drive being rebuilt. healShards returns the write
// failure without leftShort, and noteShort saw errors.Is(err,
// ErrDataCorrupt) on the joined error, so it counted no drive short: the
// rebuild ended though part 2, which is recoverable, was missing there.
func TestRebuildGoesOnBesideALostPart(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	putMultipart(t, s, "b", "mp", MinPartSize, 300_000)
	fds[5].set(func(f *faultDrive) {}) // settle
	raw, err := fds[0].Drive.Get(ctx, objectKey("b", "mp"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeObject(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	v := rec.Versions[0]
	p1 := v.partDataID(&v.Parts[0])
	for _, p := range []int{0, 1, 2} { // part 1 lost for good
		if err := fds[p].Drive.RemoveData(ctx, p1); err != nil {
			t.Fatal(err)
		}
	}
	// Drive 5 is an empty replacement: no record, no shards.
	if err := fds[5].Drive.Apply(ctx, []drive.Op{{Key: objectKey("b", "mp"), Delete: true}}); err != nil {
		t.Fatal(err)
	}
	for i := range v.Parts {
		if err := fds[5].Drive.RemoveData(ctx, v.partDataID(&v.Parts[i])); err != nil {
			t.Fatal(err)
		}
	}
	s.markRebuilding(dirs[5])
	fds[5].set(func(f *faultDrive) { f.fail["write"] = errInjectedIO })
	st, err := s.Heal(ctx, HealOptions{})
	t.Logf("pass: failed %d degraded %d, %v; %q", st.ObjectsFailed, st.ObjectsDegraded, err, st.LastError)
	fds[5].clear()
	p2 := v.partDataID(&v.Parts[1])
	_, oerr := fds[5].Drive.OpenData(ctx, p2, v.Parts[1].File)
	if err != nil {
		t.Fatalf("the pass failed, so it could end no rebuild: %v", err)
	}
	if oerr == nil {
		t.Fatal("set-up: drive 5 got part 2's shard despite the injected write error")
	}
	if !s.beingRebuilt(dirs[5]) {
		t.Fatalf("drive 5's rebuild ended without part 2's shard (%v), which the other drives could rebuild", oerr)
	}
}

// flipBlock flips a byte in the middle of block b of the shard stream the
// drive folder dir holds for dataID (BlockSize 64 KiB, k = 4: 16 KiB shard
// blocks).
func flipBlock(t *testing.T, dir, dataID string, b int64) {
	t.Helper()
	path := filepath.Join(dir, "data", dataID[:2], dataID, "part.1")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off := 32 + b*(8+16384) + 8 + 8192
	one := make([]byte, 1)
	if _, err := f.ReadAt(one, off); err != nil {
		t.Fatal(err)
	}
	one[0] ^= 0x40
	if _, err := f.WriteAt(one, off); err != nil {
		t.Fatal(err)
	}
}

// TestReadCorruptJudgedByTheFailingBlock: countDamaged counts each shard's
// first fault anywhere in the stream (DecodeResult.Errs), not the faults
// of the block that lost its quorum. Four single-block bitrots on four
// drives, in blocks where each is harmless, plus one drive offline make
// block 5 fail for want of the offline drive; the read says "corrupt
// beyond repair" (500), yet once the drive is back the object reads.
func TestReadCorruptJudgedByTheFailingBlock(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	body := randBytes(5, 1<<20) // 16 blocks
	put(t, s, "b", "o", body)
	fds[0].set(func(f *faultDrive) {}) // settle
	raw, err := fds[0].Drive.Get(ctx, objectKey("b", "o"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := decodeObject(raw, true)
	id := rec.Versions[0].DataID
	flipBlock(t, dirs[0], id, 1)
	flipBlock(t, dirs[1], id, 3)
	flipBlock(t, dirs[2], id, 5)
	flipBlock(t, dirs[5], id, 5)
	fds[3].set(func(f *faultDrive) { f.offline = true })
	_, gerr := get(t, s, "b", "o", 0, -1)
	fds[3].set(func(f *faultDrive) { f.offline = false })
	got, err := get(t, s, "b", "o", 0, -1)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("with every drive back: %v", err)
	}
	if errors.Is(gerr, ErrDataCorrupt) {
		t.Fatalf("read with drive 3 offline: %v\nbut the object reads once drive 3 is back", gerr)
	}
}

// TestRebuildGoesOnWhenHealCallsCorrupt: healShards judges shards whole
// (codec.Verify): two drives with a bitrot each, in different blocks, and
// a drive being rebuilt make good (3) < k, so the heal says ErrDataCorrupt
// and repairs nothing, though every block has k good shards and the object
// reads. noteShort took ErrDataCorrupt for "lost for good" and ended the
// rebuild of drive 5, which lacked the object's shard. (Any failed heal
// now counts against every drive.)
func TestRebuildGoesOnWhenHealCallsCorrupt(t *testing.T) {
	ctx := context.Background()
	s, fds, dirs := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	body := randBytes(6, 1<<20)
	put(t, s, "b", "o", body)
	fds[0].set(func(f *faultDrive) {}) // settle
	raw, err := fds[0].Drive.Get(ctx, objectKey("b", "o"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := decodeObject(raw, true)
	id := rec.Versions[0].DataID
	if err := fds[5].Drive.RemoveData(ctx, id); err != nil { // the replacement's missing shard
		t.Fatal(err)
	}
	flipBlock(t, dirs[0], id, 1)
	flipBlock(t, dirs[1], id, 3)
	s.markRebuilding(dirs[5])
	st, herr := s.Heal(ctx, HealOptions{})
	t.Logf("pass: failed %d, %v; %q", st.ObjectsFailed, herr, st.LastError)
	got, gerr := get(t, s, "b", "o", 0, -1)
	_, oerr := fds[5].Drive.OpenData(ctx, id, "part.1")
	if gerr != nil || !bytes.Equal(got, body) {
		t.Fatalf("set-up: the object does not read (%v): every block should have k good shards", gerr)
	}
	if herr != nil || oerr == nil {
		t.Fatalf("set-up: pass %v, drive 5's shard %v: want a pass without error and no shard", herr, oerr)
	}
	if !s.beingRebuilt(dirs[5]) {
		t.Fatalf("the object reads (every block has k good shards), but the heal called it corrupt beyond repair (%q), rebuilt nothing, and ended drive 5's rebuild without its shard (%v)", st.LastError, oerr)
	}
}

// TestAmbiguousHealLeavesEveryDriveShort: a heal that cannot tell whether
// a version exists (too few holders, drives silent that may hold it)
// gives it to no drive, so it leaves every drive short: a drive being
// rebuilt that lacks it must not count as holding the set's data.
func TestAmbiguousHealLeavesEveryDriveShort(t *testing.T) {
	ctx := context.Background()
	s, fds, _ := faultStore(t, nil)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	fds[5].set(func(f *faultDrive) { f.offline = true })
	put(t, s, "b", "k", randBytes(4, 300_000))
	fds[5].set(func(f *faultDrive) { f.offline = false })
	for _, p := range []int{3, 4} {
		fds[p].set(func(f *faultDrive) { f.offline = true })
	}
	res, err := s.HealObject(ctx, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	if !res.short[5] {
		t.Fatalf("heal of an undecided version: drives left short %v, want every one (drive 5 lacks it)", res.short)
	}
}

// fillBucket makes bucket "b" and puts n objects k0, k1... of 100 + i*step
// bytes (the first inline, the others not), returned by key.
func fillBucket(t *testing.T, s *Store, n, step int) map[string][]byte {
	t.Helper()
	if err := s.MakeBucket(context.Background(), "b", ""); err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{}
	for i := range n {
		key := fmt.Sprintf("k%d", i)
		bodies[key] = randBytes(uint64(i), 100+i*step)
		put(t, s, "b", key, bodies[key])
	}
	return bodies
}

// startUpload begins an upload of bucket/key and sends its part 1, of
// 300,000 bytes.
func startUpload(t *testing.T, s *Store, bucket, key string) (string, PartInfo) {
	t.Helper()
	ctx := context.Background()
	up, err := s.NewMultipartUpload(ctx, bucket, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := randBytes(9, 300_000)
	pi, err := s.PutObjectPart(ctx, bucket, key, up, 1, bytes.NewReader(body), PutOptions{Size: int64(len(body)),
		Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return up, pi
}

// slowPass starts a heal pass of rate objects a second and returns once
// it has scanned n objects; the channel gives the pass's end.
func slowPass(t *testing.T, s *Store, rate float64, n int64) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := s.Heal(context.Background(), HealOptions{ObjectsPerSecond: rate})
		done <- err
	}()
	waitFor(t, "the pass to be among the objects", func() bool { return s.HealStatus().ObjectsScanned >= n })
	return done
}
