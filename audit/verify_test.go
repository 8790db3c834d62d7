package audit

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// logLines is a log's files as lines, for tampering.
type logLines struct {
	dir   string
	names []string
	lines [][]string
}

func readLog(t *testing.T, dir string) *logLines {
	t.Helper()
	files, _, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	ll := &logLines{dir: dir}
	for _, f := range files {
		b, err := os.ReadFile(filePath(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		ll.names = append(ll.names, f.name)
		ll.lines = append(ll.lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"))
	}
	return ll
}

func (ll *logLines) write(t *testing.T) {
	t.Helper()
	for i, name := range ll.names {
		data := ""
		if len(ll.lines[i]) > 0 {
			data = strings.Join(ll.lines[i], "\n") + "\n"
		}
		if err := os.WriteFile(filepath.Join(ll.dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// find locates record seq: file index and line index.
func (ll *logLines) find(t *testing.T, seq uint64) (int, int) {
	t.Helper()
	for f, lines := range ll.lines {
		for i, l := range lines {
			if r, err := parseLine([]byte(l), false); err == nil && r.Seq == seq {
				return f, i
			}
		}
	}
	t.Fatalf("record %d not found", seq)
	return 0, 0
}

func (ll *logLines) record(t *testing.T, seq uint64) Record {
	f, i := ll.find(t, seq)
	r, err := parseLine([]byte(ll.lines[f][i]), false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rechain re-encodes every record from seq on with correct prev hashes,
// as an attacker who knows the format would.
func (ll *logLines) rechain(t *testing.T, from uint64) {
	prev := [32]byte{}
	if from > 1 {
		prev = ll.record(t, from-1).Hash
	}
	for f := range ll.lines {
		for i, l := range ll.lines[f] {
			r, err := parseLine([]byte(l), false)
			if err != nil || r.Seq < from {
				continue
			}
			r.Prev = prev
			line := appendLine(nil, &r)
			prev = sha256.Sum256(line)
			ll.lines[f][i] = string(line)
		}
	}
}

// TestTamperDetected builds a 60-record log over several files, tampers
// with it one way per case, and checks what Verify reports and where.
func TestTamperDetected(t *testing.T) {
	type want struct {
		kind IssueKind
		seq  uint64 // the record the issue is located at (0: don't check)
		line bool   // the issue's file:line must hold record seq
	}
	tests := []struct {
		name    string
		tamper  func(t *testing.T, ll *logLines) []Anchor
		want    []want
		wantOK  bool
		anchors bool
	}{
		{"edit a field", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 20)
			ll.lines[f][i] = strings.Replace(ll.lines[f][i], `"status":200`, `"status":204`, 1)
			return nil
		}, []want{{IssueModified, 20, true}}, false, false},
		{"edit a field and keep it canonical across the key", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 33)
			ll.lines[f][i] = strings.Replace(ll.lines[f][i], `"key":"key-32"`, `"key":"key-99"`, 1)
			return nil
		}, []want{{IssueModified, 33, true}}, false, false},
		{"edit the prev field", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 12)
			r := ll.record(t, 12)
			r.Prev[0] ^= 1
			ll.lines[f][i] = string(appendLine(nil, &r))
			return nil
		}, []want{{IssueModified, 11, true}, {IssueModified, 12, true}}, false, false},
		{"delete a record", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 26) // the middle of a file (4 KiB files hold 12 records)
			ll.lines[f] = append(ll.lines[f][:i], ll.lines[f][i+1:]...)
			return nil
		}, []want{{IssueMissing, 26, false}}, false, false},
		{"swap two records", func(t *testing.T, ll *logLines) []Anchor {
			f1, i1 := ll.find(t, 30)
			f2, i2 := ll.find(t, 31)
			ll.lines[f1][i1], ll.lines[f2][i2] = ll.lines[f2][i2], ll.lines[f1][i1]
			return nil
		}, []want{{IssueReordered, 30, true}}, false, false},
		{"move a record later", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 40)
			moved := ll.lines[f][i]
			ll.lines[f] = append(ll.lines[f][:i], ll.lines[f][i+1:]...)
			g, j := ll.find(t, 44)
			ll.lines[g] = append(ll.lines[g][:j+1], append([]string{moved}, ll.lines[g][j+1:]...)...)
			return nil
		}, []want{{IssueReordered, 40, true}}, false, false},
		{"insert a forged record", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 15)
			prev := ll.record(t, 14)
			forged := Record{Seq: 15, Time: prev.Time, Prev: prev.Hash, Entry: Entry{Identity: Root, Action: "DeleteBucket", Bucket: "evidence"}}
			ll.lines[f] = append(ll.lines[f][:i], append([]string{string(appendLine(nil, &forged))}, ll.lines[f][i:]...)...)
			return nil
		}, []want{{IssueModified, 15, true}, {IssueDuplicate, 15, false}}, false, false},
		{"copy a record", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 8)
			ll.lines[f] = append(ll.lines[f][:i+1], append([]string{ll.lines[f][i]}, ll.lines[f][i+1:]...)...)
			return nil
		}, []want{{IssueDuplicate, 8, false}}, false, false},
		{"insert garbage", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 9)
			ll.lines[f] = append(ll.lines[f][:i], append([]string{`{"hello":"world"}`}, ll.lines[f][i:]...)...)
			return nil
		}, []want{{IssueMalformed, 0, false}}, false, false},
		{"non-canonical spacing", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 50)
			ll.lines[f][i] = strings.Replace(ll.lines[f][i], `"seq":50,`, `"seq": 50,`, 1)
			return nil
		}, []want{{IssueMalformed, 50, true}}, false, false},
		{"delete a whole rotated file", func(t *testing.T, ll *logLines) []Anchor {
			os.Remove(filepath.Join(ll.dir, ll.names[2]))
			ll.names = append(ll.names[:2], ll.names[3:]...)
			ll.lines = append(ll.lines[:2], ll.lines[3:]...)
			return nil
		}, []want{{IssueMissing, 0, false}}, false, false},
		{"delete the first file", func(t *testing.T, ll *logLines) []Anchor {
			os.Remove(filepath.Join(ll.dir, ll.names[0]))
			ll.names, ll.lines = ll.names[1:], ll.lines[1:]
			return nil
		}, []want{{IssueMissingStart, 0, false}}, false, false},
		{"rename a file", func(t *testing.T, ll *logLines) []Anchor {
			old := filepath.Join(ll.dir, ll.names[1])
			f, _ := parseFileName(ll.names[1])
			ll.names[1] = fileName(f.seq+1, 0)
			os.Rename(old, filepath.Join(ll.dir, ll.names[1]))
			return nil
		}, []want{{IssueFileName, 0, false}}, false, false},
		{"truncate mid-line (crash)", func(t *testing.T, ll *logLines) []Anchor {
			last := len(ll.lines) - 1
			n := len(ll.lines[last])
			ll.write(t)
			path := filepath.Join(ll.dir, ll.names[last])
			info, _ := os.Stat(path)
			os.Truncate(path, info.Size()-int64(len(ll.lines[last][n-1]))/2)
			ll.names = nil // already written
			return nil
		}, []want{{IssueTruncatedTail, 0, false}}, true, false},
		{"drop the newest records, no anchor", func(t *testing.T, ll *logLines) []Anchor {
			last := len(ll.lines) - 1
			ll.lines[last] = ll.lines[last][:len(ll.lines[last])-2]
			return nil
		}, nil, true, false},
		{"drop the newest records, anchored", func(t *testing.T, ll *logLines) []Anchor {
			head := ll.record(t, 60)
			last := len(ll.lines) - 1
			ll.lines[last] = ll.lines[last][:len(ll.lines[last])-2]
			return []Anchor{{60, head.Hash}}
		}, []want{{IssueAnchor, 0, false}}, false, true},
		{"rewrite the chain, no anchor", func(t *testing.T, ll *logLines) []Anchor {
			f, i := ll.find(t, 45)
			ll.lines[f][i] = strings.Replace(ll.lines[f][i], `"bucket":"b2"`, `"bucket":"b0"`, 1)
			ll.rechain(t, 45)
			return nil
		}, nil, true, false},
		{"rewrite the chain, anchored", func(t *testing.T, ll *logLines) []Anchor {
			a := []Anchor{{50, ll.record(t, 50).Hash}}
			f, i := ll.find(t, 45)
			ll.lines[f][i] = strings.Replace(ll.lines[f][i], `"bucket":"b2"`, `"bucket":"b0"`, 1)
			ll.rechain(t, 45)
			return a
		}, []want{{IssueAnchor, 50, true}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, Options{MaxFileSize: 4096})
			appendN(t, l, 0, 60)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			ll := readLog(t, dir)
			if len(ll.names) < 4 {
				t.Fatalf("only %d files", len(ll.names))
			}
			original := readLog(t, dir)
			anchors := tt.tamper(t, ll)
			if ll.names != nil {
				ll.write(t)
			}
			rep := mustVerify(t, dir, VerifyOptions{Anchors: anchors})
			for _, is := range rep.Issues {
				t.Logf("issue: %s", is)
			}
			if rep.OK() != tt.wantOK {
				t.Fatalf("OK() = %v, want %v", rep.OK(), tt.wantOK)
			}
			if len(rep.Issues) != len(tt.want) {
				t.Fatalf("%d issues, want %d", len(rep.Issues), len(tt.want))
			}
			for i, w := range tt.want {
				got := rep.Issues[i]
				if got.Kind != w.kind {
					t.Fatalf("issue %d is %s, want %s", i, got.Kind, w.kind)
				}
				if w.seq != 0 && got.Seq != w.seq {
					t.Fatalf("issue %d at seq %d, want %d", i, got.Seq, w.seq)
				}
				if w.line {
					// The location names the line that held record seq
					// before the tampering, or holds it now.
					f, j := original.find(t, w.seq)
					at := original.names[f] + ":" + strconv.Itoa(j+1)
					if got.File+":"+strconv.Itoa(got.Line) != at {
						tl := readLog(t, dir)
						g, k := tl.find(t, w.seq)
						if got.File+":"+strconv.Itoa(got.Line) != tl.names[g]+":"+strconv.Itoa(k+1) {
							t.Fatalf("issue %d at %s:%d, want %s", i, got.File, got.Line, at)
						}
					}
				}
			}
		})
	}
}

func TestVerifyIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 3)
	l.Close()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600)
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK() || len(rep.Ignored) != 1 || rep.Ignored[0] != "notes.txt" {
		t.Fatalf("report %+v", rep)
	}
}

func TestVerifyMaxIssues(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 20)
	l.Close()
	ll := readLog(t, dir)
	for i := range ll.lines[0] {
		ll.lines[0][i] = "garbage"
	}
	ll.write(t)
	rep := mustVerify(t, dir, VerifyOptions{MaxIssues: 5})
	if len(rep.Issues) != 5 || rep.Dropped != 15 || rep.OK() {
		t.Fatalf("%d issues, %d dropped", len(rep.Issues), rep.Dropped)
	}
}

func TestVerifyCancelled(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 3)
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(ctx, dir, VerifyOptions{}); err == nil {
		t.Fatal("no error from a cancelled Verify")
	}
}

// FuzzVerify: Verify never panics or fails on any file content.
func FuzzVerify(f *testing.F) {
	good := appendLine(nil, &Record{Seq: 1, Time: t0, Entry: Entry{Identity: Root}})
	f.Add(append(good, '\n'))
	f.Add(append(append(good, '\n'), good...))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fileName(1, 0)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(context.Background(), dir, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Records > uint64(len(data)) {
			t.Fatalf("%d records from %d bytes", rep.Records, len(data))
		}
	})
}
