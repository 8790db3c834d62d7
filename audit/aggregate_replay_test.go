package audit

import (
	"context"
	"fmt"
	"testing"
)

// TestAggregatorReplayedCredentialNotFoldedIntoOtherSources:
// AppendReplayable promises that the records and summary of a presigned
// URL or form keep the signer's identity and access key. Anyone can use
// up MaxSources in an interval (128 IPv4 addresses, or 128 /64s: half of
// one /56); a signed credential's refusals must not then fall into the
// anonymous "other sources" counter, which names neither signer nor key.
func TestAggregatorReplayedCredentialNotFoldedIntoOtherSources(t *testing.T) {
	dir := t.TempDir()
	clk := &stepClock{t: t0}
	l := openLog(t, dir, Options{Now: clk.Now})
	a := NewAggregator(l, AggregateOptions{Now: clk.Now})
	ctx := context.Background()
	for i := range 128 {
		if err := a.Append(ctx, refusal(fmt.Sprintf("2001:db8:0:%x::1", i), "GetObject", "AccessDenied")); err != nil {
			t.Fatal(err)
		}
	}
	e := refusal("198.51.100.7", "DeleteObject", "AccessDenied")
	e.Identity, e.AccessKey = User("alice"), "AKIAALICE"
	for range 5 {
		if err := a.AppendReplayable(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range collect(t, dir, Filter{}) {
		if r.AccessKey == "AKIAALICE" {
			return
		}
	}
	t.Fatal("no record, one by one or summary, names alice's access key")
}

// TestAggregatorReplayedCredentialNamesEachTarget: a replayed URL or
// form always names the same bucket and key, so aggregating per
// credential need not fold distinct targets together. A user who
// presigns her own requests (any key holder can) and is refused deletes
// of 20 different objects in 2 buckets must have each object named in
// the log, as header-signed attempts are.
func TestAggregatorReplayedCredentialNamesEachTarget(t *testing.T) {
	dir := t.TempDir()
	clk := &stepClock{t: t0}
	l := openLog(t, dir, Options{Now: clk.Now})
	a := NewAggregator(l, AggregateOptions{Now: clk.Now})
	ctx := context.Background()
	for i := range 20 {
		e := refusal("198.51.100.7", "DeleteObject", "AccessDenied")
		e.Identity, e.AccessKey = User("alice"), "AKIAALICE"
		e.Bucket, e.Key = fmt.Sprintf("patients-%d", i%2), fmt.Sprintf("record-%d", i)
		if err := a.AppendReplayable(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, r := range collect(t, dir, Filter{}) {
		keys[r.Key] = true
	}
	if len(keys) < 20 {
		t.Fatalf("%d of 20 distinct targets named in the log", len(keys))
	}
}
