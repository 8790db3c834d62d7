package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestClassify pins the visibility rules on the states a crash or a
// failed drive can leave.
func TestClassify(t *testing.T) {
	ver := func(data string, mod int64, replaces string) versionRecord {
		return versionRecord{VersionID: NullVersionID, DataID: data, ModTime: mod, Replaces: replaces}
	}
	a, b := ver("a", 1, ""), ver("b", 2, "a")
	aMeta := a
	aMeta.Metadata = map[string]string{"x": "2"}
	aMeta.ModTime = 3
	rec := func(vs ...versionRecord) *objectRecord { return &objectRecord{Versions: vs} }
	ids := func(vs []versionRecord) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.DataID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name                        string
		recs                        []*objectRecord
		unknown, q, wq              int
		visible, superseded, rolled string
		uncertain                   bool
		visibleMeta                 string
	}{
		{name: "healthy", recs: []*objectRecord{rec(a), rec(a), rec(a), rec(a), rec(a), rec(a)}, q: 4, wq: 4, visible: "a"},
		{name: "overwrite on three of six", recs: []*objectRecord{rec(b), rec(b), rec(b), rec(a), rec(a), rec(a)}, q: 4, wq: 4, visible: "a", rolled: "b"},
		{name: "overwrite on one of six", recs: []*objectRecord{rec(b), rec(a), rec(a), rec(a), rec(a), rec(a)}, q: 4, wq: 4, visible: "a", rolled: "b"},
		{name: "overwrite on four of six", recs: []*objectRecord{rec(b), rec(b), rec(b), rec(b), rec(a), rec(a)}, q: 4, wq: 4, visible: "b", rolled: "a"},
		{name: "new key on three of six", recs: []*objectRecord{rec(b), rec(b), rec(b), rec(), rec(), rec()}, q: 4, wq: 4, rolled: "b"},
		{name: "two silent drives", recs: []*objectRecord{rec(b), rec(b), rec(a), rec(a), nil, nil}, unknown: 2, q: 4, wq: 4, uncertain: true},
		{name: "one silent drive, thin write", recs: []*objectRecord{rec(b), rec(b), rec(a), rec(a), rec(a), nil}, unknown: 1, q: 4, wq: 4, visible: "a", rolled: "b"},
		{name: "k == m, both on half", recs: []*objectRecord{rec(b), rec(b), rec(a), rec(a)}, q: 2, wq: 3, visible: "b", superseded: "a"},
		{name: "metadata update on most", recs: []*objectRecord{rec(aMeta), rec(aMeta), rec(aMeta), rec(aMeta), rec(a), rec(a)}, q: 4, wq: 4, visible: "a", visibleMeta: "2"},
		{name: "metadata update on half", recs: []*objectRecord{rec(aMeta), rec(aMeta), rec(aMeta), rec(a), rec(a), rec(a)}, q: 4, wq: 4, visible: "a", visibleMeta: "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := classify(tc.recs, tc.unknown, tc.q, tc.wq)
			if ids(v.visible) != tc.visible || ids(v.superseded) != tc.superseded || ids(v.rolledBack) != tc.rolled || v.uncertain != tc.uncertain {
				t.Fatalf("visible %q superseded %q rolled back %q uncertain %v; want %q %q %q %v",
					ids(v.visible), ids(v.superseded), ids(v.rolledBack), v.uncertain, tc.visible, tc.superseded, tc.rolled, tc.uncertain)
			}
			if tc.visibleMeta != "" && v.visible[0].Metadata["x"] != tc.visibleMeta {
				t.Fatalf("visible variant %+v", v.visible[0])
			}
		})
	}
}

// TestInterruptedOverwriteKeepsOldVersion: an overwrite that reached half
// the drives before the process died leaves the acknowledged old version
// readable, and the heal restores it everywhere.
func TestInterruptedOverwriteKeepsOldVersion(t *testing.T) {
	ctx := context.Background()
	for _, key := range []string{"inline", "multiblock"} {
		for _, size := range []int{100, 100 << 10} {
			t.Run(fmt.Sprintf("%s by %d bytes", key, size), func(t *testing.T) {
				s, fds, _ := faultStore(t, nil)
				want := fill(t, s, false)
				interrupt(fds, 0, 2, 4)
				if _, err := s.PutObject(ctx, "b", key, strings.NewReader(strings.Repeat("x", size)), PutOptions{Size: int64(size)}); !errors.Is(err, ErrWriteQuorum) {
					t.Fatalf("interrupted put: %v", err)
				}
				clearAll(fds)
				verify(t, s, want)
				healTwice(t, s)
				verify(t, s, want)
			})
		}
	}
}

// TestHealQueue: the queue keeps each object once (a deep request wins),
// in order, and drops what exceeds its bound.
func TestHealQueue(t *testing.T) {
	q := newHealQueue(3)
	q.push("b", "1", false)
	q.push("b", "2", false)
	q.push("b", "1", true)
	q.push("b", "3", false)
	q.push("b", "4", true) // over the bound
	queued, _, _, dropped := q.stats()
	if queued != 3 || dropped != 1 {
		t.Fatalf("queued %d dropped %d, want 3 and 1", queued, dropped)
	}
	var got []string
	for {
		it, deep, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, it.key+map[bool]string{true: "!", false: ""}[deep])
		q.done(false)
	}
	if strings.Join(got, ",") != "1!,2,3" {
		t.Fatalf("popped %v", got)
	}
	q.wait() // returns at once: empty and idle
}
