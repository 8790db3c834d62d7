package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
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
}

// stopLocked stops the log after a failed write (l.mu held): Append
// refuses records until resume succeeds. An outage whose gap record was
// still pending is carried into the new one, so that its counts are not
// lost with the record.
func (l *Log) stopLocked(err error) {
	l.err = fmt.Errorf("%w: %v", ErrWrite, err)
	o := &outage{err: l.err, since: l.nextTimeLocked(), cause: l.describe(err)}
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
// chained to the last complete record), makes that head durable, and
// chains a gap record to it as the first pending record. On success the
// log takes records again; the flusher writes the gap record next, and
// a failure there stops the log again with this outage carried. Called
// by the flusher only.
func (l *Log) resume() error {
	l.file.Close() // it may fail again: the write error is already known
	h, err := l.readHead("the write that stopped the log was cut short")
	if err != nil {
		return err
	}
	if err := l.openHead(h); err != nil {
		return err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.out
	// Every record appended after the head on disk is lost, except a
	// carried outage's own gap record.
	appended := l.seq
	if c := o.carried; c != nil && h.seq < c.gapSeq {
		// Its gap record never reached the disk: report both stops in
		// one record, from the first.
		appended--
		o = &outage{err: c.err, since: c.since, cause: c.cause, refused: c.refused + o.refused, unwritten: c.unwritten}
	}
	if appended >= h.seq {
		o.unwritten += appended - h.seq
	} else {
		l.opts.Logger.Error("audit: the log on disk ends after the last record appended", "disk_head", h.seq, "appended", l.seq)
	}
	if h.seq < l.durSeq {
		l.opts.Logger.Error("audit: the log on disk ends before its last synced record: records were removed",
			"disk_head", h.seq, "synced", l.durSeq)
	}
	o.carried = nil
	l.seq, l.hash, l.durSeq, l.durHash = h.seq, h.hash, h.seq, h.hash
	l.curName, l.curSize = h.name, h.size
	l.err = nil
	t := l.nextTimeLocked()
	g := Gap{Since: o.since, Until: t, Unwritten: o.unwritten, Refused: o.refused, Unrecorded: o.unwritten + o.refused, Cause: o.cause}
	e := gapEntry(g)
	e.sanitize()
	o.gapSeq = l.appendLocked(e, t).Seq
	l.out = o
	return nil
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
// log line is then the only account of it.
func (l *Log) closeStopped(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.out
	since, cause, refused, unwritten := o.since, o.cause, o.refused, uint64(0)
	if c := o.carried; c != nil {
		since, cause, refused, unwritten = c.since, c.cause, refused+c.refused, c.unwritten
	}
	// Records appended after the last sync may or may not be on disk.
	l.opts.Logger.Error("audit: closing a stopped log; no gap record reports the events it did not record",
		"since", since, "cause", cause, "refused", refused, "unwritten", unwritten,
		"appended_after_last_sync", l.seq-l.durSeq, "err", err)
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
