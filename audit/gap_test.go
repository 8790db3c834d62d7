package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGapRecord: a gap's fields survive the record, and Verify refuses
// a gap record it cannot read (the writer never writes one).
func TestGapRecord(t *testing.T) {
	g := Gap{Seq: 1, Since: t0, Until: t0.Add(time.Minute), Unwritten: 2, Refused: 3, Unrecorded: 5,
		Cause: "write audit-00000000000000000001.jsonl: no space left on device"}
	r := Record{Entry: gapEntry(g), Seq: 1, Time: g.Until}
	back, err := ParseGap(r)
	if err != nil || back != g {
		t.Fatalf("ParseGap = %+v, %v; want %+v", back, err, g)
	}
	if _, err := ParseGap(Record{Entry: entry(0)}); err == nil {
		t.Fatal("ParseGap of an ordinary record")
	}
	if _, err := openLog(t, t.TempDir(), Options{}).Append(context.Background(), gapEntry(g)); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("Append of a record in the log's name = %v, want ErrInvalidEntry", err)
	}

	dir := t.TempDir()
	for _, reason := range []string{"since=yesterday", strings.Replace(r.Reason, "unrecorded=5", "unrecorded=4", 1)} {
		bad := r
		bad.Reason = reason
		os.WriteFile(filepath.Join(dir, fileName(1, 0)), append(appendLine(nil, &bad), '\n'), 0o600)
		rep := mustVerify(t, dir, VerifyOptions{})
		if rep.OK() || len(rep.Issues) != 1 || rep.Issues[0].Kind != IssueMalformed {
			t.Fatalf("reason %q: report %+v", reason, rep)
		}
	}
}
