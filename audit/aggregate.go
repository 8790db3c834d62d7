package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AggregateOptions configures an Aggregator. Zero values mean the
// defaults.
type AggregateOptions struct {
	// Interval is how long requests are counted before their summary
	// records are written; default DefaultAggregateInterval.
	Interval time.Duration
	// PerSource is how many refused unauthenticated requests of each
	// source address are recorded one by one in an interval, before
	// the rest are counted; default 3.
	PerSource int
	// MaxSources bounds, in an interval, both the sources whose first
	// requests are recorded one by one and the (source, action, error)
	// counters; requests beyond either are counted in one counter for
	// other sources. Default 128.
	MaxSources int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives summaries that could not be written at Close;
	// nil discards.
	Logger *slog.Logger
}

// DefaultAggregateInterval is the default AggregateOptions.Interval.
//
// A flood costs one summary per (source, action, error) per interval
// plus PerSource records, so the interval is what a sustained flood
// costs: at 10 s, one client refused 2,600 times a second writes 4
// records every 10 s (about 2 MB an hour with 1 KiB keys) where it
// wrote 18 GB. Shorter intervals cost more for no gain in evidence: a
// summary keeps the times of the first and last request it counts. The
// price of a longer one is that counts wait in memory that long, so a
// crash loses at most one interval's counts (never the requests
// recorded one by one), and that a summary shows up to 10 s late, about
// as late as a stopped log resumes (DefaultRetryInterval).
const DefaultAggregateInterval = 10 * time.Second

func (o *AggregateOptions) ensureDefaults() {
	if o.Interval <= 0 {
		o.Interval = DefaultAggregateInterval
	}
	if o.PerSource <= 0 {
		o.PerSource = 3
	}
	if o.MaxSources <= 0 {
		o.MaxSources = 128
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Aggregator stands in front of a Log for the records of requests, so
// that callers nobody authenticated cannot fill the audit disk: each
// such record is fsynced, and a single anonymous client was measured
// writing 2,600 a second (18 GB an hour).
//
// A refused unauthenticated request (identity Anonymous, which covers a
// bad signature or an unknown key, and status 400 or more except 500,
// a server fault that keeps its own record) is recorded one by one for
// the first PerSource of each source address in an interval; the rest
// are counted per (source, action, error) and written at the end of the
// interval as one summary record each (see IsSummary). Nothing is
// dropped: every request is in a record or a count. Records of
// authenticated callers, and successful anonymous requests (changes to
// a bucket open to the public), go to the log unchanged: they identify
// who did what.
//
// Memory is bounded by MaxSources; a flood from more sources than that
// folds into one counter for other sources, so an interval writes at
// most MaxSources × (PerSource + 1) + 1 records whatever the traffic.
//
// Append, Flush and Close are safe for concurrent use.
type Aggregator struct {
	log  *Log
	opts AggregateOptions

	mu      sync.Mutex
	start   time.Time           // of the current interval; zero: none yet
	sources map[string]int      // records written one by one per source, this interval
	counts  map[tallyKey]*tally // counted, to summarize
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// tallyKey is what one summary record stands for; other is the counter
// for sources beyond MaxSources (source, action and error then empty).
type tallyKey struct {
	source, action, code string
	other                bool
}

// tally counts requests for one summary record. Its entry keeps the
// fields every counted request shared (Bucket, Status), emptied when
// they differ.
type tally struct {
	e            Entry
	n            uint64
	since, until time.Time
}

// NewAggregator returns an Aggregator in front of l and starts its
// timer, which writes the summaries of each ended interval. Close it
// before l.
func NewAggregator(l *Log, opts AggregateOptions) *Aggregator {
	opts.ensureDefaults()
	a := &Aggregator{log: l, opts: opts, sources: map[string]int{}, counts: map[tallyKey]*tally{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go a.timer()
	return a
}

// timer flushes every Interval, so that the summary of a flood that
// stopped is written without waiting for the next request.
func (a *Aggregator) timer() {
	defer close(a.done)
	t := time.NewTicker(a.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			if err := a.Flush(context.Background()); err != nil {
				// The counts are kept for the next attempt; the log
				// reports its own stop.
				a.opts.Logger.Debug("audit: summaries not written yet", "err", err)
			}
		}
	}
}

// aggregated reports whether e is the record of a refused request from
// a caller nobody authenticated.
func aggregated(e Entry) bool {
	return e.Identity == Anonymous && e.Status >= 400 && e.Status != 500
}

// Append records e: at once through the log, or counted for a summary
// record (see Aggregator). It first writes the summaries of an interval
// that has ended. Errors are the log's (ErrWrite while it is stopped,
// ErrClosed).
func (a *Aggregator) Append(ctx context.Context, e Entry) error {
	if !aggregated(e) {
		_, err := a.log.Append(ctx, e)
		return err
	}
	now := a.opts.Now().UTC()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	due := a.rollLocked(now, false)
	one := a.countLocked(e, now)
	a.mu.Unlock()
	err := a.write(ctx, due)
	if one {
		_, aerr := a.log.Append(ctx, e)
		err = errors.Join(aerr, err)
	}
	return err
}

// Flush writes the summaries of an interval that has ended. A summary
// the log refuses (it is stopped) is kept, its count growing, and
// written by a later Flush.
func (a *Aggregator) Flush(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	due := a.rollLocked(a.opts.Now().UTC(), false)
	a.mu.Unlock()
	return a.write(ctx, due)
}

// Close stops the timer and writes every summary, the current
// interval's included. Summaries the log refuses are logged (error, with
// their counts): they are then in no record. Later Appends fail with
// ErrClosed.
func (a *Aggregator) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	<-a.done
	a.mu.Lock()
	due := a.rollLocked(time.Time{}, true)
	a.mu.Unlock()
	err := a.write(ctx, due)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.counts {
		a.opts.Logger.Error("audit: closing with refused requests counted and not recorded",
			"source", t.e.Source, "action", t.e.Action, "error", t.e.Error, "count", t.n, "since", t.since, "until", t.until)
	}
	return err
}

// rollLocked ends the current interval if it is over at now (or, with
// all, in any case): it returns the summaries to write and forgets the
// sources seen. Outside an interval it returns the summaries a refused
// write left. a.mu held.
func (a *Aggregator) rollLocked(now time.Time, all bool) []*tally {
	if !all && !a.start.IsZero() && now.Before(a.start.Add(a.opts.Interval)) {
		return nil
	}
	a.start = time.Time{}
	clear(a.sources)
	due := make([]*tally, 0, len(a.counts))
	for k, t := range a.counts {
		due = append(due, t)
		delete(a.counts, k)
	}
	// In a stable order, other sources last: a log reads the same for
	// the same traffic.
	slices.SortFunc(due, func(x, y *tally) int {
		return cmp.Or(cmp.Compare(otherLast(x), otherLast(y)), strings.Compare(x.e.Source, y.e.Source),
			strings.Compare(x.e.Action, y.e.Action), strings.Compare(x.e.Error, y.e.Error))
	})
	return due
}

// countLocked accounts for e at now: true to record it one by one,
// false when it was counted. a.mu held.
func (a *Aggregator) countLocked(e Entry, now time.Time) bool {
	if a.start.IsZero() {
		a.start = now
	}
	n, seen := a.sources[e.Source]
	if !seen && len(a.sources) < a.opts.MaxSources {
		seen = true
	}
	if seen && n < a.opts.PerSource {
		a.sources[e.Source] = n + 1
		return true
	}
	k := tallyKey{source: e.Source, action: e.Action, code: e.Error}
	if !seen {
		k = tallyKey{other: true}
	}
	a.addLocked(k, &tally{e: e, n: 1, since: now, until: now})
	return false
}

// addLocked merges t into the counter for k, or into the one for other
// sources when MaxSources counters exist already. a.mu held.
func (a *Aggregator) addLocked(k tallyKey, t *tally) {
	c := a.counts[k]
	if c == nil && !k.other && len(a.counts) >= a.opts.MaxSources {
		k = tallyKey{other: true}
		c = a.counts[k]
	}
	if c == nil {
		e := Entry{Identity: Anonymous, Source: t.e.Source, Action: t.e.Action, Bucket: t.e.Bucket,
			Status: t.e.Status, Error: t.e.Error}
		if k.other {
			e.Source = ""
		}
		a.counts[k] = &tally{e: e, n: t.n, since: t.since, until: t.until}
		return
	}
	c.n += t.n
	c.since, c.until = minTime(c.since, t.since), maxTime(c.until, t.until)
	for _, f := range []struct{ have, add *string }{
		{&c.e.Action, &t.e.Action}, {&c.e.Bucket, &t.e.Bucket}, {&c.e.Error, &t.e.Error},
	} {
		if *f.have != *f.add {
			*f.have = ""
		}
	}
	if c.e.Status != t.e.Status {
		c.e.Status = 0
	}
}

// write appends a summary record for each tally. While the log is
// stopped, or when it refuses one, the tallies go back to be counted on
// (a summary refused by a stopped log would be counted there as one
// event, not n).
func (a *Aggregator) write(ctx context.Context, due []*tally) error {
	for i, t := range due {
		err := a.log.Err()
		if err == nil {
			_, err = a.log.Append(ctx, summaryEntry(t))
		}
		if err != nil {
			a.mu.Lock()
			for _, t := range due[i:] {
				k := tallyKey{source: t.e.Source, action: t.e.Action, code: t.e.Error, other: t.e.Source == ""}
				a.addLocked(k, t)
			}
			a.mu.Unlock()
			return fmt.Errorf("audit: summary: %w", err)
		}
	}
	return nil
}

// summaryEntry is the record of a tally: identity Anonymous, the
// source (empty for other sources), action, error, and bucket and
// status where every counted request had the same, no key or request
// id, and the counts in Reason:
//
//	"<N> more refused requests from <source|other sources> between <RFC 3339> and <RFC 3339>"
//
// An ordinary version 1 record, chained like any other: every reader
// verifies it.
func summaryEntry(t *tally) Entry {
	e := t.e
	from := e.Source
	if from == "" {
		from = otherSources
	}
	e.Reason = strconv.FormatUint(t.n, 10) + summaryMore + from + " between " +
		t.since.UTC().Format(time.RFC3339Nano) + " and " + t.until.UTC().Format(time.RFC3339Nano)
	return e
}

const (
	summaryMore  = " more refused requests from "
	otherSources = "other sources"
)

// Summary is what a summary record reports: Count refused requests of
// unauthenticated callers from Source ("" for sources beyond
// AggregateOptions.MaxSources) between Since and Until, counted rather
// than recorded one by one.
type Summary struct {
	Seq          uint64
	Source       string
	Count        uint64
	Since, Until time.Time
}

// IsSummary reports whether r is a summary record written by an
// Aggregator. Requests always have a request id; summaries have none.
func IsSummary(r Record) bool {
	return r.Identity == Anonymous && r.RequestID == "" && strings.Contains(r.Reason, summaryMore)
}

// ParseSummary reads the counts of a summary record.
func ParseSummary(r Record) (Summary, error) {
	if !IsSummary(r) {
		return Summary{}, fmt.Errorf("audit: record %d is not a summary record", r.Seq)
	}
	s := Summary{Seq: r.Seq}
	n, rest, _ := strings.Cut(r.Reason, summaryMore)
	from, times, ok1 := strings.Cut(rest, " between ")
	since, until, ok2 := strings.Cut(times, " and ")
	var err1, err2, err3 error
	s.Count, err1 = strconv.ParseUint(n, 10, 64)
	s.Since, err2 = time.Parse(time.RFC3339Nano, since)
	s.Until, err3 = time.Parse(time.RFC3339Nano, until)
	if !ok1 || !ok2 || errors.Join(err1, err2, err3) != nil || s.Until.Before(s.Since) {
		return Summary{}, fmt.Errorf("audit: summary record %d: reason %q is not in the summary form", r.Seq, limit(r.Reason, 128))
	}
	if from != otherSources {
		s.Source = from
	}
	return s, nil
}

// otherLast sorts the counter of other sources after the others.
func otherLast(t *tally) int {
	if t.e.Source == "" {
		return 1
	}
	return 0
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
