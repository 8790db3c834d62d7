package audit

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// IssueKind classifies what Verify found.
type IssueKind string

// Issue kinds. All but IssueTruncatedTail and IssueGap mean the log was
// changed by something other than its writer.
const (
	// IssueModified: a record's bytes differ from what the next record's
	// prev hash commits to (located at the changed record).
	IssueModified IssueKind = "modified"
	// IssueMissing: a gap in the sequence: records deleted (a gap that
	// starts a file: a whole file deleted).
	IssueMissing IssueKind = "missing"
	// IssueReordered: a record appears after records that follow it.
	IssueReordered IssueKind = "reordered"
	// IssueDuplicate: a sequence number appears twice: a record inserted
	// (the forged one is reported as modified) or copied.
	IssueDuplicate IssueKind = "duplicate"
	// IssueMalformed: a line that is not a record in canonical form.
	IssueMalformed IssueKind = "malformed"
	// IssueFileName: a file's name does not match its first record.
	IssueFileName IssueKind = "file-name"
	// IssueMissingStart: the log does not start at record 1 with a zero
	// prev hash: its beginning was deleted.
	IssueMissingStart IssueKind = "missing-start"
	// IssueAnchor: a record does not match, or is missing for, an anchor
	// (a head recorded elsewhere, e.g. in the KMS).
	IssueAnchor IssueKind = "anchor"
	// IssueTruncatedTail: a file ends with a partial line: a write cut
	// short by a crash or power loss. Not tampering: the writer continued
	// in a new file chained to the last complete record.
	IssueTruncatedTail IssueKind = "truncated-tail"
	// IssueGap: a gap record: the writer was stopped by a failed write
	// (a full disk) and resumed; the record, chained like any other,
	// says when and how many events went unrecorded (Report.Gaps). Not
	// tampering, but records are missing from the account.
	IssueGap IssueKind = "gap"
)

// Issue is one finding, located by file, line (1-based) and sequence
// number.
type Issue struct {
	Kind IssueKind
	File string
	Line int
	// Seq is the record concerned; SeqEnd closes a range (IssueMissing).
	// 0 when unknown (a malformed line).
	Seq, SeqEnd uint64
	Detail      string
}

// String returns "file:line: seq N: kind: detail".
func (i Issue) String() string {
	s := i.File + ":" + strconv.Itoa(i.Line) + ": "
	switch {
	case i.SeqEnd > i.Seq:
		s += fmt.Sprintf("seq %d-%d: ", i.Seq, i.SeqEnd)
	case i.Seq > 0:
		s += fmt.Sprintf("seq %d: ", i.Seq)
	}
	return s + string(i.Kind) + ": " + i.Detail
}

// Anchor is a (sequence number, hash) pair recorded outside the log, from
// Log.Head. An anchor detects what the chain alone cannot: the chain
// rewritten from some record on, or its newest records removed.
type Anchor struct {
	Seq  uint64
	Hash [32]byte
}

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Anchors are heads recorded elsewhere; each must be in the log.
	// An anchor of record 0 (an empty log) asks nothing.
	Anchors []Anchor
	// AnchorKeys authenticates the anchor files in the directory
	// (AnchorFile, and the mismatching ones Open kept) and checks them
	// like Anchors. With it, a log that has records but no anchor file,
	// an anchor that does not authenticate and every kept mismatching
	// anchor are issues.
	AnchorKeys KeySource
	// MaxIssues caps the issues reported (default 1000); the rest are
	// counted in Report.Dropped.
	MaxIssues int
}

// Report is Verify's result.
type Report struct {
	Files   int    // log files read
	Records uint64 // well-formed records read
	// First and Last are the first and last sequence numbers of the
	// chain as read, Head the hash of record Last: compare them with an
	// anchor kept elsewhere.
	First, Last uint64
	Head        [32]byte
	Issues      []Issue
	Dropped     int      // issues beyond MaxIssues
	Ignored     []string // entries in the directory that are not log or anchor files
	// Anchor is the authenticated AnchorFile, when AnchorKeys was given
	// and it authenticates.
	Anchor *SignedAnchor
	// Gaps are the gap records found, in chain order (each also an
	// IssueGap), and Unrecorded the events they report as not recorded.
	Gaps       []Gap
	Unrecorded uint64
}

// OK reports whether the chain is intact: nothing but crash-truncated
// tails and gap records (stops the writer itself recorded) was found.
// Check Gaps for events the log did not record.
func (r *Report) OK() bool {
	return r.Dropped == 0 && !slices.ContainsFunc(r.Issues, func(i Issue) bool {
		return i.Kind != IssueTruncatedTail && i.Kind != IssueGap
	})
}

// HeadHex returns Head in hex.
func (r *Report) HeadHex() string { return hex.EncodeToString(r.Head[:]) }

// Verify reads the whole log in dir, in chain order, and reports every
// edit, deletion, insertion, reordering or truncation it can detect, and
// where. It streams: memory does not grow with the log. An error is
// returned only when the log cannot be read; what is wrong with the log
// itself is in the Report. It may run while a Log appends (the newest
// line may then show as a truncated tail).
func Verify(ctx context.Context, dir string, opts VerifyOptions) (*Report, error) {
	if opts.MaxIssues <= 0 {
		opts.MaxIssues = 1000
	}
	files, others, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	v := &verifier{rep: &Report{Files: len(files), Ignored: others}, max: opts.MaxIssues,
		anchors: map[uint64][32]byte{}, fileIndex: map[string]int{}}
	for _, a := range opts.Anchors {
		if a.Seq > 0 {
			v.anchors[a.Seq] = a.Hash
		}
	}
	noAnchor := false
	if opts.AnchorKeys != nil {
		var err error
		if noAnchor, err = v.loadAnchors(ctx, dir, opts.AnchorKeys); err != nil {
			return nil, err
		}
	}
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		v.fileIndex[f.name] = i
		if err := v.readFile(ctx, dir, f); err != nil {
			return nil, err
		}
	}
	if noAnchor && v.rep.Records > 0 {
		v.issue(Issue{Kind: IssueAnchor, File: AnchorFile, Detail: "the log has records but no anchor file: the anchor was deleted " +
			"(or the log was never anchored: run the server once to anchor it)"})
	}
	v.finish()
	return v.rep, nil
}

// loadAnchors authenticates the anchor files in dir and adds them to the
// anchors checked; missing reports that AnchorFile does not exist.
func (v *verifier) loadAnchors(ctx context.Context, dir string, keys KeySource) (missing bool, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("audit: verify: %w", err)
	}
	missing = true
	for _, e := range entries {
		name := e.Name()
		kept := strings.HasPrefix(name, anchorMismatchPrefix)
		if name != AnchorFile && !kept {
			continue
		}
		if name == AnchorFile {
			missing = false
		}
		sa, err := readAnchor(ctx, keys, filepath.Join(dir, name))
		if err != nil {
			if !errors.Is(err, ErrAnchor) {
				return false, err
			}
			v.issue(Issue{Kind: IssueAnchor, File: name, Detail: err.Error()})
			continue
		}
		if kept {
			v.issue(Issue{Kind: IssueAnchor, File: name, Seq: sa.Seq, Detail: fmt.Sprintf(
				"an anchor of record %d (written %s) that did not match the log on disk when the server started or resumed it; kept as evidence: "+
					"remove it once investigated", sa.Seq, sa.Time.Format(time.RFC3339))})
		} else {
			v.rep.Anchor = &sa
		}
		if sa.Seq > 0 {
			if h, dup := v.anchors[sa.Seq]; dup && h != sa.Hash {
				v.issue(Issue{Kind: IssueAnchor, File: name, Seq: sa.Seq, Detail: "two anchors of the same record disagree"})
			}
			v.anchors[sa.Seq] = sa.Hash
		}
	}
	return missing, nil
}

type location struct {
	file string
	line int
	seq  uint64
}

func (l location) String() string { return l.file + ":" + strconv.Itoa(l.line) }

// gap is a range of missing sequence numbers, kept until the end so that
// records found later out of order can be taken out of it.
type gap struct {
	first, last uint64
	at          location // the record after the gap
}

type verifier struct {
	rep       *Report
	max       int
	fileIndex map[string]int

	started   bool
	expect    uint64   // next sequence number
	prevHash  [32]byte // hash of the last accepted record
	prev      location // the last accepted record
	malformed uint64   // malformed lines since the last accepted record
	gaps      []gap
	anchors   map[uint64][32]byte
	anchored  map[uint64]bool
}

func (v *verifier) issue(i Issue) {
	if len(v.rep.Issues) >= v.max {
		v.rep.Dropped++
		return
	}
	v.rep.Issues = append(v.rep.Issues, i)
}

func (v *verifier) readFile(ctx context.Context, dir string, f logFile) error {
	fh, err := os.Open(filePath(dir, f))
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, MaxLineSize+1)
	first := true
	for line := 1; ; line++ {
		if line%4096 == 0 && ctx.Err() != nil {
			return fmt.Errorf("audit: verify: %w", ctx.Err())
		}
		b, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			n := len(b)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				n += len(b)
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("audit: verify %s: %w", f.name, err)
			}
			v.issue(Issue{Kind: IssueMalformed, File: f.name, Line: line, Detail: fmt.Sprintf("line of %d bytes, longer than any record", n)})
			v.malformed++
			first = false
			if err != nil {
				return nil
			}
			continue
		case errors.Is(err, io.EOF):
			if len(b) > 0 {
				v.issue(Issue{Kind: IssueTruncatedTail, File: f.name, Line: line,
					Detail: fmt.Sprintf("%d bytes without a newline at the end of the file: a write cut short by a crash or a full disk", len(b))})
			}
			return nil
		case err != nil:
			return fmt.Errorf("audit: verify %s: %w", f.name, err)
		}
		v.record(f, line, b[:len(b)-1], first)
		first = false
	}
}

// record checks one complete line against the chain.
func (v *verifier) record(f logFile, line int, b []byte, first bool) {
	here := location{file: f.name, line: line}
	r, err := parseLine(b, true)
	if err != nil {
		detail := "not a record in canonical form"
		if !errors.Is(err, errNotCanonical) {
			detail = "not a record: " + err.Error()
		}
		v.issue(Issue{Kind: IssueMalformed, File: f.name, Line: line, Seq: r.Seq, Detail: detail})
		v.malformed++
		return
	}
	here.seq = r.Seq
	v.rep.Records++
	if first && r.Seq != f.seq {
		v.issue(Issue{Kind: IssueFileName, File: f.name, Line: line, Seq: r.Seq,
			Detail: fmt.Sprintf("file is named for record %d but starts with record %d", f.seq, r.Seq)})
	}
	if want, ok := v.anchors[r.Seq]; ok {
		if v.anchored == nil {
			v.anchored = map[uint64]bool{}
		}
		v.anchored[r.Seq] = true
		if want != r.Hash {
			v.issue(Issue{Kind: IssueAnchor, File: f.name, Line: line, Seq: r.Seq,
				Detail: "record does not match its anchored hash " + hex.EncodeToString(want[:])})
		}
	}
	switch {
	case !v.started:
		v.started = true
		v.rep.First = r.Seq
		if (r.Seq != 1 || r.Prev != [32]byte{}) && v.malformed == 0 {
			v.issue(Issue{Kind: IssueMissingStart, File: f.name, Line: line, Seq: r.Seq,
				Detail: fmt.Sprintf("the log starts at record %d with prev %s: the records before it were deleted", r.Seq, shortHash(r.Prev))})
		}
	case r.Seq == v.expect:
		if v.malformed == 0 && r.Prev != v.prevHash {
			v.issue(Issue{Kind: IssueModified, File: v.prev.file, Line: v.prev.line, Seq: v.prev.seq,
				Detail: fmt.Sprintf("record %d does not hash to the prev stored in record %d (%s): one of them was changed",
					v.prev.seq, r.Seq, here)})
		}
	case r.Seq > v.expect:
		if r.Seq-v.expect > v.malformed {
			v.gaps = append(v.gaps, gap{first: v.expect, last: r.Seq - 1, at: here})
		}
	default: // r.Seq < v.expect: seen before, or taken out of a gap
		if v.fillGap(r.Seq) {
			v.issue(Issue{Kind: IssueReordered, File: f.name, Line: line, Seq: r.Seq,
				Detail: fmt.Sprintf("record %d appears after record %d (%s)", r.Seq, v.prev.seq, v.prev)})
		} else {
			v.issue(Issue{Kind: IssueDuplicate, File: f.name, Line: line, Seq: r.Seq,
				Detail: fmt.Sprintf("record %d appears a second time (after record %d at %s): a record was inserted or copied", r.Seq, v.prev.seq, v.prev)})
		}
		return // the chain continues from the previous record
	}
	v.expect, v.prevHash, v.prev, v.malformed = r.Seq+1, r.Hash, here, 0
	v.rep.Last, v.rep.Head = r.Seq, r.Hash
	if IsGap(r) {
		g, err := ParseGap(r)
		if err != nil {
			// The writer never writes one: someone wrote it in its name.
			v.issue(Issue{Kind: IssueMalformed, File: f.name, Line: line, Seq: r.Seq, Detail: "a gap record that does not parse: " + err.Error()})
			return
		}
		v.rep.Gaps = append(v.rep.Gaps, g)
		v.rep.Unrecorded += g.Unrecorded
		v.issue(Issue{Kind: IssueGap, File: f.name, Line: line, Seq: r.Seq, Detail: g.String()})
	}
}

// fillGap removes seq from the gap holding it; false if none does.
func (v *verifier) fillGap(seq uint64) bool {
	for i := len(v.gaps) - 1; i >= 0; i-- {
		g := v.gaps[i]
		if seq < g.first || seq > g.last {
			continue
		}
		switch {
		case g.first == g.last:
			v.gaps = slices.Delete(v.gaps, i, i+1)
		case seq == g.first:
			v.gaps[i].first++
		case seq == g.last:
			v.gaps[i].last--
		default:
			v.gaps[i].last = seq - 1
			v.gaps = slices.Insert(v.gaps, i+1, gap{first: seq + 1, last: g.last, at: g.at})
		}
		return true
	}
	return false
}

// finish reports the gaps that remain and the anchors never met, and
// orders the issues by position.
func (v *verifier) finish() {
	for _, g := range v.gaps {
		detail := fmt.Sprintf("records %d to %d are missing before this record", g.first, g.last)
		if g.first == g.last {
			detail = fmt.Sprintf("record %d is missing before this record", g.first)
		}
		if g.at.line == 1 {
			detail += " (at the start of a file: a whole file may have been deleted)"
		}
		v.issue(Issue{Kind: IssueMissing, File: g.at.file, Line: g.at.line, Seq: g.first, SeqEnd: g.last, Detail: detail})
	}
	for seq := range v.anchors {
		if v.anchored[seq] {
			continue
		}
		detail := fmt.Sprintf("anchored record %d is not in the log", seq)
		if seq > v.rep.Last {
			detail = fmt.Sprintf("the log ends at record %d, before anchored record %d: its newest records were removed", v.rep.Last, seq)
		}
		v.issue(Issue{Kind: IssueAnchor, File: v.prev.file, Line: v.prev.line, Seq: seq, Detail: detail})
	}
	slices.SortStableFunc(v.rep.Issues, func(a, b Issue) int {
		if fa, fb := v.fileIndex[a.File], v.fileIndex[b.File]; fa != fb {
			return fa - fb
		}
		return a.Line - b.Line
	})
}

func shortHash(h [32]byte) string {
	if h == [32]byte{} {
		return "zero"
	}
	return hex.EncodeToString(h[:4]) + "…"
}
