package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

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
				if s.pins.busy("b", key) {
					t.Fatal("a closed read still pins its key")
				}
			})
		}
	}
}
