package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

func pinnedKeys(s *Store) int {
	s.pins.mu.Lock()
	defer s.pins.mu.Unlock()
	return len(s.pins.keys)
}

// TestReadOutlivesReplacement: a read that began before an overwrite or
// a delete gets the whole version it began with, though a multipart
// object's parts are opened one after another; the replaced data goes
// once the read is closed.
func TestReadOutlivesReplacement(t *testing.T) {
	ctx := context.Background()
	s, dirs := testStore(t)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	dataDir := func(id string) string { return filepath.Join(dirs[0], "data", id[:2], id) }
	for _, change := range []string{"overwrite", "delete"} {
		for _, kind := range []string{"multipart", "inline"} {
			t.Run(change+"/"+kind, func(t *testing.T) {
				key := change + "-" + kind
				var old []byte
				if kind == "multipart" {
					old = putMultipart(t, s, "b", key, MinPartSize, MinPartSize, 3000)
				} else {
					old = randBytes(9, 1000)
					put(t, s, "b", key, old)
				}
				r, err := s.OpenObject(ctx, "b", key, GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				or := r.(*objectReader)
				ids := or.v.dataIDs()
				var got bytes.Buffer
				// The first part (or the first bytes), then the change,
				// then the rest.
				first := int64(MinPartSize)
				if kind == "inline" {
					first = 10
				}
				if err := r.WriteRange(ctx, &got, 0, first); err != nil {
					t.Fatal(err)
				}
				if change == "overwrite" {
					put(t, s, "b", key, randBytes(10, 20_000))
				} else if err := s.DeleteObject(ctx, "b", key, DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := r.WriteRange(ctx, &got, first, int64(len(old))-first); err != nil {
					t.Fatalf("rest of the version after the %s: %v", change, err)
				}
				if !bytes.Equal(got.Bytes(), old) {
					t.Fatalf("read %d bytes, not the version it began with", got.Len())
				}
				if kind == "multipart" {
					// Nothing names the replaced data now; the scanner
					// must not take it for an orphan while it is read.
					if _, err := s.removeSetOrphans(ctx, s.sets[0], time.Nanosecond); err != nil {
						t.Fatal(err)
					}
					if _, err := os.Stat(dataDir(ids[1])); err != nil {
						t.Fatalf("replaced data gone while read: %v", err)
					}
				}
				r.Close()
				r.Close() // idempotent
				if kind == "multipart" {
					waitFor(t, "the replaced data to go", func() bool {
						for _, id := range ids {
							if _, err := os.Stat(dataDir(id)); err == nil {
								return false
							}
						}
						return true
					})
				}
				if n := pinnedKeys(s); n != 0 {
					t.Fatalf("%d keys pinned after the read closed", n)
				}
			})
		}
	}
}

// gatedDrive holds back the first batch that deletes key until gate is
// closed, saying so on entered.
type gatedDrive struct {
	Drive
	key     []byte
	entered chan struct{}
	gate    chan struct{}
	once    *sync.Once
}

func (g *gatedDrive) Apply(ctx context.Context, ops []drive.Op) error {
	for _, op := range ops {
		if op.Delete && bytes.Equal(op.Key, g.key) {
			g.once.Do(func() { close(g.entered) })
			<-g.gate
		}
	}
	return g.Drive.Apply(ctx, ops)
}

// TestReadOpenedDuringDelete: a read that registers while a delete is
// reaching the drives, and so may resolve the old record, keeps the
// inline shard it needs (it went with the record before).
func TestReadOpenedDuringDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	old := randBytes(9, 1000)
	put(t, s, "b", "k", old)
	st := s.setFor("b", "k")
	entered, gate, once := make(chan struct{}), make(chan struct{}), &sync.Once{}
	for p, d := range st.drives() {
		st.replace(p, &gatedDrive{Drive: d, key: objectKey("b", "k"), entered: entered, gate: gate, once: once})
	}
	done := make(chan error, 1)
	go func() { done <- s.DeleteObject(ctx, "b", "k", DeleteOptions{}) }()
	<-entered
	r, err := s.OpenObject(ctx, "b", "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := r.WriteRange(ctx, &got, 0, int64(len(old))); err != nil || !bytes.Equal(got.Bytes(), old) {
		t.Fatalf("read opened as the delete committed: %d bytes, %v", got.Len(), err)
	}
	r.Close()
	s.settle()
	if _, err := st.drives()[0].Get(ctx, inlineKey(r.(*objectReader).v.DataID)); err == nil {
		t.Fatal("the deleted object's inline shard stayed after the read")
	}
}

// TestHotKeyReleasesReplacedData: a removal waits for the reads that
// began before it, not for later ones, so the data an overwrite replaced
// goes even while the key is never without a reader.
func TestHotKeyReleasesReplacedData(t *testing.T) {
	ctx := context.Background()
	s, _ := testStore(t)
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "hot", randBytes(1, 100_000))
	r1, err := s.OpenObject(ctx, "b", "hot", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		put(t, s, "b", "hot", randBytes(uint64(i+2), 100_000))
		r2, err := s.OpenObject(ctx, "b", "hot", GetOptions{}) // opens before the older closes
		if err != nil {
			t.Fatal(err)
		}
		r1.Close()
		r1 = r2
	}
	s.pins.mu.Lock()
	waiting := len(s.pins.keys[pinKey{"b", "hot"}].pending)
	s.pins.mu.Unlock()
	r1.Close()
	if waiting > 1 {
		t.Fatalf("%d removals still held back; only the last overwrite's has a read that began before it", waiting)
	}
	if n := pinnedKeys(s); n != 0 {
		t.Fatalf("%d keys pinned after the last read closed", n)
	}
}

func TestReadPinsEpochs(t *testing.T) {
	var p readPins
	ran := map[string]bool{}
	remove := func(name string) func() { return func() { ran[name] = true } }
	run := func(fns []func()) {
		for _, fn := range fns {
			fn()
		}
	}
	a := p.acquire("b", "k")
	p.removeAfterReads("b", "k", []string{"d1"}, remove("first"))  // waits for a
	b := p.acquire("b", "k")                                       // after the first removal
	p.removeAfterReads("b", "k", []string{"d2"}, remove("second")) // waits for a and b
	if !p.held("d1") || !p.held("d2") || len(ran) != 0 {
		t.Fatalf("held d1 %v d2 %v, ran %v", p.held("d1"), p.held("d2"), ran)
	}
	run(p.release("b", "k", b))
	if len(ran) != 0 {
		t.Fatalf("ran %v with the oldest read in flight", ran)
	}
	c := p.acquire("b", "k") // after both removals
	run(p.release("b", "k", a))
	if !ran["first"] || !ran["second"] || p.held("d1") || p.held("d2") {
		t.Fatalf("after the reads before them: ran %v", ran)
	}
	run(p.release("b", "k", c))
	p.removeAfterReads("b", "k", nil, remove("unread")) // no reads: now
	if !ran["unread"] || len(p.keys) != 0 {
		t.Fatalf("ran %v, keys %v", ran, p.keys)
	}
}
