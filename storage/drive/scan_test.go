package drive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDataModTime(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	id := NewDataID()
	if _, err := d.DataModTime(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent: %v, want ErrNotFound", err)
	}
	if _, err := d.DataModTime(ctx, "../x"); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("bad id: %v, want ErrInvalidName", err)
	}
	before := time.Now().Add(-time.Second)
	sf, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sf.Write([]byte("x"))
	if err := sf.Commit(ctx, id, "part.1"); err != nil {
		t.Fatal(err)
	}
	mt, err := d.DataModTime(ctx, id)
	if err != nil || mt.Before(before) {
		t.Fatalf("DataModTime = %v, %v; want after %v", mt, err, before)
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(dataDir(dir, id), old, old); err != nil {
		t.Fatal(err)
	}
	if mt, _ := d.DataModTime(ctx, id); mt.After(old.Add(time.Second)) {
		t.Fatalf("DataModTime = %v after Chtimes to %v", mt, old)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DataModTime(ctx, id); !errors.Is(err, ErrOffline) {
		t.Fatalf("after removal: %v, want ErrOffline", err)
	}
}

func TestCleanStaging(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	young, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer young.Abort()
	stale, err := d.CreateStaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Abort()
	tmp := filepath.Join(dir, "tmp")
	names := entries(t, tmp)
	if len(names) != 2 {
		t.Fatalf("tmp holds %v", names)
	}
	old := time.Now().Add(-2 * time.Hour)
	stalePath := stale.(*stagingFile).path
	if err := os.Chtimes(stalePath, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := d.CleanStaging(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("CleanStaging = %d, %v; want 1", n, err)
	}
	left := entries(t, tmp)
	if len(left) != 1 || filepath.Join(tmp, left[0]) != young.(*stagingFile).path {
		t.Fatalf("tmp holds %v, want only the young file", left)
	}
}

func TestOpenNoCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	if _, err := Open(dir, testFormat(), Options{NoCreate: true}); !errors.Is(err, ErrUnformatted) {
		t.Fatalf("Open of a missing folder with NoCreate: %v, want ErrUnformatted", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("folder created: %v", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir, testFormat(), Options{NoCreate: true})
	if err != nil {
		t.Fatalf("Open of an empty folder with NoCreate: %v", err)
	}
	d.Close()
}
