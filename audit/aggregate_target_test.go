package audit

import (
	"context"
	"fmt"
	"testing"
)

// TestAggregatorOtherSourcesKeepTarget: an attacker who first sends one
// refused request from each of MaxSources addresses (an IPv6 /64 has
// 2^64) in an interval makes every later source of that interval fold
// into "other sources": a targeted probe from its real address is then
// in no record, not even its source address.
func TestAggregatorOtherSourcesKeepTarget(t *testing.T) {
	dir := t.TempDir()
	clk := &stepClock{t: t0}
	l := openLog(t, dir, Options{Now: clk.Now})
	a := NewAggregator(l, AggregateOptions{Now: clk.Now})
	ctx := context.Background()
	for i := range 128 {
		if err := a.Append(ctx, refusal(fmt.Sprintf("2001:db8::%x", i+1), "GetObject", "AccessDenied")); err != nil {
			t.Fatal(err)
		}
	}
	const target = "198.51.100.7"
	probe := refusal(target, "DeleteObject", "SignatureDoesNotMatch")
	probe.AccessKey = "AKIAALICEKEY0000001"
	for range 3 {
		if err := a.Append(ctx, probe); err != nil {
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
		if r.Source == target {
			return
		}
	}
	t.Fatalf("no record, one by one or summary, names source %s", target)
}
