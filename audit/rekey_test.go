package audit

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestRekeyAnchorVerifies: an anchor written by RekeyAnchor verifies
// offline and at the next Open.
func TestRekeyAnchorVerifies(t *testing.T) {
	l, dir, k := openAnchored(t, 5)
	if err := l.RekeyAnchor(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir, VerifyOptions{AnchorKeys: k})
	if !rep.OK() || rep.Anchor == nil || rep.Anchor.Seq != 5 {
		t.Fatalf("verify after rekey: %+v", rep)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	openLog(t, dir, Options{AnchorKeys: k}) // checks the anchor the first run left
	if kept, _ := filepath.Glob(filepath.Join(dir, anchorMismatchPrefix+"*")); len(kept) > 0 {
		t.Fatalf("mismatch after rekey: %v", kept)
	}
}

// TestRekeyAnchorAfterClose: RekeyAnchor on a closed log must fail, not
// write an anchor after Close released the directory.
func TestRekeyAnchorAfterClose(t *testing.T) {
	l, dir, _ := openAnchored(t, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, AnchorFile))
	err := l.RekeyAnchor(context.Background())
	after, _ := os.ReadFile(filepath.Join(dir, AnchorFile))
	if err == nil || string(before) != string(after) {
		t.Fatalf("RekeyAnchor after Close: err %v, anchor rewritten %v", err, string(before) != string(after))
	}
}

// TestRekeyAnchorDuringClose: a rekey racing Close leaves an anchor that
// checks at the next Open (and, run with -race, does not race on the key).
func TestRekeyAnchorDuringClose(t *testing.T) {
	for range 20 {
		l, dir, k := openAnchored(t, 3)
		var wg sync.WaitGroup
		wg.Go(func() { l.RekeyAnchor(context.Background()) })
		wg.Go(func() { l.Close() })
		wg.Wait()
		// Whatever the order, the anchor left checks out at the next
		// Open: no anchor signed with a cleared key.
		openLog(t, dir, Options{AnchorKeys: k})
		if kept, _ := filepath.Glob(filepath.Join(dir, anchorMismatchPrefix+"*")); len(kept) > 0 {
			t.Fatalf("the anchor left by a rekey racing Close does not check: %v", kept)
		}
	}
}

// openAnchored opens a log with anchor keys in a new folder and appends
// n records, leaving it open (anchoredLog closes it).
func openAnchored(t *testing.T, n int) (*Log, string, *fakeKMS) {
	t.Helper()
	k := newFakeKMS(t)
	dir := t.TempDir()
	l, err := Open(dir, Options{AnchorKeys: k, Now: (&clock{t: t0}).Now})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, n)
	return l, dir, k
}
