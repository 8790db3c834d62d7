package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
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
	// source (an IPv4 address, an IPv6 /64), and refused requests of
	// each replayable credential to each target (AppendReplayable), are
	// recorded one by one in an interval, before the rest are counted;
	// default 3.
	PerSource int
	// MaxSources bounds, in an interval, both the sources of
	// unauthenticated requests whose first requests are recorded one by
	// one and their counters; requests beyond either are counted in one
	// counter for other sources. Default 128. Replayable credentials
	// have a budget of their own (MaxTargets): anyone can use up
	// MaxSources, and a signer's refusals must keep naming her.
	MaxSources int
	// MaxTargets bounds the targets (bucket and key) of each replayable
	// credential counted apart in an interval; refusals of that
	// credential to further targets are counted in one summary per
	// (action, error) that still names the credential. Default 32.
	MaxTargets int
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
	if o.MaxTargets <= 0 {
		o.MaxTargets = 32
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
// the first PerSource of each source in an interval; the rest are
// counted per (source, action, error) and written at the end of the
// interval as one summary record each (see IsSummary). A source is an
// IPv4 address or an IPv6 /64: one subscriber gets a /64, so counting
// IPv6 addresses one by one would let a single client take every
// source of an interval. Nothing is dropped: every request is in a
// record or a count.
//
// Refusals of a replayable credential (AppendReplayable: a presigned
// URL, a signed browser form) are aggregated the same way, keyed by
// the credential's identity and access key and the request's bucket and
// key instead of the source, because whoever holds the URL or form can
// replay it from anywhere, after it expired too: replaying one URL is
// one summary per (action, error) per interval, which names the signer,
// the access key and the target. The target is in the key because a
// signer can presign her own requests: without it, her refusals on
// many objects would fold into one summary naming none of them.
//
// Records of authenticated callers signing each request themselves,
// and successful anonymous requests (changes to a bucket open to the
// public), go to the log unchanged: they identify who did what.
//
// Memory is bounded by MaxSources; a flood from more sources than that
// folds into one counter for other sources, which keeps the first few
// sources it counts (maxSample), so the unauthenticated requests of an
// interval write at most MaxSources × (PerSource + 1) + 1 records
// whatever the traffic. Replayable credentials never fold into that
// counter, which names nobody: only a verified signature makes a
// request replayable, so their number is bounded by the IAM store, and
// each has at most MaxTargets targets counted apart, beyond which its
// refusals go to one counter per (action, error) of that credential.
//
// Append, Flush and Close are safe for concurrent use.
type Aggregator struct {
	log  *Log
	opts AggregateOptions

	mu      sync.Mutex
	start   time.Time           // of the current interval; zero: none yet
	sources map[string]int      // records written one by one per unauthenticated source, this interval
	targets map[target]int      // records written one by one per credential and target, this interval
	perCred map[credential]int  // targets counted apart per credential, this interval
	counts  map[tallyKey]*tally // counted, to summarize
	anon    int                 // counters of unauthenticated sources in counts (not other)
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// tallyKey is what one summary record stands for: a source, or a
// replayable credential (identity and access key, source empty) and its
// target (bucket, key); other is the counter for sources beyond
// MaxSources (every other field then empty), overflow a credential's
// counter for targets beyond MaxTargets (bucket and key then empty).
type tallyKey struct {
	source, identity, accessKey, bucket, key, action, code string
	other, overflow                                        bool
}

// credential is a replayable credential: its signer and access key.
type credential struct{ identity, accessKey string }

// target is what a replayable credential was used on.
type target struct {
	credential
	bucket, key string
}

// tally counts requests for one summary record. Its entry keeps the
// fields every counted request shared (Bucket, Key, Status), emptied when
// they differ; sample holds the first maxSample distinct sources
// counted, more whether there were others.
type tally struct {
	k            tallyKey
	e            Entry
	n            uint64
	since, until time.Time
	sample       []string
	more         bool
}

// maxSample bounds the sources a summary of several sources names: the
// first few are what leads to a prober hidden among many.
const maxSample = 8

// NewAggregator returns an Aggregator in front of l and starts its
// timer, which writes the summaries of each ended interval. Close it
// before l.
func NewAggregator(l *Log, opts AggregateOptions) *Aggregator {
	opts.ensureDefaults()
	a := &Aggregator{log: l, opts: opts, sources: map[string]int{}, targets: map[target]int{},
		perCred: map[credential]int{}, counts: map[tallyKey]*tally{},
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
// a caller nobody authenticated or, with replayable, of a refused
// request whose credential anyone holding it may send.
func aggregated(e Entry, replayable bool) bool {
	return (e.Identity == Anonymous || replayable) && e.Status >= 400 && e.Status != 500
}

// Append records e: at once through the log, or counted for a summary
// record (see Aggregator). It first writes the summaries of an interval
// that has ended. Errors are the log's (ErrWrite while it is stopped,
// ErrClosed).
func (a *Aggregator) Append(ctx context.Context, e Entry) error {
	return a.append(ctx, e, false)
}

// AppendReplayable is Append for the record of a request whose
// credential is not bound to its sender: a presigned URL or a signed
// browser form, which anyone who has it may send again, from anywhere,
// as often as they like, and after it expired (the signature still
// names its signer). A refusal of such a request is aggregated like an
// unauthenticated one, counted per (identity, access key, bucket, key,
// action, error) whatever its source, so that replaying one published
// URL or form costs one summary per interval; the records and the
// summary keep the signer's identity and access key, and the target up
// to MaxTargets targets per credential. An entry with identity
// Anonymous names no verified signer and is counted by its source, as
// Append counts it. Anything else is recorded as Append records it.
func (a *Aggregator) AppendReplayable(ctx context.Context, e Entry) error {
	return a.append(ctx, e, true)
}

func (a *Aggregator) append(ctx context.Context, e Entry, replayable bool) error {
	if !aggregated(e, replayable) {
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
	one := a.countLocked(e, replayable, now)
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
			"source", t.e.Source, "identity", t.e.Identity, "access_key", t.e.AccessKey, "sources", t.sample,
			"bucket", t.e.Bucket, "key", t.e.Key,
			"action", t.e.Action, "error", t.e.Error, "count", t.n, "since", t.since, "until", t.until)
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
	clear(a.targets)
	clear(a.perCred)
	a.anon = 0
	due := make([]*tally, 0, len(a.counts))
	for k, t := range a.counts {
		due = append(due, t)
		delete(a.counts, k)
	}
	// In a stable order, other sources last and a credential's overflow
	// after its targets: a log reads the same for the same traffic.
	slices.SortFunc(due, func(x, y *tally) int {
		return cmp.Or(cmp.Compare(otherLast(x), otherLast(y)), strings.Compare(x.k.source, y.k.source),
			strings.Compare(x.k.identity, y.k.identity), strings.Compare(x.k.accessKey, y.k.accessKey),
			cmp.Compare(overflowLast(x), overflowLast(y)), strings.Compare(x.k.bucket, y.k.bucket),
			strings.Compare(x.k.key, y.k.key), strings.Compare(x.k.action, y.k.action), strings.Compare(x.k.code, y.k.code))
	})
	return due
}

// countLocked accounts for e at now: true to record it one by one,
// false when it was counted. a.mu held.
func (a *Aggregator) countLocked(e Entry, replayable bool, now time.Time) bool {
	if a.start.IsZero() {
		a.start = now
	}
	src := sourcePrefix(e.Source)
	if replayable && e.Identity != Anonymous {
		return a.countCredentialLocked(e, src, now)
	}
	k := tallyKey{source: src, action: e.Action, code: e.Error}
	n, seen := a.sources[src]
	if !seen && len(a.sources) < a.opts.MaxSources {
		seen = true
	}
	if seen && n < a.opts.PerSource {
		a.sources[src] = n + 1
		return true
	}
	if !seen {
		k = tallyKey{other: true}
	}
	a.addLocked(&tally{k: k, e: e, n: 1, since: now, until: now, sample: []string{src}})
	return false
}

// countCredentialLocked is countLocked for a replayable credential: the
// first PerSource refusals of each of its first MaxTargets targets are
// recorded one by one, the rest counted per target.
//
// Beyond MaxTargets a credential's refusals fold into one counter per
// (action, error) that names the credential (and the bucket if all
// shared it), rather than being recorded one by one: a published form
// whose policy lets the sender choose the key (starts-with) replays to
// any number of keys, and recording each would hand back to whoever
// holds it the flood the Aggregator exists to stop. The first
// MaxTargets targets of each interval are still named, and the signer
// and the counts are always kept. a.mu held.
func (a *Aggregator) countCredentialLocked(e Entry, src string, now time.Time) bool {
	c := credential{identity: e.Identity, accessKey: e.AccessKey}
	tg := target{credential: c, bucket: e.Bucket, key: e.Key}
	n, seen := a.targets[tg]
	if !seen && a.perCred[c] < a.opts.MaxTargets {
		seen = true
		a.perCred[c]++
	}
	if seen && n < a.opts.PerSource {
		a.targets[tg] = n + 1
		return true
	}
	k := tallyKey{identity: c.identity, accessKey: c.accessKey, bucket: tg.bucket, key: tg.key,
		action: e.Action, code: e.Error}
	if !seen {
		k = tallyKey{identity: c.identity, accessKey: c.accessKey, action: e.Action, code: e.Error, overflow: true}
	}
	a.addLocked(&tally{k: k, e: e, n: 1, since: now, until: now, sample: []string{src}})
	return false
}

// addLocked merges t into the counter for t.k, or, for a source, into
// the one for other sources when MaxSources counters of sources exist
// already. A credential's counter is never folded there (see
// Aggregator): its number is bounded by the IAM store and MaxTargets.
// a.mu held.
func (a *Aggregator) addLocked(t *tally) {
	k := t.k
	cred := k.identity != ""
	c := a.counts[k]
	if c == nil && !cred && !k.other && a.anon >= a.opts.MaxSources {
		k = tallyKey{other: true}
		c = a.counts[k]
	}
	if c == nil {
		e := Entry{Identity: Anonymous, Source: k.source, Action: t.e.Action, Bucket: t.e.Bucket,
			Status: t.e.Status, Error: t.e.Error}
		if cred {
			e.Identity, e.AccessKey, e.Key = k.identity, k.accessKey, t.e.Key
		} else if !k.other {
			a.anon++
		}
		a.counts[k] = &tally{k: k, e: e, n: t.n, since: t.since, until: t.until,
			sample: slices.Clone(t.sample), more: t.more}
		return
	}
	c.n += t.n
	c.since, c.until = minTime(c.since, t.since), maxTime(c.until, t.until)
	for _, s := range t.sample {
		switch {
		case slices.Contains(c.sample, s):
		case len(c.sample) < maxSample:
			c.sample = append(c.sample, s)
		default:
			c.more = true
		}
	}
	c.more = c.more || t.more
	for _, f := range []struct{ have, add *string }{
		{&c.e.Action, &t.e.Action}, {&c.e.Bucket, &t.e.Bucket}, {&c.e.Key, &t.e.Key}, {&c.e.Error, &t.e.Error},
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
				a.addLocked(t)
			}
			a.mu.Unlock()
			return fmt.Errorf("audit: summary: %w", err)
		}
	}
	return nil
}

// summaryEntry is the record of a tally: the identity (Anonymous, or
// the signer of a replayable credential with its access key), the
// source (empty for several), action, error, and bucket, key (of a
// replayable credential only) and status where every counted request
// had the same, no request id, and the counts in Reason:
//
//	"<N> more refused requests from <source|other sources|several sources> between <RFC 3339> and <RFC 3339>[; sources: <s1>, <s2>, …[, and others]]"
//
// "other sources" is the counter beyond MaxSources, "several sources"
// a replayable credential sent from more than one; both list the first
// maxSample sources they counted. An ordinary version 1 record, chained
// like any other: every reader verifies it.
func summaryEntry(t *tally) Entry {
	e := t.e
	if e.Source == "" && !t.k.other && e.Identity != Anonymous && len(t.sample) == 1 && !t.more {
		e.Source = t.sample[0] // a replayed credential, from one source
	}
	from := e.Source
	switch {
	case from != "":
	case e.Identity == Anonymous:
		from = otherSources
	default:
		from = severalSources
	}
	e.Reason = strconv.FormatUint(t.n, 10) + summaryMore + from + " between " +
		t.since.UTC().Format(time.RFC3339Nano) + " and " + t.until.UTC().Format(time.RFC3339Nano)
	if e.Source == "" && len(t.sample) > 0 {
		e.Reason += summarySources + strings.Join(t.sample, ", ")
		if t.more {
			e.Reason += ", " + summaryOthers
		}
	}
	return e
}

const (
	summaryMore    = " more refused requests from "
	summarySources = "; sources: "
	summaryOthers  = "and others"
	otherSources   = "other sources"
	severalSources = "several sources"
)

// Summary is what a summary record reports: Count refused requests
// from Source between Since and Until, counted rather than recorded one
// by one. Source is an IPv4 address or an IPv6 /64 ("2001:db8::/64"),
// or "" for several: sources beyond AggregateOptions.MaxSources, or a
// replayable credential sent from more than one. Sources then lists the
// first few of them, MoreSources whether there were others. The record
// itself says whose: identity Anonymous, or the signer and access key
// of a replayed presigned URL or form, with its bucket and key unless
// the summary counts a credential's targets beyond MaxTargets.
type Summary struct {
	Seq          uint64
	Source       string
	Count        uint64
	Since, Until time.Time
	Sources      []string
	MoreSources  bool
}

// IsSummary reports whether r is a summary record written by an
// Aggregator. Requests always have a request id; summaries have none,
// and are anonymous or name the access key of a replayed credential.
func IsSummary(r Record) bool {
	return (r.Identity == Anonymous || r.AccessKey != "") && r.RequestID == "" && strings.Contains(r.Reason, summaryMore)
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
	until, sample, sampled := strings.Cut(until, summarySources)
	var err1, err2, err3 error
	s.Count, err1 = strconv.ParseUint(n, 10, 64)
	s.Since, err2 = time.Parse(time.RFC3339Nano, since)
	s.Until, err3 = time.Parse(time.RFC3339Nano, until)
	if !ok1 || !ok2 || errors.Join(err1, err2, err3) != nil || s.Until.Before(s.Since) || sampled && sample == "" {
		return Summary{}, fmt.Errorf("audit: summary record %d: reason %q is not in the summary form", r.Seq, limit(r.Reason, 128))
	}
	if from != otherSources && from != severalSources {
		s.Source = from
	}
	if sampled {
		s.Sources = strings.Split(sample, ", ")
		if s.Sources[len(s.Sources)-1] == summaryOthers {
			s.Sources, s.MoreSources = s.Sources[:len(s.Sources)-1], true
		}
	}
	return s, nil
}

// sourcePrefix is the source an Aggregator counts a request's address
// under: an IPv4 address (or IPv4-mapped IPv6) as it is, an IPv6
// address as its /64, which one subscriber gets whole, anything else
// as it is; a port is dropped.
func sourcePrefix(source string) string {
	if ap, err := netip.ParseAddrPort(source); err == nil {
		source = ap.Addr().String()
	}
	a, err := netip.ParseAddr(source)
	if err != nil {
		return source
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return source
	}
	return p.String()
}

// otherLast sorts the counter of other sources after the others.
func otherLast(t *tally) int {
	if t.k.other {
		return 1
	}
	return 0
}

// overflowLast sorts a credential's counters beyond MaxTargets after
// those of its targets.
func overflowLast(t *tally) int {
	if t.k.overflow {
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
