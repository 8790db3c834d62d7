package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// forgeAppend appends a forged record, correctly chained, to the log's
// only file: a record this process never wrote.
func forgeAppend(t *testing.T, dir string) {
	t.Helper()
	ll := readLog(t, dir)
	lines := ll.lines[0]
	last := lines[len(lines)-1]
	r, err := parseLine([]byte(last), true)
	if err != nil {
		t.Fatal(err)
	}
	f := Record{Entry: Entry{Identity: Root, Action: "GetObject", Bucket: "b", Key: "innocent", Status: 200},
		Seq: r.Seq + 1, Time: r.Time, Prev: sha256.Sum256([]byte(last))}
	ll.lines[0] = append(lines, string(appendLine(nil, &f)))
	ll.write(t)
}

// forgeTail replaces records from..last of the log's only file with
// forged ones, chained correctly (the chain is unkeyed SHA-256): what
// someone who can write the log's files, the anchor's adversary, does.
// drop removes them instead.
func forgeTail(t *testing.T, dir string, from uint64, drop bool) {
	t.Helper()
	ll := readLog(t, dir)
	if len(ll.names) != 1 {
		t.Fatalf("files %v", ll.names)
	}
	var prev [32]byte
	var out []string
	for _, s := range ll.lines[0] {
		r, err := parseLine([]byte(s), true)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq >= from {
			if drop {
				break
			}
			r.Key = "forged"
			r.Prev = prev
			s = string(appendLine(nil, &r))
		}
		prev = sha256.Sum256([]byte(s))
		out = append(out, s)
	}
	ll.lines[0] = out
	ll.write(t) // same inode: the log's O_APPEND descriptor writes after it
}

// logBuffer collects a Logger's output; the flusher writes to it while
// the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// logger logs everything, debug included, to b.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// evidence lists the mismatching anchors kept in dir.
func evidence(t *testing.T, dir string) []string {
	t.Helper()
	kept, err := filepath.Glob(filepath.Join(dir, anchorMismatchPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return kept
}

// TestResumeRefusesForeignDiskHead: the tail of the log is rewritten,
// cut or extended while the server runs, then the attacker fills the
// file system so that a write fails, and frees it. Resuming would chain
// the gap record to the forged head and anchor it, replacing the only
// evidence. The log must stay stopped instead (Err set, appends
// refused), keep an anchor of its own head as evidence once the disk
// has room, and leave a log that Verify with the KMS fails, before and
// after a restart; the restart's anchor check catches a rewritten or cut
// tail by itself, as it did before logs resumed.
func TestResumeRefusesForeignDiskHead(t *testing.T) {
	for _, name := range []string{"rewritten", "cut", "appended"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			k := newFakeKMS(t)
			disk := newDisk()
			var logged logBuffer
			l := openLog(t, dir, Options{AnchorKeys: k, AnchorInterval: time.Hour, WrapFile: disk.wrap,
				RetryInterval: 20 * time.Millisecond, Logger: logged.logger()})
			ctx := context.Background()
			appendN(t, l, 0, 5)
			if sa, err := l.Anchor(ctx); err != nil || sa.Seq != 5 {
				t.Fatalf("anchor %+v %v", sa, err)
			}
			if name == "appended" {
				forgeAppend(t, dir) // a record 6 this process never wrote
			} else {
				forgeTail(t, dir, 4, name == "cut")
			}
			stop(t, l, disk, 0, 5, 1) // the disk stays full
			waitFor(t, "the mismatch is found", func() bool {
				return strings.Contains(logged.String(), "DOES NOT MATCH WHAT THIS PROCESS WROTE")
			})
			if kept := evidence(t, dir); len(kept) != 0 {
				t.Fatalf("evidence %v written on a full disk", kept)
			}
			disk.free()
			waitFor(t, "the evidence is kept", func() bool { return len(evidence(t, dir)) == 1 })
			// Later attempts leave it stopped.
			attempts := strings.Count(logged.String(), "still stopped")
			waitFor(t, "two more attempts", func() bool { return strings.Count(logged.String(), "still stopped") >= attempts+2 })
			if err := l.Err(); !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), "does not match") {
				t.Fatalf("Err = %v, want ErrWrite naming the mismatch", err)
			}
			refuse(t, l, 6, 1)
			if sa, _ := l.LastAnchor(); sa.Seq != 5 {
				t.Fatalf("anchored %d, want 5, the head this process wrote", sa.Seq)
			}
			if err := l.Close(); !errors.Is(err, ErrWrite) {
				t.Fatalf("Close = %v, want ErrWrite", err)
			}
			if out := logged.String(); strings.Contains(out, dir) {
				t.Fatalf("the log names the directory: %s", out)
			}
			rep := mustVerify(t, dir, VerifyOptions{AnchorKeys: k})
			if rep.OK() || len(rep.Gaps) != 0 || len(anchorIssues(rep)) == 0 {
				t.Fatalf("log tail %s under a running log: Verify with the KMS: OK %v, gaps %+v, issues %v",
					name, rep.OK(), rep.Gaps, rep.Issues)
			}

			var relogged logBuffer
			l2 := openLog(t, dir, Options{AnchorKeys: k, Logger: relogged.logger()})
			l2.Close()
			if caught := strings.Contains(relogged.String(), "DOES NOT MATCH ITS ANCHOR"); caught != (name != "appended") {
				t.Fatalf("restart caught the mismatch: %v; log: %s", caught, relogged.String())
			}
			if rep := mustVerify(t, dir, VerifyOptions{AnchorKeys: k}); rep.OK() {
				t.Fatalf("after a restart, Verify with the KMS says OK: %v", rep.Issues)
			}
		})
	}
}

// TestResumeRefusesForeignDiskHeadUnanchored: without anchor keys there
// is no evidence to keep, but the log still refuses the forged head,
// stays stopped and says why.
func TestResumeRefusesForeignDiskHeadUnanchored(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	var logged logBuffer
	l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond, Logger: logged.logger()})
	appendN(t, l, 0, 5)
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	forgeTail(t, dir, 4, false)
	stop(t, l, disk, 0, 5, 1)
	disk.free()
	waitFor(t, "the mismatch is found", func() bool {
		return strings.Contains(logged.String(), "DOES NOT MATCH WHAT THIS PROCESS WROTE")
	})
	if err := l.Close(); !errors.Is(err, ErrWrite) {
		t.Fatalf("Close = %v, want ErrWrite", err)
	}
	if kept := evidence(t, dir); len(kept) != 0 {
		t.Fatalf("evidence %v without anchor keys", kept)
	}
	if rep := mustVerify(t, dir, VerifyOptions{}); len(rep.Gaps) != 0 || rep.Records != 5 {
		t.Fatalf("a gap record chained to the forged tail: %+v", rep)
	}
}
