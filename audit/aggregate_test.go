package audit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepClock is a clock that moves only when told.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *stepClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// refusal is the record of a request refused to an unauthenticated
// caller at source.
func refusal(source, action, code string) Entry {
	return Entry{Identity: Anonymous, Source: source, Action: action, Bucket: "secret", Key: "k",
		Status: 403, Error: code, RequestID: "R", Reason: "no statement allows it"}
}

// show renders a record for the tables: a summary as
// "summary [<identity> <access key>] <source> [<bucket>/<key>] <action> <error> <count> [<sources>]",
// else "<identity> <source> <action> <status>".
func show(t *testing.T, r Record) string {
	if !IsSummary(r) {
		return fmt.Sprintf("%s %s %s %d", r.Identity, r.Source, r.Action, r.Status)
	}
	s, err := ParseSummary(r)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != r.Source {
		t.Fatalf("summary %d: source %q in the reason, %q in the field", r.Seq, s.Source, r.Source)
	}
	src := r.Source
	switch {
	case src != "":
	case r.Identity == Anonymous:
		src = "other"
	default:
		src = "several"
	}
	if r.Identity != Anonymous {
		src = r.Identity + " " + r.AccessKey + " " + src
	}
	if r.Key != "" {
		src += " " + r.Bucket + "/" + r.Key
	}
	out := fmt.Sprintf("summary %s %s %s %d", src, r.Action, r.Error, s.Count)
	if len(s.Sources) > 0 {
		out += fmt.Sprint(" ", s.Sources)
	}
	return out
}

// TestAggregator: refusals of unauthenticated callers are recorded one
// by one for the first few of each source in an interval and counted
// in one summary record per (source, action, error) after that, with
// the sources bounded; every other record goes through unchanged. The
// log verifies, and every request appended is in a record or a count.
func TestAggregator(t *testing.T) {
	const A, B, C, D = "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"
	denyA := refusal(A, "DeleteObject", "AccessDenied")
	user := denyA
	user.Identity = User("alice")
	public := denyA
	public.Status, public.Error = 200, ""
	fault := denyA
	fault.Status, fault.Error = 500, "InternalError"
	form := func(source string) Entry { // a replayed form alice signed
		e := refusal(source, "PostObject", "AccessDenied")
		e.Identity, e.AccessKey = User("alice"), "AKIAALICE"
		return e
	}
	formTo := func(key string) Entry { // alice's presigned delete of key
		e := form(A)
		e.Action, e.Key = "DeleteObject", key
		return e
	}
	unverified := denyA // replayable, but no signer was verified
	unverified.AccessKey = "AKIAFAKE"
	type step struct {
		e          Entry
		n          int           // appends of e
		after      time.Duration // clock step before them
		replayable bool          // through AppendReplayable
	}
	tests := []struct {
		name  string
		opts  AggregateOptions
		steps []step
		want  []string
	}{
		{"one source flood", AggregateOptions{}, []step{{e: denyA, n: 10}}, []string{
			"anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403",
			"summary 192.0.2.1 DeleteObject AccessDenied 7"}},
		{"authenticated denials one each", AggregateOptions{}, []step{{e: user, n: 5}}, []string{
			"user:alice 192.0.2.1 DeleteObject 403", "user:alice 192.0.2.1 DeleteObject 403", "user:alice 192.0.2.1 DeleteObject 403",
			"user:alice 192.0.2.1 DeleteObject 403", "user:alice 192.0.2.1 DeleteObject 403"}},
		{"anonymous changes and faults one each", AggregateOptions{}, []step{{e: public, n: 4}, {e: fault, n: 4}}, []string{
			"anonymous 192.0.2.1 DeleteObject 200", "anonymous 192.0.2.1 DeleteObject 200", "anonymous 192.0.2.1 DeleteObject 200",
			"anonymous 192.0.2.1 DeleteObject 200", "anonymous 192.0.2.1 DeleteObject 500", "anonymous 192.0.2.1 DeleteObject 500",
			"anonymous 192.0.2.1 DeleteObject 500", "anonymous 192.0.2.1 DeleteObject 500"}},
		{"a summary per action and error", AggregateOptions{}, []step{
			{e: denyA, n: 5}, {e: refusal(A, "PutObject", "AccessDenied"), n: 2}, {e: refusal(A, "PutObject", "SignatureDoesNotMatch"), n: 2},
		}, []string{
			"anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403",
			"summary 192.0.2.1 DeleteObject AccessDenied 2", "summary 192.0.2.1 PutObject AccessDenied 2",
			"summary 192.0.2.1 PutObject SignatureDoesNotMatch 2"}},
		{"each interval starts anew", AggregateOptions{}, []step{{e: denyA, n: 5}, {e: denyA, n: 4, after: DefaultAggregateInterval}}, []string{
			"anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403",
			"summary 192.0.2.1 DeleteObject AccessDenied 2",
			"anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403",
			"summary 192.0.2.1 DeleteObject AccessDenied 1"}},
		{"sources beyond the bound fold into one counter", AggregateOptions{PerSource: 1, MaxSources: 2}, []step{
			{e: denyA, n: 2}, {e: refusal(B, "GetObject", "AccessDenied"), n: 2}, {e: refusal(C, "PutObject", "AccessDenied"), n: 2},
			{e: refusal(D, "PutObject", "AccessDenied"), n: 3},
		}, []string{
			"anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.2 GetObject 403",
			"summary 192.0.2.1 DeleteObject AccessDenied 1", "summary 192.0.2.2 GetObject AccessDenied 1",
			"summary other PutObject AccessDenied 5 [192.0.2.3 192.0.2.4]"}},
		{"counters beyond the bound fold too", AggregateOptions{PerSource: 1, MaxSources: 2}, []step{
			{e: denyA, n: 2}, {e: refusal(A, "GetObject", "AccessDenied"), n: 1}, {e: refusal(A, "PutObject", "AccessDenied"), n: 1},
			{e: refusal(A, "HeadObject", "Forbidden"), n: 1},
		}, []string{
			"anonymous 192.0.2.1 DeleteObject 403",
			"summary 192.0.2.1 DeleteObject AccessDenied 1", "summary 192.0.2.1 GetObject AccessDenied 1",
			"summary other   2 [192.0.2.1]"}},
		{"an IPv6 /64 is one source", AggregateOptions{}, []step{
			{e: refusal("2001:db8::1", "GetObject", "AccessDenied"), n: 2}, {e: refusal("2001:db8::ffff:2", "GetObject", "AccessDenied"), n: 3},
			{e: refusal("2001:db8:0:1::1", "GetObject", "AccessDenied"), n: 1},
		}, []string{
			"anonymous 2001:db8::1 GetObject 403", "anonymous 2001:db8::1 GetObject 403", "anonymous 2001:db8::ffff:2 GetObject 403",
			"anonymous 2001:db8:0:1::1 GetObject 403", "summary 2001:db8::/64 GetObject AccessDenied 2"}},
		{"other sources name their first sources", AggregateOptions{PerSource: 1, MaxSources: 1}, []step{
			{e: denyA, n: 1}, {e: refusal(B, "GetObject", "AccessDenied"), n: 2}, {e: refusal("2001:db8::7", "GetObject", "AccessDenied"), n: 1},
		}, []string{
			"anonymous 192.0.2.1 DeleteObject 403", "summary other GetObject AccessDenied 3 [192.0.2.2 2001:db8::/64]"}},
		{"a replayed credential is one summary whatever its sources", AggregateOptions{}, []step{
			{e: form(A), n: 4, replayable: true}, {e: form(B), n: 2, replayable: true}, {e: form(A), n: 1},
		}, []string{
			"user:alice 192.0.2.1 PostObject 403", "user:alice 192.0.2.1 PostObject 403", "user:alice 192.0.2.1 PostObject 403",
			"user:alice 192.0.2.1 PostObject 403",
			"summary user:alice AKIAALICE several secret/k PostObject AccessDenied 3 [192.0.2.1 192.0.2.2]"}},
		{"a replayed credential from one source names it", AggregateOptions{}, []step{{e: form(A), n: 5, replayable: true}}, []string{
			"user:alice 192.0.2.1 PostObject 403", "user:alice 192.0.2.1 PostObject 403", "user:alice 192.0.2.1 PostObject 403",
			"summary user:alice AKIAALICE 192.0.2.1 secret/k PostObject AccessDenied 2"}},
		{"a replayed credential is counted per target", AggregateOptions{PerSource: 1}, []step{
			{e: formTo("a"), n: 3, replayable: true}, {e: formTo("b"), n: 2, replayable: true},
		}, []string{
			"user:alice 192.0.2.1 DeleteObject 403", "user:alice 192.0.2.1 DeleteObject 403",
			"summary user:alice AKIAALICE 192.0.2.1 secret/a DeleteObject AccessDenied 2",
			"summary user:alice AKIAALICE 192.0.2.1 secret/b DeleteObject AccessDenied 1"}},
		{"targets beyond the bound fold into a summary naming the credential", AggregateOptions{PerSource: 1, MaxTargets: 2}, []step{
			{e: formTo("a"), n: 2, replayable: true}, {e: formTo("b"), n: 1, replayable: true},
			{e: formTo("c"), n: 2, replayable: true}, {e: formTo("d"), n: 1, replayable: true},
		}, []string{
			"user:alice 192.0.2.1 DeleteObject 403", "user:alice 192.0.2.1 DeleteObject 403",
			"summary user:alice AKIAALICE 192.0.2.1 secret/a DeleteObject AccessDenied 1",
			"summary user:alice AKIAALICE 192.0.2.1 DeleteObject AccessDenied 3"}},
		{"credentials use none of the sources", AggregateOptions{PerSource: 1, MaxSources: 1}, []step{
			{e: denyA, n: 2}, {e: refusal(B, "GetObject", "AccessDenied"), n: 1}, {e: form(C), n: 2, replayable: true},
		}, []string{
			"anonymous 192.0.2.1 DeleteObject 403", "user:alice 192.0.2.3 PostObject 403",
			"summary user:alice AKIAALICE 192.0.2.3 secret/k PostObject AccessDenied 1",
			"summary 192.0.2.1 DeleteObject AccessDenied 1", "summary other GetObject AccessDenied 1 [192.0.2.2]"}},
		{"an unverified replayable is counted by its source", AggregateOptions{}, []step{{e: unverified, n: 4, replayable: true}}, []string{
			"anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403", "anonymous 192.0.2.1 DeleteObject 403",
			"summary 192.0.2.1 DeleteObject AccessDenied 1"}},
		{"replayable successes one each", AggregateOptions{}, []step{{e: func() Entry { e := form(A); e.Status, e.Error = 204, ""; return e }(), n: 4, replayable: true}}, []string{
			"user:alice 192.0.2.1 PostObject 204", "user:alice 192.0.2.1 PostObject 204", "user:alice 192.0.2.1 PostObject 204",
			"user:alice 192.0.2.1 PostObject 204"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &stepClock{t: t0}
			l := openLog(t, dir, Options{Now: clk.Now})
			opts := tt.opts
			opts.Now = clk.Now
			a := NewAggregator(l, opts)
			ctx := context.Background()
			appended := 0
			for _, s := range tt.steps {
				clk.Add(s.after)
				for range s.n {
					add := a.Append
					if s.replayable {
						add = a.AppendReplayable
					}
					if err := add(ctx, s.e); err != nil {
						t.Fatal(err)
					}
					appended++
				}
			}
			if err := a.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if err := l.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			var got []string
			accounted := 0
			for _, r := range collect(t, dir, Filter{}) {
				got = append(got, show(t, r))
				accounted++
				if s, err := ParseSummary(r); err == nil {
					accounted += int(s.Count) - 1
					if s.Since.Before(t0) || s.Until.Before(s.Since) || r.Time.Before(s.Until) {
						t.Errorf("summary %d counts from %s to %s, written at %s", r.Seq, s.Since, s.Until, r.Time)
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if accounted != appended {
				t.Errorf("%d requests appended, %d in records and counts", appended, accounted)
			}
			if rep := mustVerify(t, dir, VerifyOptions{}); !rep.OK() || len(rep.Issues) != 0 {
				t.Fatalf("verify: %+v", rep)
			}
		})
	}
}

// TestAggregatorFlushAtIntervalEnd: Flush writes a summary once its
// interval has ended, not before, so a flood that stops is summarized
// without waiting for another request.
func TestAggregatorFlushAtIntervalEnd(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	clk := &stepClock{t: t0}
	a := NewAggregator(l, AggregateOptions{Now: clk.Now, Interval: time.Hour}) // the timer never fires here
	defer a.Close(context.Background())
	ctx := context.Background()
	for range 5 {
		if err := a.Append(ctx, refusal("192.0.2.1", "DeleteObject", "AccessDenied")); err != nil {
			t.Fatal(err)
		}
	}
	summaries := func() (n int) {
		l.Sync(ctx)
		for _, r := range collect(t, dir, Filter{}) {
			if IsSummary(r) {
				n++
			}
		}
		return n
	}
	clk.Add(time.Hour - time.Nanosecond)
	if err := a.Flush(ctx); err != nil || summaries() != 0 {
		t.Fatalf("Flush before the interval ended: %v, %d summaries", err, summaries())
	}
	clk.Add(time.Nanosecond)
	if err := a.Flush(ctx); err != nil || summaries() != 1 {
		t.Fatalf("Flush at the end of the interval: %v, %d summaries", err, summaries())
	}
}

// TestAggregatorLogStopped: while the log is stopped a summary is not
// offered to it (a refused summary would be counted as one event, not
// N); its count is kept, grows, and is written once the log resumes.
func TestAggregatorLogStopped(t *testing.T) {
	dir := t.TempDir()
	disk := newDisk()
	l := openLog(t, dir, Options{WrapFile: disk.wrap, RetryInterval: 20 * time.Millisecond})
	clk := &stepClock{t: t0}
	a := NewAggregator(l, AggregateOptions{Now: clk.Now, Interval: time.Hour})
	ctx := context.Background()
	deny := refusal("192.0.2.1", "DeleteObject", "AccessDenied")
	for range 5 { // 3 recorded, 2 counted
		if err := a.Append(ctx, deny); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	stop(t, l, disk, 0, 0, 1)
	clk.Add(time.Hour)
	if err := a.Flush(ctx); !errors.Is(err, ErrWrite) {
		t.Fatalf("Flush to a stopped log = %v, want ErrWrite", err)
	}
	for i := range 6 { // a new interval: 3 refused by the log, 3 counted
		if err := a.Append(ctx, deny); i < 3 && !errors.Is(err, ErrWrite) || i >= 3 && err != nil {
			t.Fatalf("Append %d to a stopped log = %v", i, err)
		}
	}
	disk.free()
	waitFor(t, "the log resumes", func() bool { return l.Err() == nil })
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	l.Sync(ctx)
	var counted uint64
	for _, r := range collect(t, dir, Filter{}) {
		if s, err := ParseSummary(r); err == nil {
			counted += s.Count
			if !s.Since.Equal(t0) || !s.Until.Equal(t0.Add(time.Hour)) {
				t.Errorf("summary from %s to %s, want from the first to the last request counted", s.Since, s.Until)
			}
		}
	}
	rep := mustVerify(t, dir, VerifyOptions{})
	if g := onlyGap(t, rep); counted != 5 || g.Refused != 3 {
		t.Fatalf("counted %d, want 5; gap %+v (want 3 refused: the records of the new interval)", counted, g)
	}
}

// TestParseSummary: a summary's counts survive the record, and records
// that only look like one are not read as one.
func TestParseSummary(t *testing.T) {
	since, until := t0, t0.Add(1500*time.Millisecond)
	tests := []struct {
		name   string
		r      Record
		want   Summary
		wantOK bool
	}{
		{"from a source", Record{Seq: 9, Entry: summaryEntry(&tally{e: Entry{Identity: Anonymous, Source: "2001:db8::1"}, n: 42, since: since, until: until})},
			Summary{Seq: 9, Source: "2001:db8::1", Count: 42, Since: since, Until: until}, true},
		{"from other sources", Record{Seq: 9, Entry: summaryEntry(&tally{e: Entry{Identity: Anonymous}, n: 1, since: since, until: since})},
			Summary{Seq: 9, Count: 1, Since: since, Until: since}, true},
		{"with a sample of sources", Record{Seq: 9, Entry: summaryEntry(&tally{k: tallyKey{other: true}, e: Entry{Identity: Anonymous}, n: 30, since: since, until: until,
			sample: []string{"192.0.2.1", "2001:db8::/64"}, more: true})},
			Summary{Seq: 9, Count: 30, Since: since, Until: until, Sources: []string{"192.0.2.1", "2001:db8::/64"}, MoreSources: true}, true},
		{"of a replayed credential", Record{Seq: 9, Entry: summaryEntry(&tally{e: Entry{Identity: User("alice"), AccessKey: "AKIAALICE"}, n: 5, since: since, until: until,
			sample: []string{"192.0.2.1", "192.0.2.2"}})},
			Summary{Seq: 9, Count: 5, Since: since, Until: until, Sources: []string{"192.0.2.1", "192.0.2.2"}}, true},
		{"a request record", Record{Entry: Entry{Identity: Anonymous, RequestID: "R", Reason: "7 more refused requests from x between a and b"}}, Summary{}, false},
		{"an authenticated record", Record{Entry: Entry{Identity: User("a"), Reason: "7 more refused requests from x between a and b"}}, Summary{}, false},
		{"bad count", Record{Entry: Entry{Identity: Anonymous, Reason: "many more refused requests from x between " +
			since.Format(time.RFC3339Nano) + " and " + until.Format(time.RFC3339Nano)}}, Summary{}, false},
		{"times reversed", Record{Entry: Entry{Identity: Anonymous, Reason: "7 more refused requests from x between " +
			until.Format(time.RFC3339Nano) + " and " + since.Format(time.RFC3339Nano)}}, Summary{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSummary(tt.r)
			if (err == nil) != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseSummary = %+v, %v; want %+v (ok %v)", got, err, tt.want, tt.wantOK)
			}
		})
	}
}
