package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// System is the identity of records the log writes itself (gap records).
// Append refuses it: no caller can write a record in the log's name.
const System = "system"

// GapAction is the action of a gap record: the log was stopped by a
// failed write and resumed; the record says when, why, and how many
// events it did not record.
const GapAction = "audit:Gap"

// gapError is the error code of a gap record.
const gapError = "AuditLogStopped"

// Gap is what a gap record reports: the log was stopped from Since to
// Until (when it resumed and wrote the record), and Unrecorded events
// are in no record: Unwritten were appended before the stop was known
// and never reached the disk, Refused were refused while it was stopped.
// Cause is the error that stopped it (file names only, no directory).
type Gap struct {
	Seq                uint64 // the gap record's sequence number
	Since, Until       time.Time
	Unrecorded         uint64
	Unwritten, Refused uint64
	Cause              string
}

// String describes the gap for people.
func (g Gap) String() string {
	return fmt.Sprintf("the audit log was stopped from %s to %s: %d events were not recorded (%d appended but never written, %d refused); cause: %s",
		g.Since.Format(time.RFC3339Nano), g.Until.Format(time.RFC3339Nano), g.Unrecorded, g.Unwritten, g.Refused, g.Cause)
}

// gapEntry encodes a gap in a record's fields, so that the record format
// stays version 1 and every reader, old ones included, verifies it as an
// ordinary chained record:
//
//	identity "system", action "audit:Gap", status 0, error "AuditLogStopped",
//	reason "since=<RFC 3339> until=<RFC 3339> unrecorded=N unwritten=N refused=N cause=<text>"
func gapEntry(g Gap) Entry {
	return Entry{Identity: System, Action: GapAction, Error: gapError, Reason: "since=" + g.Since.UTC().Format(time.RFC3339Nano) +
		" until=" + g.Until.UTC().Format(time.RFC3339Nano) +
		" unrecorded=" + strconv.FormatUint(g.Unrecorded, 10) +
		" unwritten=" + strconv.FormatUint(g.Unwritten, 10) +
		" refused=" + strconv.FormatUint(g.Refused, 10) +
		" cause=" + g.Cause}
}

// IsGap reports whether r is a gap record (written by the log itself).
func IsGap(r Record) bool { return r.Identity == System && r.Action == GapAction }

// ParseGap reads the gap a gap record reports; it fails for other
// records and for a gap record whose reason is not in gapEntry's form.
func ParseGap(r Record) (Gap, error) {
	if !IsGap(r) {
		return Gap{}, fmt.Errorf("audit: record %d is not a gap record", r.Seq)
	}
	g := Gap{Seq: r.Seq}
	rest := r.Reason
	for _, f := range []struct {
		name string
		set  func(string) error
	}{
		{"since", func(v string) (err error) { g.Since, err = time.Parse(time.RFC3339Nano, v); return err }},
		{"until", func(v string) (err error) { g.Until, err = time.Parse(time.RFC3339Nano, v); return err }},
		{"unrecorded", func(v string) (err error) { g.Unrecorded, err = strconv.ParseUint(v, 10, 64); return err }},
		{"unwritten", func(v string) (err error) { g.Unwritten, err = strconv.ParseUint(v, 10, 64); return err }},
		{"refused", func(v string) (err error) { g.Refused, err = strconv.ParseUint(v, 10, 64); return err }},
	} {
		v, after, ok := strings.Cut(rest, " ")
		v, found := strings.CutPrefix(v, f.name+"=")
		if !ok || !found {
			return Gap{}, fmt.Errorf("audit: gap record %d: no %s", r.Seq, f.name)
		}
		if err := f.set(v); err != nil {
			return Gap{}, fmt.Errorf("audit: gap record %d: %s: %w", r.Seq, f.name, err)
		}
		rest = after
	}
	cause, ok := strings.CutPrefix(rest, "cause=")
	if !ok {
		return Gap{}, fmt.Errorf("audit: gap record %d: no cause", r.Seq)
	}
	g.Cause = cause
	if g.Unrecorded != g.Unwritten+g.Refused || g.Until.Before(g.Since) {
		return Gap{}, fmt.Errorf("audit: gap record %d: its counts or times do not add up", r.Seq)
	}
	return g, nil
}
