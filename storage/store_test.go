package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testStore opens a 4+2 store over six fresh folders in three zones,
// with small blocks and a small inline limit so tests cross them often.
func testStore(t testing.TB) (*Store, []string) {
	t.Helper()
	return openTestStore(t, 64<<10, 16<<10)
}

// testStoreDefault is testStore with the production block size and
// inline limit, for benchmarks.
func testStoreDefault(t testing.TB) (*Store, []string) {
	t.Helper()
	return openTestStore(t, 0, 0)
}

func openTestStore(t testing.TB, block, inline int) (*Store, []string) {
	t.Helper()
	root := t.TempDir()
	var dirs []string
	var drives []DriveConfig
	for i := range 6 {
		dir := filepath.Join(root, fmt.Sprintf("drive%d", i))
		dirs = append(dirs, dir)
		drives = append(drives, DriveConfig{Path: dir, Zone: fmt.Sprintf("zone-%c", 'a'+i/2)})
	}
	s, err := Open(context.Background(), Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: block, InlineLimit: inline})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dirs
}

func md5hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

// put stores body with an ETag computed the way the S3 layer does.
func put(t testing.TB, s *Store, bucket, key string, body []byte) ObjectInfo {
	t.Helper()
	oi, err := s.PutObject(context.Background(), bucket, key, bytes.NewReader(body), PutOptions{
		Size:     int64(len(body)),
		Metadata: map[string]string{"content-type": "text/plain"},
		Finish:   func() (string, map[string]string, error) { return md5hex(body), nil, nil },
	})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return oi
}

// tryPut stores body as b/key with an MD5 ETag and the precondition
// pre (nil: none), and returns the write's error rather than failing.
func tryPut(ctx context.Context, s *Store, key string, body []byte, pre func(*ObjectInfo) error) (ObjectInfo, error) {
	return s.PutObject(ctx, "b", key, bytes.NewReader(body), PutOptions{
		Size:         int64(len(body)),
		Metadata:     map[string]string{"content-type": "application/octet-stream"},
		Finish:       func() (string, map[string]string, error) { return md5hex(body), nil, nil },
		Precondition: pre,
	})
}

func get(t testing.TB, s *Store, bucket, key string, off, n int64) ([]byte, error) {
	t.Helper()
	r, err := s.OpenObject(context.Background(), bucket, key, GetOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if n < 0 {
		n = r.Info().Size - off
	}
	var buf bytes.Buffer
	err = r.WriteRange(context.Background(), &buf, off, n)
	return buf.Bytes(), err
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestPutGetSizes(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1, 100, 16 << 10, 16<<10 + 1, 64 << 10, 64<<10 + 3, 300 << 10, 1<<20 + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			body := randBytes(uint64(size), size)
			key := fmt.Sprintf("obj-%d", size)
			oi := put(t, s, "b", key, body)
			if oi.Size != int64(size) || oi.ETag != md5hex(body) {
				t.Fatalf("info %+v", oi)
			}
			got, err := get(t, s, "b", key, 0, -1)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("get: err %v, equal %v", err, bytes.Equal(got, body))
			}
			info, err := s.ObjectInfo(ctx, "b", key, GetOptions{})
			if err != nil || info.Metadata["content-type"] != "text/plain" || info.ETag != md5hex(body) {
				t.Fatalf("info %+v %v", info, err)
			}
			r := rand.New(rand.NewPCG(uint64(size), 1))
			for range 20 {
				if size == 0 {
					break
				}
				off := r.Int64N(int64(size))
				n := r.Int64N(int64(size) - off + 1)
				got, err := get(t, s, "b", key, off, n)
				if err != nil || !bytes.Equal(got, body[off:off+n]) {
					t.Fatalf("range %d+%d: err %v", off, n, err)
				}
			}
		})
	}
}

func TestOverwriteDeleteAndPersistence(t *testing.T) {
	s, dirs := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "eu")
	big1, big2 := randBytes(1, 200<<10), randBytes(2, 300<<10)
	put(t, s, "b", "k", big1)
	put(t, s, "b", "k", big2)
	if got, err := get(t, s, "b", "k", 0, -1); err != nil || !bytes.Equal(got, big2) {
		t.Fatalf("overwrite: %v", err)
	}
	// The first version's data directory is gone from every drive.
	for _, d := range dirs {
		n := countDataDirs(t, d)
		if n != 1 {
			t.Fatalf("%s holds %d data dirs, want 1", d, n)
		}
	}
	if err := s.DeleteObject(ctx, "b", "k", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObjectInfo(ctx, "b", "k", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.DeleteObject(ctx, "b", "k", DeleteOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	for _, d := range dirs {
		if n := countDataDirs(t, d); n != 0 {
			t.Fatalf("%s holds %d data dirs after delete", d, n)
		}
	}
	put(t, s, "b", "small", []byte("hello"))
	put(t, s, "b", "large", big1)
	s.Close()

	drives := make([]DriveConfig, len(dirs))
	for i, d := range dirs {
		drives[i] = DriveConfig{Path: d, Zone: "z"}
	}
	s2, err := Open(ctx, Config{Drives: drives, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10, InlineLimit: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	bi, err := s2.BucketInfo(ctx, "b")
	if err != nil || bi.Location != "eu" {
		t.Fatalf("bucket after reopen: %+v %v", bi, err)
	}
	if got, err := get(t, s2, "b", "small", 0, -1); err != nil || string(got) != "hello" {
		t.Fatalf("small after reopen: %q %v", got, err)
	}
	if got, err := get(t, s2, "b", "large", 0, -1); err != nil || !bytes.Equal(got, big1) {
		t.Fatalf("large after reopen: %v", err)
	}
}

func countDataDirs(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	fans, _ := os.ReadDir(filepath.Join(dir, "data"))
	for _, f := range fans {
		ids, _ := os.ReadDir(filepath.Join(dir, "data", f.Name()))
		n += len(ids)
	}
	return n
}

func TestBuckets(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	for _, b := range []string{"zeta", "alpha", "mid"} {
		if err := s.MakeBucket(ctx, b, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MakeBucket(ctx, "alpha", ""); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("duplicate: %v", err)
	}
	bs, _ := s.ListBuckets(ctx)
	if len(bs) != 3 || bs[0].Name != "alpha" || bs[2].Name != "zeta" {
		t.Fatalf("list: %+v", bs)
	}
	put(t, s, "mid", "x", []byte("1"))
	if err := s.DeleteBucket(ctx, "mid"); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatalf("non-empty delete: %v", err)
	}
	if _, err := s.NewMultipartUpload(ctx, "alpha", "u", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "alpha"); err != nil {
		t.Fatalf("delete with upload: %v", err)
	}
	if _, err := s.BucketInfo(ctx, "alpha"); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := s.PutObject(ctx, "nope", "k", strings.NewReader(""), PutOptions{}); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("put to missing bucket: %v", err)
	}
}

func TestPreconditionAndBodyErrors(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	ifNoneMatch := func(cur *ObjectInfo) error {
		if cur != nil {
			return ErrPreconditionFailed
		}
		return nil
	}
	for _, size := range []int{10, 100 << 10} {
		key := fmt.Sprint("k", size)
		body := randBytes(3, size)
		opts := PutOptions{Size: int64(size), Precondition: ifNoneMatch}
		if _, err := s.PutObject(ctx, "b", key, bytes.NewReader(body), opts); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutObject(ctx, "b", key, bytes.NewReader(body), opts); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("second put: %v", err)
		}
		short := PutOptions{Size: int64(size) + 1}
		if _, err := s.PutObject(ctx, "b", key+"s", bytes.NewReader(body), short); !errors.Is(err, ErrIncompleteBody) {
			t.Fatalf("short body: %v", err)
		}
		long := PutOptions{Size: int64(size) - 1}
		if _, err := s.PutObject(ctx, "b", key+"l", bytes.NewReader(body), long); !errors.Is(err, ErrEntityTooLarge) {
			t.Fatalf("long body: %v", err)
		}
		bad := errors.New("checksum mismatch")
		veto := PutOptions{Size: int64(size), Finish: func() (string, map[string]string, error) { return "", nil, bad }}
		if _, err := s.PutObject(ctx, "b", key+"v", bytes.NewReader(body), veto); !errors.Is(err, bad) {
			t.Fatalf("veto: %v", err)
		}
		for _, suffix := range []string{"s", "l", "v"} {
			if _, err := s.ObjectInfo(ctx, "b", key+suffix, GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
				t.Fatalf("failed put %s visible: %v", suffix, err)
			}
		}
	}
}

func TestConcurrentConditionalPut(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	const writers = 16
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			_, err := s.PutObject(ctx, "b", "race", strings.NewReader(fmt.Sprint(i)), PutOptions{Size: int64(len(fmt.Sprint(i))), Precondition: func(cur *ObjectInfo) error {
				if cur != nil {
					return ErrPreconditionFailed
				}
				return nil
			}})
			errs <- err
		}()
	}
	ok := 0
	for range writers {
		if err := <-errs; err == nil {
			ok++
		} else if !errors.Is(err, ErrPreconditionFailed) {
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d writers won If-None-Match: *, want 1", ok)
	}
}

func TestUpdateMetadata(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	s.MakeBucket(ctx, "b", "")
	body := randBytes(5, 50<<10)
	put(t, s, "b", "k", body)
	oi, err := s.UpdateMetadata(ctx, "b", "k", "", map[string]string{"x-amz-meta-a": "1"}, nil)
	if err != nil || oi.Metadata["x-amz-meta-a"] != "1" {
		t.Fatalf("update: %+v %v", oi, err)
	}
	info, _ := s.ObjectInfo(ctx, "b", "k", GetOptions{})
	if info.Metadata["x-amz-meta-a"] != "1" || info.Metadata["content-type"] != "" || info.ETag != md5hex(body) {
		t.Fatalf("after update: %+v", info)
	}
	if got, err := get(t, s, "b", "k", 0, -1); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("data after update: %v", err)
	}
}

func TestModTimeOrder(t *testing.T) {
	vs := []versionRecord{{ModTime: 1}, {ModTime: 3}, {ModTime: 2}}
	sortVersions(vs)
	if vs[0].ModTime != 3 || vs[2].ModTime != 1 {
		t.Fatalf("order %v", vs)
	}
}
