package storage

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

var (
	modelSeed = flag.Uint64("seed", 0, "seed of TestRandomizedFaults; 0 picks one from the clock")
	modelOps  = flag.Int("model.ops", 250, "operations of TestRandomizedFaults")
)

// TestRandomizedFaults mixes puts, overwrites, deletes, copies, metadata
// updates and multipart uploads with faults on at most m drives at a time
// (bit flips, truncated and deleted shards, deleted records, drives
// offline, full or read-only, read errors) and heals, and checks every
// read against a model of what the store must hold. The seed is logged;
// -seed reproduces a run (the healer goroutine's timing aside).
func TestRandomizedFaults(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (reproduce: go test ./storage -run TestRandomizedFaults -seed %d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	s, fds, _ := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	n, m := len(fds), 2
	model := objects{}
	etags := map[string]string{} // of multipart objects; others have the body's MD5
	faulty := map[int]bool{}     // drives that may hold damage or miss writes
	keys := make([]string, 12)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%02d", i)
	}
	randomBody := func() []byte {
		switch rng.IntN(5) {
		case 0:
			return []byte{}
		case 1:
			return randBytes(rng.Uint64(), 1+rng.IntN(16<<10)) // inline
		case 2:
			return randBytes(rng.Uint64(), 16<<10+1+rng.IntN(48<<10)) // one block
		default:
			return randBytes(rng.Uint64(), 64<<10+rng.IntN(200<<10)) // several
		}
	}
	// pickDrive returns a drive a new fault may hit: one already faulty,
	// or any while fewer than m are.
	pickDrive := func() int {
		if len(faulty) < m {
			p := rng.IntN(n)
			faulty[p] = true
			return p
		}
		var ps []int
		for p := range faulty {
			ps = append(ps, p)
		}
		sort.Ints(ps)
		return ps[rng.IntN(len(ps))]
	}
	existing := func() (string, bool) {
		var ks []string
		for k := range model {
			ks = append(ks, k)
		}
		if len(ks) == 0 {
			return "", false
		}
		sort.Strings(ks)
		return ks[rng.IntN(len(ks))], true
	}
	shardPath := func(key string, p int) (string, versionRecord, bool) {
		v := version(t, s, key)
		if v.Inline || len(v.Parts) == 0 {
			return "", v, false
		}
		part := v.Parts[rng.IntN(len(v.Parts))]
		id := v.partDataID(&part)
		return filepath.Join(fds[p].Info().Path, "data", id[:2], id, part.File), v, true
	}
	check := func(key string) {
		t.Helper()
		want, ok := model[key]
		r, err := s.OpenObject(ctx, "b", key, GetOptions{})
		if !ok {
			if !errors.Is(err, ErrObjectNotFound) {
				t.Fatalf("get deleted %s: %v", key, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("open %s: %v", key, err)
		}
		defer r.Close()
		etag, ok := etags[key]
		if !ok {
			etag = md5hex(want)
		}
		if info := r.Info(); info.Size != int64(len(want)) || info.ETag != etag {
			t.Fatalf("info of %s: size %d etag %s, want %d %s", key, info.Size, info.ETag, len(want), etag)
		}
		off, length := int64(0), int64(len(want))
		if len(want) > 0 && rng.IntN(2) == 0 {
			off = rng.Int64N(int64(len(want)))
			length = rng.Int64N(int64(len(want)) - off + 1)
		}
		var buf bytes.Buffer
		if err := r.WriteRange(ctx, &buf, off, length); err != nil {
			t.Fatalf("read %s [%d,+%d): %v", key, off, length, err)
		}
		if !bytes.Equal(buf.Bytes(), want[off:off+length]) {
			t.Fatalf("read %s [%d,+%d): wrong bytes", key, off, length)
		}
	}
	counts := map[string]int{}
	for i := 0; i < *modelOps; i++ {
		key := keys[rng.IntN(len(keys))]
		switch op := rng.IntN(100); {
		case op < 30:
			counts["put"]++
			body := randomBody()
			put(t, s, "b", key, body)
			model[key] = body
			delete(etags, key)
		case op < 38:
			counts["delete"]++
			err := s.DeleteObject(ctx, "b", key, DeleteOptions{})
			if _, ok := model[key]; ok != (err == nil) {
				t.Fatalf("delete %s: %v (in model: %v)", key, err, ok)
			}
			delete(model, key)
			delete(etags, key)
		case op < 45:
			counts["copy"]++
			src, ok := existing()
			if !ok {
				continue
			}
			body, err := get(t, s, "b", src, 0, -1)
			if err != nil {
				t.Fatalf("copy source %s: %v", src, err)
			}
			put(t, s, "b", key, body)
			model[key] = body
			delete(etags, key)
		case op < 48:
			counts["metadata"]++
			if _, ok := model[key]; !ok {
				continue
			}
			md := map[string]string{"x-amz-meta-n": fmt.Sprint(i)}
			if _, err := s.UpdateMetadata(ctx, "b", key, "", md, nil); err != nil {
				t.Fatalf("update %s: %v", key, err)
			}
			if info, err := s.ObjectInfo(ctx, "b", key, GetOptions{}); err != nil || info.Metadata["x-amz-meta-n"] != fmt.Sprint(i) {
				t.Fatalf("metadata of %s: %+v %v", key, info.Metadata, err)
			}
		case op < 50:
			counts["multipart"]++
			sizes := []int{1 + rng.IntN(100<<10)}
			if rng.IntN(4) == 0 {
				sizes = []int{MinPartSize, 1 + rng.IntN(50<<10)}
			}
			model[key] = putMultipart(t, s, "b", key, sizes...)
			info, err := s.ObjectInfo(ctx, "b", key, GetOptions{})
			if err != nil || !strings.HasSuffix(info.ETag, fmt.Sprintf("-%d", len(sizes))) {
				t.Fatalf("multipart %s: %+v %v", key, info, err)
			}
			etags[key] = info.ETag
		case op < 75:
			counts["read"]++
			check(key)
		case op < 77:
			counts["list"]++
			res, err := s.ListObjects(ctx, "b", ListOptions{})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if len(res.Objects) != len(model) {
				t.Fatalf("list: %d objects, model has %d", len(res.Objects), len(model))
			}
			for _, o := range res.Objects {
				if want, ok := model[o.Key]; !ok || o.Size != int64(len(want)) {
					t.Fatalf("list: %s size %d not in the model", o.Key, o.Size)
				}
			}
		case op < 92:
			k, ok := existing()
			if !ok {
				continue
			}
			p := pickDrive()
			switch f := rng.IntN(8); f {
			case 0, 1, 2:
				path, _, ok := shardPath(k, p)
				if !ok {
					continue
				}
				counts[[]string{"bit flip", "truncate", "delete shard"}[f]]++
				if _, err := os.Stat(path); err != nil {
					continue // already deleted
				}
				switch f {
				case 0:
					flipByte(t, path)
				case 1:
					truncateHalf(t, path)
				case 2:
					os.RemoveAll(filepath.Dir(path))
				}
			case 3:
				counts["delete record"]++
				fds[p].Drive.Apply(ctx, []drive.Op{{Key: objectKey("b", k), Delete: true}})
			case 4:
				counts["offline"]++
				fds[p].set(func(f *faultDrive) { f.offline = !f.offline })
			case 5:
				counts["full"]++
				fds[p].set(func(f *faultDrive) { f.full = !f.full })
			case 6:
				counts["read-only"]++
				fds[p].set(func(f *faultDrive) { f.readOnly = !f.readOnly })
			case 7:
				counts["read errors"]++
				_, v, ok := shardPath(k, p)
				if ok {
					fds[p].set(func(f *faultDrive) { f.badIDs[v.partDataID(&v.Parts[0])] = true })
				}
			}
		case op < 97:
			counts["heal object"]++
			if _, err := s.HealObject(ctx, "b", key); err != nil {
				t.Fatalf("heal %s: %v", key, err)
			}
		default:
			counts["heal pass"]++
			for _, fd := range fds {
				fd.clear()
			}
			if _, err := s.Heal(ctx, HealOptions{}); err != nil {
				t.Fatalf("heal pass: %v", err)
			}
			s.healq.wait()
			checkFullRedundancy(t, s)
			faulty = map[int]bool{}
		}
	}
	t.Logf("operations: %v", counts)
	for _, fd := range fds {
		fd.clear()
	}
	for _, k := range keys {
		check(k)
	}
	healTwice(t, s)
	verify(t, s, model)
}
