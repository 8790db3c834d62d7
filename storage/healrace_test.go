package storage

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentHealsOfOneKey: a heal of a key (the heal queue's) that
// rebuilt a missing shard, and is held before its commit while another
// heal of the key (a scan pass's) rebuilds and commits the same shard,
// must not then take that good shard away: its removal of the "bad"
// directory and its own commit are not needed any more, and when that
// commit fails the drive is left without the shard a heal reported
// healed.
func TestConcurrentHealsOfOneKey(t *testing.T) {
	// failCommit: the first heal's commit fails (a full or failing disk;
	// a crash at heal-swap is alike); otherwise the check runs in the
	// window between its removal and its commit, as a concurrent
	// checkFullRedundancy (or read) did in CI.
	for _, failCommit := range []bool{true, false} {
		t.Run(map[bool]string{true: "commit fails", false: "window"}[failCommit], func(t *testing.T) {
			testConcurrentHeals(t, failCommit)
		})
	}
}

func testConcurrentHeals(t *testing.T, failCommit bool) {
	s, fds, dirs := faultStore(t, nil)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put(t, s, "b", "k", randBytes(7, 40<<10))
	s.settle()
	v := version(t, s, "k")
	id, file := v.partDataID(&v.Parts[0]), v.Parts[0].File
	d3 := s.sets[0].drives()[3]
	if err := os.RemoveAll(filepath.Join(dirs[3], "data", id[:2], id)); err != nil {
		t.Fatal(err)
	}
	has := func() bool {
		f, err := d3.OpenData(ctx, id, file)
		if err != nil {
			return false
		}
		f.Close()
		return true
	}
	if has() {
		t.Fatal("shard not removed")
	}

	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	bHealed, lostInWindow := false, false
	s.healHook = func(point string) {
		if point == "shard-removed" {
			mu.Lock()
			if bHealed && !has() {
				lostInWindow = true
			}
			mu.Unlock()
			return
		}
		if point != "shards-rebuilt" {
			return
		}
		first := false
		once.Do(func() { first = true })
		if first {
			close(reached)
			<-release // the first heal waits here, its shard rebuilt
			return
		}
		select {
		case <-release:
			// A heal that rebuilt its shards after the first one was
			// released: the fault was meant for the first one's commit.
			fds[3].mu.Lock()
			delete(fds[3].fail, "commit")
			fds[3].mu.Unlock()
		default:
		}
	}
	heal := func(out chan<- HealResult) {
		res, err := s.HealObject(ctx, "b", "k")
		if err != nil {
			t.Error(err)
		}
		out <- res
	}
	aDone, bDone := make(chan HealResult, 1), make(chan HealResult, 1)
	go heal(aDone) // the queued heal
	<-reached
	go heal(bDone) // the scan pass's heal of the same key
	var b HealResult
	bFinished := false
	select {
	case b = <-bDone:
		bFinished = true
		if b.ShardsHealed != 1 || !has() {
			t.Fatalf("second heal %+v, shard on drive 3: %v", b, has())
		}
		mu.Lock()
		bHealed = true
		mu.Unlock()
	case <-time.After(2 * time.Second): // it waits for the first heal
	}
	if failCommit {
		fds[3].set(func(f *faultDrive) { f.fail["commit"] = errInjectedIO })
	}
	close(release)
	a := <-aDone
	fds[3].clear()
	if !bFinished {
		b = <-bDone
	}
	t.Logf("first heal %+v; second heal %+v (finished before the first: %v)", a, b, bFinished)
	if lostInWindow {
		t.Errorf("drive 3 was without the shard of k after a heal had reported it healed")
	}
	if !has() {
		t.Fatalf("drive 3 lost the shard of k: heals reported %d shard(s) healed", a.ShardsHealed+b.ShardsHealed)
	}
	checkFullRedundancy(t, s)
}
