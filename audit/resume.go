package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// outage is a stop of the log, from the failed write until a durable gap
// record reports it.
type outage struct {
	err     error     // what Err returns
	since   time.Time // when the write failed
	cause   string    // the error, for the gap record
	refused uint64    // appends refused while stopped
	// Set when the log resumes: records appended before the stop that
	// never reached the disk, and the gap record chained to report it.
	unwritten uint64
	gapSeq    uint64
	// carried is the previous outage, when the log stopped again before
	// that outage's gap record was known to be on disk.
	carried *outage
	// foreign, once set, says how the files differ from what this
	// process wrote: the log stays stopped until a restart (stayStopped).
	// evidence names the anchor kept to show it, once written.
	foreign, evidence string
}

// era is a span of appends between two resumes. A resume reuses the
// sequence numbers of the records it lost, so Sync knows a caller's
// record by its era and sequence number.
type era struct {
	// kept is set by the resume that ends the era (Log.era then moves
	// on): its records up to kept are on disk, the rest were lost.
	// Under Log.mu.
	kept uint64
}

// link is a record's place in the chain as this process appended it.
type link struct {
	seq  uint64
	hash [32]byte
}

// stopLocked stops the log after a failed write (l.mu held): Append
// refuses records until resume succeeds. An outage whose gap record was
// still pending is carried into the new one, so that its counts are not
// lost with the record.
func (l *Log) stopLocked(err error) {
	l.err = fmt.Errorf("%w: %v", ErrWrite, err)
	o := &outage{err: l.err, since: l.nextTimeLocked(), cause: l.describe(err)}
	// Time never goes backwards across a stop: the gap record, and every
	// record after it, is no older than since, even if the clock steps
	// back while the log is stopped.
	l.last = o.since
	if l.out != nil && l.out.gapSeq > 0 {
		// The first write after a resume failed, the gap record's or
		// one just after it: most likely the same stop, logged already
		// (resume tells them apart by what reached the disk).
		o.carried = l.out
		l.opts.Logger.Debug("audit: writing the log failed again while resuming", "err", o.cause)
	} else {
		l.opts.Logger.Error("audit: writing the log failed; it takes no records until a write succeeds again "+
			"(requests are still served, unaudited, and counted in a gap record)", "err", o.cause)
	}
	l.out = o
}

// resume tries once to restart a stopped log. It finds the head on
// disk the way Open does after a crash (a line the failed write cut
// short is kept as evidence, and appending continues in a new file
// chained to the last complete record), checks that this process wrote
// that head (see foreignLocked), makes it durable, and chains a gap
// record to it as the first pending record. On success the log takes
// records again; the flusher writes the gap record next, and a failure
// there stops the log again with this outage carried. Called by the
// flusher only.
func (l *Log) resume() error {
	l.mu.Lock()
	problem := l.out.foreign
	l.mu.Unlock()
	if problem != "" {
		return l.stayStopped(problem, false)
	}
	l.file.Close() // it may fail again: the write error is already known
	h, err := l.readHead("the write that stopped the log was cut short")
	if err != nil {
		return err
	}
	l.mu.Lock()
	if problem = l.foreignLocked(h); problem != "" {
		l.err = fmt.Errorf("%w: the log on disk does not match what this process wrote: %s", ErrWrite, problem)
		l.out.err, l.out.foreign = l.err, problem
	}
	l.mu.Unlock()
	if problem != "" {
		return l.stayStopped(problem, true)
	}
	if err := l.openHead(h); err != nil {
		return err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.unreportedLocked(h.seq)
	l.seq, l.hash, l.durSeq, l.durHash = h.seq, h.hash, h.seq, h.hash
	l.unsynced = l.unsynced[:0]
	l.era.kept, l.era = h.seq, &era{}
	l.curName, l.curSize = h.name, h.size
	l.err = nil
	t := l.nextTimeLocked()
	if t.Before(o.since) { // never, as stopLocked set l.last: ParseGap refuses such a record
		t = o.since
	}
	g := Gap{Since: o.since, Until: t, Unwritten: o.unwritten, Refused: o.refused, Unrecorded: o.unwritten + o.refused, Cause: o.cause}
	e := gapEntry(g)
	e.sanitize()
	o.gapSeq = l.appendLocked(e, t).Seq
	l.out = o
	return nil
}

// unreportedLocked is the stop that a gap record chained to record hseq,
// the head on disk, must report (l.mu held): l.out, merged with the
// outage it carries unless that one's gap record is on disk, and
// counting as unwritten every record appended after hseq but that gap
// record.
func (l *Log) unreportedLocked(hseq uint64) *outage {
	o := *l.out
	appended := l.seq
	if c := o.carried; c != nil && hseq < c.gapSeq {
		// Its gap record never reached the disk: report both stops in
		// one record, from the first.
		appended--
		o = outage{err: c.err, since: c.since, cause: c.cause, refused: c.refused + o.refused, unwritten: c.unwritten}
	}
	o.unwritten += appended - hseq
	o.carried = nil
	return &o
}

// foreignLocked says how the head found on disk differs from what this
// process wrote, "" if it does not (l.mu held). The head must be a
// record this process appended, no older than the last it synced, with
// the hash it had when appended; as each record holds its predecessor's
// hash, that covers every record before it. Anything else means someone
// rewrote, cut or extended the files under the running log. Chaining the
// gap record to such a head and anchoring it, as a resume does, would
// replace the only authenticated evidence with an anchor of the forgery;
// Open, at the next start, compares the files with the anchor this
// process leaves, as it does after any tampering.
func (l *Log) foreignLocked(h head) string {
	switch {
	case h.seq < l.durSeq:
		return fmt.Sprintf("the log on disk ends at record %d, but this process synced records up to %d: records were removed", h.seq, l.durSeq)
	case h.seq > l.seq:
		return fmt.Sprintf("the log on disk ends at record %d, but this process appended records up to %d only: records were added", h.seq, l.seq)
	}
	want := l.durHash
	if h.seq > l.durSeq {
		want = l.unsynced[h.seq-l.durSeq-1].hash
	}
	if h.hash != want {
		return fmt.Sprintf("record %d on disk is not the one this process wrote: the log was rewritten", h.seq)
	}
	return ""
}

// stayStopped keeps a log whose files do not match what this process
// wrote stopped until a restart: Err stays set, so the server reports
// itself unready, and nothing is anchored beyond the head this process
// synced. found is true when resume has just found the mismatch. With
// Options.AnchorKeys it also keeps evidence (writeEvidence) that Verify
// reports; the disk that made the write fail may still be full, so each
// later attempt retries until the evidence is on disk. It returns the
// error the attempt to resume failed with.
func (l *Log) stayStopped(problem string, found bool) error {
	stopped := fmt.Errorf("audit: the log on disk does not match what this process wrote: %s", problem)
	l.mu.Lock()
	missing := l.out.evidence == "" && l.opts.AnchorKeys != nil
	l.mu.Unlock()
	var kept string // written now
	var err error
	if missing {
		if kept, err = l.writeEvidence(); err == nil {
			l.mu.Lock()
			l.out.evidence = kept
			l.mu.Unlock()
		}
	}
	switch {
	case found:
		attrs := []any{"problem", problem, "kept", kept}
		if err != nil {
			attrs = append(attrs, "keep_err", l.describe(err))
		}
		l.opts.Logger.Error("audit: THE LOG ON DISK DOES NOT MATCH WHAT THIS PROCESS WROTE; it takes no records until a restart, "+
			"which checks it against its anchor: run `objstore admin audit verify`", attrs...)
	case kept != "":
		l.opts.Logger.Error("audit: kept the anchor of the head this process wrote, as evidence that the log on disk does not match it",
			"problem", problem, "kept", kept)
	}
	return stopped
}

// writeEvidence anchors the durable head this process wrote, under its
// data key, in a file of its own named like the mismatching anchors
// Open keeps, which Verify reports until an operator removes them. The
// anchor file alone would not do: it does not show records added after
// the head, and the next start would anchor the files as they are. It
// returns the file's name.
func (l *Log) writeEvidence() (string, error) {
	seq, hash := l.Head()
	l.anchorMu.Lock()
	if l.anchorClosed {
		l.anchorMu.Unlock()
		return "", ErrClosed
	}
	sa := l.signAnchorLocked(seq, hash)
	l.anchorMu.Unlock()
	name := anchorMismatchPrefix + strconv.FormatInt(sa.Time.UnixNano(), 10)
	path := filepath.Join(l.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("audit: keep evidence: %w", err)
	}
	err = writeSynced(l.wrap(f), encodeAnchor(sa))
	if err == nil {
		err = l.syncDir()
	}
	if err != nil {
		os.Remove(path) // a later attempt writes it whole
		return "", fmt.Errorf("audit: keep evidence %s: %w", name, err)
	}
	return name, nil
}

// resumedLocked ends the outage once its gap record is durable (l.mu
// held, after a successful write), and has the head anchored now: the
// gap record is the evidence of the loss.
func (l *Log) resumedLocked() {
	if l.out == nil || l.out.gapSeq == 0 || l.durSeq < l.out.gapSeq {
		return
	}
	o := l.out
	l.out = nil
	l.opts.Logger.Warn("audit: the log resumed; a gap record reports the events it did not record",
		"gap_seq", o.gapSeq, "since", o.since, "unrecorded", o.unwritten+o.refused, "cause", o.cause)
	select {
	case l.anchorKick <- struct{}{}:
	default:
	}
}

// closeStopped logs, at Close, a stop that no gap record reports: the
// log line is then the only account of it. It reads the head on disk,
// as a resume would, to count what is lost and to leave out a carried
// stop whose gap record is in the file after all (written, then its
// fsync failed): the next start reports that one.
func (l *Log) closeStopped(err error) {
	h, herr := l.readHead("") // a torn line was reported already
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := "audit: closing a stopped log; no gap record reports the events it did not record"
	if herr == nil && l.out.foreign == "" && l.foreignLocked(h) == "" {
		o := l.unreportedLocked(h.seq)
		attrs := []any{"since", o.since, "cause", o.cause, "refused", o.refused, "unwritten", o.unwritten}
		if c := l.out.carried; c != nil && h.seq >= c.gapSeq {
			attrs = append(attrs, "earlier_stop_gap_record", c.gapSeq)
		}
		l.opts.Logger.Error(msg, append(attrs, "err", l.describe(err))...)
		return
	}
	// The head on disk is unknown, or not this process's: count from
	// the first stop that no gap record is known to report; the records
	// appended after the last sync may or may not be on disk.
	o := l.out
	since, cause, refused, unwritten := o.since, o.cause, o.refused, uint64(0)
	if c := o.carried; c != nil {
		since, cause, refused, unwritten = c.since, c.cause, refused+c.refused, c.unwritten
	}
	l.opts.Logger.Error(msg, "since", since, "cause", cause, "refused", refused, "unwritten", unwritten,
		"appended_after_last_sync", l.seq-l.durSeq, "err", l.describe(err))
}

// describe renders a write error for a gap record and the logs: the
// operation, file name and system error, without the log's directory.
func (l *Log) describe(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + " " + filepath.Base(pe.Path) + ": " + pe.Err.Error()
	}
	return strings.ReplaceAll(err.Error(), l.dir+string(filepath.Separator), "")
}
