package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/objstore/objstore/storage/drive"
)

// testLogger keeps the Store's log and prints it if the test fails.
func testLogger(t testing.TB) *slog.Logger {
	lw := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("store log:\n%s", lw.String())
		}
	})
	return slogTo(lw)
}

func slogTo(lw *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// objects is what a test expects the store to hold: key -> body.
type objects map[string][]byte

// fill stores objects of every storage kind in bucket "b": empty and
// small (inline), one block, several blocks, and a multipart object of
// two parts when multipart is set.
func fill(t testing.TB, s *Store, multipart bool) objects {
	t.Helper()
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	want := objects{
		"empty":      {},
		"inline":     randBytes(1, 1000),
		"one-block":  randBytes(2, 40<<10),
		"multiblock": randBytes(3, 200<<10+7),
		"dir/nested": randBytes(4, 17<<10),
	}
	for k, body := range want {
		put(t, s, "b", k, body)
	}
	if multipart {
		want["mp"] = putMultipart(t, s, "b", "mp", MinPartSize, 3000)
	}
	s.settle() // the tests damage drives next: every record must be there
	return want
}

// putMultipart uploads and completes an object of parts of the given
// sizes.
func putMultipart(t testing.TB, s *Store, bucket, key string, sizes ...int) []byte {
	t.Helper()
	ctx := context.Background()
	up, err := s.NewMultipartUpload(ctx, bucket, key, map[string]string{"content-type": "x/y"})
	if err != nil {
		t.Fatal(err)
	}
	var whole []byte
	var list []CompletePart
	for i, size := range sizes {
		body := randBytes(uint64(1000+i+size), size)
		pi, err := s.PutObjectPart(ctx, bucket, key, up, i+1, bytes.NewReader(body), PutOptions{
			Size: int64(size), Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, CompletePart{Number: i + 1, ETag: pi.ETag})
		whole = append(whole, body...)
	}
	if _, err := s.CompleteMultipartUpload(ctx, bucket, key, up, list, CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
	return whole
}

// verify reads every object back and compares it with want, and checks
// that the bucket lists exactly want's keys.
func verify(t testing.TB, s *Store, want objects) {
	t.Helper()
	for k, body := range want {
		got, err := get(t, s, "b", k, 0, -1)
		if err != nil {
			t.Errorf("get %s: %v", k, err)
			continue
		}
		if !bytes.Equal(got, body) {
			t.Errorf("get %s: %d bytes differ from the %d stored", k, len(got), len(body))
		}
	}
	var listed []string
	res, err := s.ListObjects(context.Background(), "b", ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, o := range res.Objects {
		listed = append(listed, o.Key)
		if int64(len(want[o.Key])) != o.Size {
			t.Errorf("list %s: size %d, want %d", o.Key, o.Size, len(want[o.Key]))
		}
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(listed, ",") != strings.Join(keys, ",") {
		t.Errorf("list: %q, want %q", listed, keys)
	}
}

// version returns the current version record of b/key.
func version(t testing.TB, s *Store, key string) versionRecord {
	t.Helper()
	_, v, err := s.lookup(context.Background(), "b", key, GetOptions{})
	if err != nil {
		t.Fatalf("lookup %s: %v", key, err)
	}
	return v
}

// damageShards applies fn to shard index shard of every part of every
// object in want (whichever drive holds it): file gets the shard file's
// path, inline the drive and the inline key of an inline version.
func damageShards(t testing.TB, s *Store, want objects, shard int, file func(path string), inline func(d Drive, key []byte)) {
	t.Helper()
	ds := s.sets[0].drives()
	n := len(ds)
	for k := range want {
		v := version(t, s, k)
		d := ds[(shard-v.Rotation+n)%n]
		if v.Inline {
			if inline != nil {
				inline(d, inlineKey(v.DataID))
			}
			continue
		}
		for _, part := range v.Parts {
			id := v.partDataID(&part)
			path := filepath.Join(d.Info().Path, "data", id[:2], id, part.File)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("shard %d of %s: %v", shard, k, err)
			}
			file(path)
		}
	}
}

func flipByte(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)*2/3] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncateHalf(t testing.TB, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// rewriteValue changes the value of key on d with fn (nil deletes it).
func rewriteValue(t testing.TB, d Drive, key []byte, fn func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	v, err := d.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	op := drive.Op{Key: key, Delete: true}
	if fn != nil {
		op = drive.Op{Key: key, Value: fn(v)}
	}
	if err := d.Apply(ctx, []drive.Op{op}); err != nil {
		t.Fatal(err)
	}
}

func flipValue(b []byte) []byte     { b[len(b)/2] ^= 0x08; return b }
func truncateValue(b []byte) []byte { return b[:len(b)/2] }

// healTwice runs a pass, which must leave full redundancy, and a second,
// which must find nothing left to heal.
func healTwice(t testing.TB, s *Store) HealStatus {
	t.Helper()
	ctx := context.Background()
	st, err := s.Heal(ctx, HealOptions{})
	if err != nil {
		t.Fatalf("heal: %v (%+v)", err, st)
	}
	checkFullRedundancy(t, s)
	again, err := s.Heal(ctx, HealOptions{})
	if err != nil || again.ObjectsHealed != 0 || again.ObjectsFailed != 0 || again.ObjectsDegraded != 0 {
		t.Fatalf("second pass: %v %+v", err, again)
	}
	return st
}

// TestFaultCases damages up to m drives in each way a drive can fail:
// reads stay correct, writes keep working where the write quorum
// allows, and a heal brings back full redundancy once the fault ends.
func TestFaultCases(t *testing.T) {
	type env struct {
		s    *Store
		fds  []*faultDrive
		dirs []string
		want objects
	}
	// mutate changes objects while the fault lasts, updating want.
	mutate := func(t *testing.T, e *env) {
		ctx := context.Background()
		e.want["one-block"] = randBytes(50, 30<<10)
		put(t, e.s, "b", "one-block", e.want["one-block"])
		e.want["inline"] = randBytes(51, 100)
		put(t, e.s, "b", "inline", e.want["inline"])
		if err := e.s.DeleteObject(ctx, "b", "multiblock", DeleteOptions{}); err != nil {
			t.Fatalf("delete during fault: %v", err)
		}
		delete(e.want, "multiblock")
		e.want["during"] = randBytes(52, 90<<10)
		put(t, e.s, "b", "during", e.want["during"])
	}
	cases := []struct {
		name       string
		multipart  bool
		fault      func(t *testing.T, e *env)
		writes     bool // objects change while the fault lasts
		healOnRead bool // reads alone bring back full redundancy
		clear      func(t *testing.T, e *env)
	}{
		{name: "bit flips in data shards", multipart: true, healOnRead: true, fault: func(t *testing.T, e *env) {
			for _, p := range []int{0, 3} {
				damageShards(t, e.s, e.want, p, func(path string) { flipByte(t, path) },
					func(d Drive, key []byte) { rewriteValue(t, d, key, flipValue) })
			}
		}},
		{name: "bit flips in parity shards", fault: func(t *testing.T, e *env) {
			for _, p := range []int{4, 5} {
				damageShards(t, e.s, e.want, p, func(path string) { flipByte(t, path) },
					func(d Drive, key []byte) { rewriteValue(t, d, key, flipValue) })
			}
		}},
		{name: "truncation", healOnRead: true, fault: func(t *testing.T, e *env) {
			for _, p := range []int{1, 2} {
				damageShards(t, e.s, e.want, p, func(path string) { truncateHalf(t, path) },
					func(d Drive, key []byte) { rewriteValue(t, d, key, truncateValue) })
			}
		}},
		{name: "deleted shard files", healOnRead: true, fault: func(t *testing.T, e *env) {
			for _, p := range []int{2, 0} {
				damageShards(t, e.s, e.want, p, func(path string) { os.RemoveAll(filepath.Dir(path)) },
					func(d Drive, key []byte) { rewriteValue(t, d, key, nil) })
			}
		}},
		{name: "deleted metadata records", multipart: true, healOnRead: true, fault: func(t *testing.T, e *env) {
			for _, p := range []int{0, 5} {
				d := e.s.sets[0].drives()[p]
				for k := range e.want {
					rewriteValue(t, d, objectKey("b", k), nil)
				}
			}
		}},
		{name: "deleted bucket records", fault: func(t *testing.T, e *env) {
			for _, p := range []int{1, 4} {
				rewriteValue(t, e.s.sets[0].drives()[p], bucketKey("b"), nil)
			}
		}},
		{name: "read errors", fault: func(t *testing.T, e *env) {
			var ids []string
			for k := range e.want {
				v := version(t, e.s, k)
				ids = append(ids, v.dataIDs()...)
			}
			e.fds[1].set(func(f *faultDrive) {
				for _, id := range ids {
					f.badIDs[id] = true
				}
			})
			e.fds[2].set(func(f *faultDrive) {
				for _, op := range []string{"get", "open", "read", "iter"} {
					f.fail[op] = errInjectedIO
				}
			})
		}},
		{name: "read-only drive", writes: true, fault: func(t *testing.T, e *env) {
			e.fds[3].set(func(f *faultDrive) { f.readOnly = true })
		}},
		{name: "full disks", writes: true, fault: func(t *testing.T, e *env) {
			e.fds[0].set(func(f *faultDrive) { f.full = true })
			e.fds[4].set(func(f *faultDrive) { f.full = true })
		}},
		{name: "offline drives", writes: true, multipart: true, fault: func(t *testing.T, e *env) {
			e.fds[2].set(func(f *faultDrive) { f.offline = true })
			e.fds[5].set(func(f *faultDrive) { f.offline = true })
		}},
		{name: "removed drive folder", writes: true, fault: func(t *testing.T, e *env) {
			if err := os.RemoveAll(e.dirs[1]); err != nil {
				t.Fatal(err)
			}
		}, clear: func(t *testing.T, e *env) {
			// An empty drive takes the removed one's place (what the
			// drive watcher does for a Store made by Open).
			st := e.s.sets[0]
			old := st.drives()[1]
			old.Close()
			d, err := drive.Open(e.dirs[1], drive.Format{ClusterID: "test-cluster", Set: 0, Position: 1, Zone: "z0"}, drive.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st.replace(1, newFaultDrive(d))
			if err := e.s.healBuckets(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, fds, dirs := faultStore(t, nil)
			e := &env{s: s, fds: fds, dirs: dirs}
			e.want = fill(t, s, tc.multipart)
			tc.fault(t, e)
			verify(t, s, e.want)
			if tc.writes {
				mutate(t, e)
				verify(t, s, e.want)
			}
			if tc.healOnRead {
				s.healq.wait()
				checkRedundancy(t, s, true)
				if t.Failed() {
					t.FailNow()
				}
			}
			if tc.clear != nil {
				tc.clear(t, e)
			}
			for _, fd := range s.sets[0].drives() {
				if f, ok := fd.(*faultDrive); ok {
					f.clear()
				}
			}
			healTwice(t, s)
			verify(t, s, e.want)
		})
	}
}

// TestBeyondRedundancy: with more than m drives failing, reads and
// writes fail with the quorum errors, nothing wrong is returned, and
// when the drives come back everything is there again.
func TestBeyondRedundancy(t *testing.T) {
	ctx := context.Background()
	t.Run("corrupt shards on three drives", func(t *testing.T) {
		s, _, _ := faultStore(t, nil)
		want := fill(t, s, false)
		for _, p := range []int{0, 2, 5} {
			damageShards(t, s, want, p, func(path string) { flipByte(t, path) },
				func(d Drive, key []byte) { rewriteValue(t, d, key, flipValue) })
		}
		for k, body := range want {
			got, err := get(t, s, "b", k, 0, -1)
			if len(body) == 0 {
				continue // nothing to corrupt
			}
			// Damaged beyond repair on drives that answer: not a
			// quorum error, whose 503 asks clients to retry.
			if !errors.Is(err, ErrDataCorrupt) || errors.Is(err, ErrReadQuorum) {
				t.Errorf("get %s: %v, want ErrDataCorrupt", k, err)
			}
			if !bytes.Equal(got, body[:len(got)]) {
				t.Errorf("get %s: wrote bytes that are not the object's", k)
			}
			if _, err := s.HealObject(ctx, "b", k); !errors.Is(err, ErrDataCorrupt) {
				t.Errorf("heal %s: %v, want ErrDataCorrupt", k, err)
			}
		}
	})
	t.Run("three drives offline", func(t *testing.T) {
		s, fds, _ := faultStore(t, nil)
		want := fill(t, s, false)
		for _, p := range []int{1, 3, 5} {
			fds[p].set(func(f *faultDrive) { f.offline = true })
		}
		if _, err := get(t, s, "b", "multiblock", 0, -1); !errors.Is(err, ErrReadQuorum) {
			t.Errorf("get: %v, want ErrReadQuorum", err)
		}
		if _, err := s.PutObject(ctx, "b", "new", bytes.NewReader([]byte("x")), PutOptions{Size: 1}); !errors.Is(err, ErrWriteQuorum) {
			t.Errorf("put: %v, want ErrWriteQuorum", err)
		}
		if _, err := s.PutObject(ctx, "b", "new", bytes.NewReader(make([]byte, 100<<10)), PutOptions{Size: 100 << 10}); !errors.Is(err, ErrWriteQuorum) {
			t.Errorf("put large: %v, want ErrWriteQuorum", err)
		}
		if err := s.DeleteObject(ctx, "b", "inline", DeleteOptions{}); !errors.Is(err, ErrReadQuorum) && !errors.Is(err, ErrWriteQuorum) {
			t.Errorf("delete: %v, want a quorum error", err)
		}
		if _, err := s.ListObjects(ctx, "b", ListOptions{}); !errors.Is(err, ErrReadQuorum) {
			t.Errorf("list: %v, want ErrReadQuorum", err)
		}
		if err := s.Ready(ctx); !errors.Is(err, ErrWriteQuorum) {
			t.Errorf("ready: %v", err)
		}
		for _, fd := range fds {
			fd.clear()
		}
		verify(t, s, want)
		healTwice(t, s)
	})
}

// TestHealObjectReport checks HealObject's counts on one damaged object.
func TestHealObjectReport(t *testing.T) {
	s, _, _ := faultStore(t, nil)
	ctx := context.Background()
	want := fill(t, s, false)
	one := objects{"multiblock": want["multiblock"]}
	damageShards(t, s, one, 1, func(path string) { flipByte(t, path) }, nil)
	res, err := s.HealObject(ctx, "b", "multiblock")
	if err != nil || res.ShardsHealed != 1 || res.ShardsChecked != 6 || res.Versions != 1 || res.Degraded || res.BytesChecked == 0 {
		t.Fatalf("heal: %+v %v", res, err)
	}
	res, err = s.HealObject(ctx, "b", "multiblock")
	if err != nil || res.Healed() {
		t.Fatalf("second heal: %+v %v", res, err)
	}
	res, err = s.HealObject(ctx, "b", "no-such-key")
	if err != nil || res.Versions != 0 || res.Healed() {
		t.Fatalf("heal of a missing key: %+v %v", res, err)
	}
	checkFullRedundancy(t, s)
	_ = fmt.Sprint()
}
