package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// Defaults of the scanner and healer settings in Config.
const (
	// DefaultScanInterval is how long after a pass ended the next starts.
	DefaultScanInterval = 24 * time.Hour
	// DefaultScanObjectsPerSecond and DefaultScanBytesPerSecond keep a
	// pass gentle: a few percent of a disk's bandwidth.
	DefaultScanObjectsPerSecond = 100
	DefaultScanBytesPerSecond   = 50 << 20
	// DefaultOrphanGrace is how old an unreferenced data directory or
	// staging file must be before the scanner removes it.
	DefaultOrphanGrace = time.Hour
	// DefaultDriveCheckInterval is how often offline drives are looked at.
	DefaultDriveCheckInterval = 5 * time.Second
	// DefaultHealQueueSize bounds the heal-on-read queue.
	DefaultHealQueueSize = 10000
)

// ErrHealRunning is returned when a heal pass is asked for while one runs.
var ErrHealRunning = errors.New("storage: a heal pass is already running")

// HealOptions tunes one heal pass.
type HealOptions struct {
	// ObjectsPerSecond and BytesPerSecond bound the pass: 0 takes the
	// Config's rates, a negative value means unbounded.
	ObjectsPerSecond float64
	BytesPerSecond   float64
}

// HealStatus is the scanner's state and the progress of the current (or
// last) pass, and the heal-on-read queue's counters.
type HealStatus struct {
	// Running is true while a pass runs.
	Running bool
	// Pass numbers the current or last pass; it survives restarts.
	Pass int
	// Started and Finished bound the last pass (Finished is zero while
	// it runs); NextPass is when the next scheduled pass starts, zero
	// while one runs or when periodic passes are disabled.
	Started, Finished, NextPass time.Time
	// ObjectsTotal is how many objects the pass found at its start.
	ObjectsTotal int64
	// ObjectsScanned counts objects checked; ObjectsHealed those where
	// something was repaired; ObjectsDegraded those left short of full
	// redundancy (a drive offline); ObjectsFailed those whose heal
	// failed (beyond repair or an error). BytesScanned counts shard bytes
	// read.
	ObjectsScanned, ObjectsHealed, ObjectsDegraded, ObjectsFailed int64
	BytesScanned                                                  int64
	// UploadsScanned counts multipart uploads checked, OrphansRemoved the
	// data directories, staging files and records no metadata needed.
	UploadsScanned, OrphansRemoved int64
	// ETA estimates the time left in the running pass.
	ETA time.Duration
	// LastError is the last failure the pass met, for the operator.
	LastError string
	// Stopped is set when the last pass was stopped (StopHeal, or the
	// store closing) before it walked everything: its counts cover only
	// part of the store.
	Stopped bool
	// Queued is how many objects wait in the heal-on-read queue;
	// QueueHealed, QueueFailed and QueueDropped count what became of
	// the others (dropped ones are left to the next pass).
	Queued                                 int
	QueueHealed, QueueFailed, QueueDropped int64
	// Totals count what every pass since the process started did (the
	// Objects and Bytes fields above are the current or last pass's):
	// counters that only grow, for metrics.
	Totals HealTotals
}

// HealTotals are the scanner's counts summed over passes.
type HealTotals struct {
	ObjectsScanned, ObjectsHealed, ObjectsFailed, BytesScanned int64
}

// scanState is the scanner's side of the Store.
type scanState struct {
	mu     sync.Mutex
	status HealStatus
	cancel context.CancelFunc // of the running pass
	again  bool               // a drive came back during the pass: run another
	// owed is when a drive last came back having missed writes: a pass
	// that starts after it and walks every set without an error pays
	// it. It is kept on the drives (scanStateKey), so a restart before
	// then starts a pass at once instead of waiting for the schedule.
	owed time.Time
	// totals sum the passes' counts since start (HealStatus.Totals).
	totals  HealTotals
	trigger chan passRequest // StartHeal to the scanner goroutine
	lastEnd time.Time
	// rebuilding holds the paths of drives formatted in place of failed
	// ones that no finished pass has filled yet, each with the number
	// of the pass running (or last finished) when it was formatted.
	rebuilding map[string]int
	// short holds the paths of drives the running pass left without
	// something they should hold (noteShort): their rebuild goes on.
	short map[string]bool
	// walked is set when the running pass has been through every set
	// (some may have failed): only such a pass ends rebuilds.
	walked bool
}

type passRequest struct {
	ctx    context.Context
	cancel context.CancelFunc
	opts   HealOptions
}

// scanStateKey holds, on every drive, the number and end time of the last
// finished pass, so that a restart does not start a pass early, and when
// a pass was last owed to a drive that came back (scanState.owed), so
// that a restart does not forget it.
var scanStateKey = []byte{prefixLocal, 's', 'c', 'a', 'n'}

// HealStatus reports the scanner's state and progress.
func (s *Store) HealStatus() HealStatus {
	s.scan.mu.Lock()
	st := s.scan.status
	if st.Running {
		if elapsed := s.cfg.Now().Sub(st.Started); st.ObjectsScanned > 0 && st.ObjectsTotal > st.ObjectsScanned {
			st.ETA = time.Duration(float64(elapsed) / float64(st.ObjectsScanned) * float64(st.ObjectsTotal-st.ObjectsScanned))
		}
	} else if s.cfg.ScanInterval > 0 {
		st.NextPass = s.scan.lastEnd.Add(s.cfg.ScanInterval)
	}
	st.Totals = s.scan.totals
	s.scan.mu.Unlock()
	st.Queued, st.QueueHealed, st.QueueFailed, st.QueueDropped = s.healq.stats()
	return st
}

// claimPass marks a pass as running and returns its context, derived from
// parent and ended by StopHeal or Close.
func (s *Store) claimPass(parent context.Context) (context.Context, context.CancelFunc, error) {
	if s.bgCtx.Err() != nil {
		return nil, nil, ErrStorageShuttingDown
	}
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	if s.scan.status.Running {
		return nil, nil, ErrHealRunning
	}
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(s.bgCtx, cancel)
	cancelAll := func() { stop(); cancel() }
	s.scan.cancel = cancelAll
	s.scan.status = HealStatus{Running: true, Pass: s.scan.status.Pass + 1, Started: s.cfg.Now()}
	s.scan.short, s.scan.walked = nil, false
	return ctx, cancelAll, nil
}

// StartHeal starts a heal pass now, in the background; the pass outlives
// the caller's request. ErrHealRunning if one runs already.
func (s *Store) StartHeal(opts HealOptions) error {
	ctx, cancel, err := s.claimPass(context.Background())
	if err != nil {
		return err
	}
	select {
	case s.scan.trigger <- passRequest{ctx: ctx, cancel: cancel, opts: opts}:
		return nil
	default:
		// Unreachable: a pending request means a claimed pass.
		cancel()
		s.finishPass(errors.New("trigger busy"))
		return ErrHealRunning
	}
}

// StopHeal stops the running pass, if any. Periodic passes still start
// on schedule.
func (s *Store) StopHeal() {
	s.scan.mu.Lock()
	if s.scan.cancel != nil {
		s.scan.cancel()
	}
	s.scan.mu.Unlock()
}

// Heal runs a heal pass and returns when it ended, with its final status.
// ErrHealRunning if one runs already.
func (s *Store) Heal(ctx context.Context, opts HealOptions) (HealStatus, error) {
	pctx, cancel, err := s.claimPass(ctx)
	if err != nil {
		return HealStatus{}, err
	}
	defer cancel()
	err = s.pass(pctx, opts)
	s.finishPass(err)
	return s.HealStatus(), err
}

// requestPass asks for a pass soon: now, or right after the running one.
func (s *Store) requestPass() {
	if err := s.StartHeal(HealOptions{}); errors.Is(err, ErrHealRunning) {
		s.scan.mu.Lock()
		s.scan.again = true
		s.scan.mu.Unlock()
	}
}

// finishPass records the end of the claimed pass.
func (s *Store) finishPass(err error) {
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	now := s.cfg.Now()
	st := &s.scan.status
	st.Running = false
	st.Finished = now
	st.ETA = 0
	switch {
	case errors.Is(err, context.Canceled):
		st.Stopped = true
	case err != nil:
		st.LastError = err.Error()
	}
	s.scan.cancel = nil
	s.scan.lastEnd = now
	// A pass cut short ends no rebuild; one that failed in a set has
	// counted that set's drives short (pass), so others' rebuilds end.
	if s.scan.walked {
		for path, pass := range s.scan.rebuilding {
			// The pass started after its format (or its last time
			// offline) and gave it everything it should hold: it holds
			// the data, though other drives may still be short (one
			// offline, or a second replacement). Waiting for a pass with
			// nothing degraded anywhere kept a replacement "rebuilding"
			// while another drive was dead, and the set could then
			// refill neither. A heal that failed, or could not decide
			// what exists (drives silent), counts against every drive.
			if pass < st.Pass && !s.scan.short[path] {
				s.rebuilt(path)
			}
		}
	}
	if err == nil && s.scan.walked && !s.scan.owed.After(st.Started) {
		s.scan.owed = time.Time{} // paid
	}
	if err == nil {
		s.saveScanState(s.scanRecord())
	}
}

// scanRecord encodes the scanner's state for scanStateKey; s.scan.mu is
// held.
func (s *Store) scanRecord() []byte {
	rec := newRecord()
	rec.uint(1, uint64(s.scan.status.Pass))
	rec.int(2, s.scan.lastEnd.UnixNano())
	if !s.scan.owed.IsZero() {
		rec.int(3, s.scan.owed.UnixNano())
	}
	return rec.b
}

// owePass records that a drive came back having missed writes: a pass is
// owed to it, and stays owed across a restart until one pays it.
func (s *Store) owePass() {
	s.scan.mu.Lock()
	s.scan.owed = s.cfg.Now()
	val := s.scanRecord()
	s.scan.mu.Unlock()
	s.saveScanState(val)
}

// saveScanState writes the scanner's record to every drive, best effort.
func (s *Store) saveScanState(val []byte) {
	ctx := s.bgCtx
	if ctx.Err() != nil {
		ctx = context.Background()
	}
	for _, st := range s.sets {
		st.each(ctx, func(_ int, d Drive) error {
			return d.Apply(ctx, []drive.Op{{Key: scanStateKey, Value: val}})
		})
	}
}

// loadScanState reads the last pass's number and end from the drives.
func (s *Store) loadScanState(ctx context.Context) {
	var pass uint64
	var end, owed int64
	for _, st := range s.sets {
		st.each(ctx, func(_ int, d Drive) error {
			b, err := d.Get(ctx, scanStateKey)
			if err != nil {
				return err
			}
			fields, err := openRecord(b)
			if err != nil {
				return err
			}
			var p uint64
			var e, o int64
			if err := eachField(fields, func(tag uint64, v []byte) (err error) {
				switch tag {
				case 1:
					p, err = fieldUint(v)
				case 2:
					e, err = fieldInt(v)
				case 3:
					o, err = fieldInt(v)
				}
				return err
			}); err != nil {
				return err
			}
			s.scan.mu.Lock()
			pass, end, owed = max(pass, p), max(end, e), max(owed, o)
			s.scan.mu.Unlock()
			return nil
		})
	}
	s.scan.status.Pass = int(pass)
	s.scan.lastEnd = s.cfg.Now()
	if end > 0 {
		s.scan.lastEnd = time.Unix(0, end)
		s.scan.status.Finished = s.scan.lastEnd
	}
	if owed > 0 {
		// A drive came back before the last restart and no pass has
		// caught it up since: the scanner starts one at once.
		s.scan.owed = time.Unix(0, owed)
		s.scan.again = true
		s.log.Warn("storage: a drive that came back before the restart was not caught up yet; a heal pass starts now")
	}
}

// runScanner starts passes: on schedule, ScanInterval after the last
// ended, and on request (StartHeal, a drive replaced).
func (s *Store) runScanner(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Stop()
		s.scan.mu.Lock()
		again := s.scan.again
		s.scan.again = false
		next := s.scan.lastEnd.Add(s.cfg.ScanInterval)
		s.scan.mu.Unlock()
		if again {
			s.requestPass() // a drive came back during the last pass
		}
		var due <-chan time.Time
		if s.cfg.ScanInterval > 0 {
			timer.Reset(max(0, next.Sub(s.cfg.Now())))
			due = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case req := <-s.scan.trigger:
			err := s.pass(req.ctx, req.opts)
			req.cancel()
			s.finishPass(err)
		case <-due:
			pctx, cancel, err := s.claimPass(ctx)
			if err != nil {
				continue // a Heal call runs one now
			}
			err = s.pass(pctx, HealOptions{})
			cancel()
			s.finishPass(err)
		}
		if err := s.passError(); err != "" && ctx.Err() == nil {
			s.log.Warn("storage: heal pass ended with errors", "err", err)
		}
	}
}

func (s *Store) passError() string {
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	return s.scan.status.LastError
}

// rates resolves a pass's bounds against the Config.
func (s *Store) rates(opts HealOptions) (objs, bytes float64) {
	objs, bytes = opts.ObjectsPerSecond, opts.BytesPerSecond
	if objs == 0 {
		objs = s.cfg.ScanObjectsPerSecond
	}
	if bytes == 0 {
		bytes = s.cfg.ScanBytesPerSecond
	}
	return objs, bytes
}

// pass is one heal pass over everything the drives hold.
func (s *Store) pass(ctx context.Context, opts HealOptions) error {
	objs, byteRate := s.rates(opts)
	pc := &ratePacer{objects: newRate(objs), byteRate: newRate(byteRate)}
	s.log.Info("storage: heal pass started", "pass", s.HealStatus().Pass)
	start := time.Now()
	if err := s.healBuckets(ctx); err != nil && ctx.Err() == nil {
		s.passFailure(err)
	}
	total := s.countObjects(ctx)
	s.scan.mu.Lock()
	s.scan.status.ObjectsTotal = total
	s.scan.mu.Unlock()
	var errs []error
	setFailed := func(st *set, err error) {
		errs = append(errs, err)
		s.passFailure(err)
		// Its drives may have missed anything; other sets' rebuilds
		// may still end with this pass (finishPass).
		s.scan.mu.Lock()
		s.noteShort(st, nil, err)
		s.scan.mu.Unlock()
	}
	// Uploads before objects: data moves from an upload into an object
	// only by a completion, so an upload completed during the pass either
	// had its parts healed here first or became an object before the
	// object step began. The other way round, a drive being rebuilt got
	// the record of an object completed behind the object step, none of
	// its shards, and no upload left to heal them from.
	for _, st := range s.sets {
		if err := s.scanUploads(ctx, st, pc); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			setFailed(st, err)
		}
	}
	for _, st := range s.sets {
		if err := s.scanObjects(ctx, st, pc); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			setFailed(st, err)
		}
	}
	for _, st := range s.sets {
		n, err := s.removeSetOrphans(ctx, st, s.cfg.OrphanGrace)
		s.countOrphans(n)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Reported, but not the pass's failure: garbage a drive
			// cannot drop (read-only, say) takes nothing from what the
			// drives hold, and failing every pass on it kept every
			// rebuild from ending.
			s.passFailure(err)
		}
		before := s.cfg.Now().Add(-s.cfg.OrphanGrace)
		for _, d := range st.drives() {
			if n, err := d.CleanStaging(ctx, before); err == nil {
				s.countOrphans(n)
			}
		}
	}
	s.scan.mu.Lock()
	s.scan.walked = true
	s.scan.mu.Unlock()
	st := s.HealStatus()
	s.log.Info("storage: heal pass finished", "pass", st.Pass, "objects", st.ObjectsScanned, "healed", st.ObjectsHealed,
		"degraded", st.ObjectsDegraded, "failed", st.ObjectsFailed, "bytes", st.BytesScanned, "orphans", st.OrphansRemoved, "took", time.Since(start))
	return errors.Join(errs...)
}

func (s *Store) passFailure(err error) {
	s.scan.mu.Lock()
	s.scan.status.LastError = err.Error()
	s.scan.mu.Unlock()
}

func (s *Store) countOrphans(n int) {
	if n > 0 {
		s.scan.mu.Lock()
		s.scan.status.OrphansRemoved += int64(n)
		s.scan.mu.Unlock()
	}
}

// scanBatch is how many keys one iterator reads before it is closed: a
// throttled pass takes hours, and an iterator held that long would pin
// the drives' old metadata files.
const scanBatch = 256

// eachKey calls fn for every distinct key in [lower, upper) on the set's
// drives, in order, reading them in batches with fresh iterators. It
// fails when fewer than a read quorum of drives can be read.
func (s *Store) eachKey(ctx context.Context, st *set, lower, upper []byte, fn func(key []byte) error) error {
	start := lower
	for {
		var keys [][]byte
		m := newMergeIter(ctx, st.drives(), start, upper)
		if err := quorumError(ErrReadQuorum, m.errs, s.readQuorum()); err != nil {
			m.close()
			return fmt.Errorf("storage: scan set %d: %w", st.index, err)
		}
		for ok := m.seek(nil); ok && len(keys) < scanBatch; ok = m.next() {
			keys = append(keys, bytes.Clone(m.key))
		}
		err := quorumError(ErrReadQuorum, m.errs, s.readQuorum())
		m.close()
		if err != nil {
			return fmt.Errorf("storage: scan set %d: %w", st.index, err)
		}
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(k); err != nil {
				return err
			}
		}
		if len(keys) < scanBatch {
			return nil
		}
		start = append(keys[len(keys)-1], 0)
	}
}

// countObjects counts the object keys of every set, for the ETA.
func (s *Store) countObjects(ctx context.Context) int64 {
	var n int64
	for _, st := range s.sets {
		s.eachKey(ctx, st, []byte{prefixObject}, []byte{prefixObject + 1}, func([]byte) error {
			n++
			return nil
		})
	}
	return n
}

// splitObjectKey parses O<bucket>\0<key>.
func splitObjectKey(k []byte) (bucket, key string, ok bool) {
	if len(k) < 2 || k[0] != prefixObject {
		return "", "", false
	}
	i := bytes.IndexByte(k[1:], 0)
	if i < 0 {
		return "", "", false
	}
	return string(k[1 : 1+i]), string(k[2+i:]), true
}

// scanObjects heals every object of a set.
func (s *Store) scanObjects(ctx context.Context, st *set, pc *ratePacer) error {
	return s.eachKey(ctx, st, []byte{prefixObject}, []byte{prefixObject + 1}, func(k []byte) error {
		bucket, key, ok := splitObjectKey(k)
		if !ok {
			return nil
		}
		if err := pc.objects.wait(ctx, 1); err != nil {
			return err
		}
		res, err := s.healObject(ctx, st, bucket, key, true, pc)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.scan.mu.Lock()
		defer s.scan.mu.Unlock()
		s.noteShort(st, res.short, err)
		ss := &s.scan.status
		ss.ObjectsScanned++
		ss.BytesScanned += res.BytesChecked
		s.scan.totals.ObjectsScanned++
		s.scan.totals.BytesScanned += res.BytesChecked
		switch {
		case err != nil:
			ss.ObjectsFailed++
			s.scan.totals.ObjectsFailed++
			ss.LastError = err.Error()
			s.logHealFailure(bucket, key, err)
		case res.Healed():
			ss.ObjectsHealed++
			s.scan.totals.ObjectsHealed++
			// Debug: a rebuild heals every object of a set, and one line
			// each would bury the lines an operator needs (and name every
			// key); the pass's progress and end say how many.
			s.log.Debug("storage: healed", "bucket", bucket, "key", key, "records", res.RecordsHealed,
				"rolled_back", res.RolledBack, "shards", res.ShardsHealed, "degraded", res.Degraded)
		}
		if res.Degraded && err == nil {
			ss.ObjectsDegraded++
		}
		return nil
	})
}

// noteShort records, for the running pass, the drives of st a heal left
// without something they should hold: those at the positions in short,
// and every drive of the set when the heal failed (err). A failure counts
// against every drive even when it says the data is beyond repair: the
// heal judges shards whole, so "beyond repair" may hide blocks another
// drive could still give, and a rebuild ended too early lets an empty
// folder be formatted that should not be (data loss); one too late only
// waits for a later pass. Called with s.scan.mu held.
func (s *Store) noteShort(st *set, short map[int]bool, err error) {
	all := err != nil
	if !all && len(short) == 0 {
		return
	}
	if s.scan.short == nil {
		s.scan.short = map[string]bool{}
	}
	for p, d := range st.drives() {
		if all || short[p] {
			s.scan.short[d.Info().Path] = true
		}
	}
}

// ratePacer bounds a pass in objects and bytes per second.
type ratePacer struct {
	objects, byteRate *rate
}

func (p *ratePacer) bytes(ctx context.Context, n int64) error {
	return p.byteRate.wait(ctx, float64(n))
}

// rate spaces work out to a steady rate. It does not save up: after a
// stall (a slow heal) it resumes at the rate instead of bursting.
type rate struct {
	perSecond float64 // <= 0: unbounded
	start     time.Time
	done      float64
}

func newRate(perSecond float64) *rate {
	return &rate{perSecond: perSecond, start: time.Now()}
}

func (r *rate) wait(ctx context.Context, n float64) error {
	if r.perSecond <= 0 {
		return ctx.Err()
	}
	now := time.Now()
	due := r.start.Add(time.Duration(r.done / r.perSecond * float64(time.Second)))
	if now.Sub(due) > time.Second {
		r.start, r.done = now, 0
		due = now
	}
	r.done += n
	if d := due.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return ctx.Err()
}
