package audit

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"
)

func collect(t *testing.T, dir string, f Filter) []Record {
	t.Helper()
	var out []Record
	if err := Query(context.Background(), dir, f, func(r Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestQueryFilters(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	l := openLog(t, dir, Options{Now: c.Now, MaxFileSize: 4096})
	all := appendN(t, l, 0, 100) // one millisecond apart from t0+1ms
	l.Close()
	at := func(i int) time.Time { return all[i].Time }
	tests := []struct {
		name string
		f    Filter
		want func(i int, r Record) bool
	}{
		{"everything", Filter{}, func(int, Record) bool { return true }},
		{"time range", Filter{From: at(10), To: at(20)}, func(i int, _ Record) bool { return i >= 10 && i < 20 }},
		{"from only", Filter{From: at(95)}, func(i int, _ Record) bool { return i >= 95 }},
		{"to only", Filter{To: at(3)}, func(i int, _ Record) bool { return i < 3 }},
		{"identity", Filter{Identity: User("alice")}, func(_ int, r Record) bool { return r.Identity == "user:alice" }},
		{"admin token", Filter{Identity: AdminToken("0123456789abcdef")}, func(_ int, r Record) bool { return strings.HasPrefix(r.Identity, "admin-token:") }},
		{"bucket", Filter{Bucket: "b1"}, func(_ int, r Record) bool { return r.Bucket == "b1" }},
		{"action", Filter{Action: "DeleteObject"}, func(_ int, r Record) bool { return r.Action == "DeleteObject" }},
		{"combined", Filter{Bucket: "b2", Identity: Root, From: at(30)}, func(i int, r Record) bool { return i >= 30 && r.Bucket == "b2" && r.Identity == Root }},
		{"after seq", Filter{AfterSeq: 90}, func(i int, _ Record) bool { return i >= 90 }},
		{"none", Filter{Bucket: "nope"}, func(int, Record) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []uint64
			for i, r := range all {
				if tt.want(i, r) {
					want = append(want, r.Seq)
				}
			}
			var got []uint64
			for _, r := range collect(t, dir, tt.f) {
				got = append(got, r.Seq)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d records %v, want %d %v", len(got), got, len(want), want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("record %d: seq %d, want %d", i, got[i], want[i])
				}
			}
		})
	}
}

// TestQueryMatchesBruteForce: random filters over a multi-file log give
// what filtering every record gives (so skipping files loses nothing).
func TestQueryMatchesBruteForce(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	l := openLog(t, dir, Options{Now: c.Now, MaxFileSize: 2048})
	all := appendN(t, l, 0, 150)
	l.Close()
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for range 200 {
		f := Filter{}
		if rng.Intn(2) == 0 {
			f.From = t0.Add(time.Duration(rng.Intn(160)) * time.Millisecond)
		}
		if rng.Intn(2) == 0 {
			f.To = t0.Add(time.Duration(rng.Intn(160)) * time.Millisecond)
		}
		if rng.Intn(3) == 0 {
			f.AfterSeq = uint64(rng.Intn(160))
		}
		if rng.Intn(3) == 0 {
			f.Bucket = []string{"b0", "b1", "b2"}[rng.Intn(3)]
		}
		if rng.Intn(4) == 0 {
			f.Limit = 1 + rng.Intn(20)
		}
		var want []uint64
		for _, r := range all {
			if f.match(&r) && (f.Limit == 0 || len(want) < f.Limit) {
				want = append(want, r.Seq)
			}
		}
		got := collect(t, dir, f)
		if len(got) != len(want) {
			t.Fatalf("filter %+v: %d records, want %d", f, len(got), len(want))
		}
		for i := range got {
			if got[i].Seq != want[i] {
				t.Fatalf("filter %+v: record %d is %d, want %d", f, i, got[i].Seq, want[i])
			}
		}
	}
}

func TestQueryPaging(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileSize: 2048})
	appendN(t, l, 0, 50)
	var pages [][]Record
	f := Filter{Limit: 7}
	for {
		var page []Record
		if err := l.Query(context.Background(), f, func(r Record) error { page = append(page, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		f.AfterSeq = page[len(page)-1].Seq
	}
	if len(pages) != 8 || len(pages[7]) != 1 || pages[7][0].Seq != 50 {
		t.Fatalf("%d pages", len(pages))
	}
}

func TestQueryStopsOnCallbackError(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 10)
	boom := errors.New("boom")
	n := 0
	err := l.Query(context.Background(), Filter{}, func(Record) error { n++; return boom })
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("error %v after %d records", err, n)
	}
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileSize: 2048})
	appendN(t, l, 0, 40)
	var buf bytes.Buffer
	if err := l.Export(context.Background(), Filter{Bucket: "b1"}, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 13 {
		t.Fatalf("%d lines exported", len(lines))
	}
	// Exported lines are the stored lines, byte for byte.
	var stored bytes.Buffer
	files, _, _ := listFiles(dir)
	for _, f := range files {
		b, _ := os.ReadFile(filePath(dir, f))
		stored.Write(b)
	}
	for _, line := range lines {
		if !bytes.Contains(stored.Bytes(), []byte(line+"\n")) {
			t.Fatalf("exported line not stored: %s", line)
		}
		r, err := parseLine([]byte(line), true)
		if err != nil || r.Bucket != "b1" {
			t.Fatalf("exported %s: %v", line, err)
		}
	}
}
