package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/objstore/objstore/erasure"
	"github.com/objstore/objstore/storage/drive"
)

// HealResult reports what a heal of one object found and repaired.
type HealResult struct {
	// Versions is how many versions are visible after the heal; 0 when
	// the object does not exist (any more).
	Versions int
	// RecordsHealed counts drives whose record of the object was
	// rewritten: missing, stale, unreadable, or holding a write that
	// never finished.
	RecordsHealed int
	// RolledBack counts versions of unfinished writes that were removed.
	RolledBack int
	// ShardsChecked and ShardsHealed count shard streams verified and
	// rebuilt (data and parity, files and inline).
	ShardsChecked, ShardsHealed int
	// BytesChecked is how many bytes of shard streams were read.
	BytesChecked int64
	// Degraded reports that full redundancy could not be restored now: a
	// drive was offline or refused a write. A later heal retries.
	Degraded bool
	// short holds the positions (in the set) of the drives left without
	// a record or shard they should hold: the heal pass does not end the
	// rebuild of such a drive, while drives healed in full may end
	// theirs though others stay short.
	short map[int]bool
}

// leftShort records that the drive at position p was left without what it
// should hold.
func (r *HealResult) leftShort(p int) {
	r.Degraded = true
	if r.short == nil {
		r.short = map[int]bool{}
	}
	r.short[p] = true
}

// leftShortOn records as left short every position whose error in errs
// is not nil.
func (r *HealResult) leftShortOn(errs []error) {
	for p, err := range errs {
		if err != nil {
			r.leftShort(p)
		}
	}
}

// Healed reports whether the heal changed anything.
func (r HealResult) Healed() bool {
	return r.RecordsHealed > 0 || r.RolledBack > 0 || r.ShardsHealed > 0
}

// HealObject checks one object on every drive of its set and repairs what
// it can: drives' records are made to agree with what a read quorum holds
// (unfinished writes are rolled back, or finished where a quorum has
// them), and every shard of every part of every version, parity
// included, is verified and rebuilt from the others where missing or
// corrupt. It returns ErrDataCorrupt (with what it repaired elsewhere)
// when a part has fewer than k good shards on drives that answer.
func (s *Store) HealObject(ctx context.Context, bucket, key string) (HealResult, error) {
	if err := checkKey(key); err != nil {
		return HealResult{}, err
	}
	if bucket == "" {
		return HealResult{}, fmt.Errorf("%w: empty bucket name", ErrInvalidArgument)
	}
	return s.healObject(ctx, s.setFor(bucket, key), bucket, key, true, nil)
}

// pacer bounds background work; nil means unbounded.
type pacer interface {
	// bytes waits until n more bytes of shard reads are allowed.
	bytes(ctx context.Context, n int64) error
}

// healObject heals the records of bucket/key and, when deep or when a
// record changed, the shards of its versions.
func (s *Store) healObject(ctx context.Context, st *set, bucket, key string, deep bool, pc pacer) (HealResult, error) {
	var res HealResult
	unlock, err := s.healLock(ctx, bucket, key)
	if err != nil {
		return res, err
	}
	defer unlock()
	rec, holds, changed, err := s.healRecords(ctx, st, bucket, key, &res)
	res.Versions = len(rec.Versions)
	if err != nil {
		res.Degraded = true
		return res, err
	}
	if !deep && !changed {
		return res, nil
	}
	var errs []error
	for _, v := range rec.Versions {
		for _, part := range v.Parts {
			ss := s.versionShards(st, bucket, key, v, part)
			if holds != nil {
				ss.expected = make([]bool, len(holds))
				for p := range holds {
					ss.expected[p] = holds[p][[2]string{v.VersionID, v.DataID}]
				}
			}
			if err := s.healShards(ctx, st, ss, &res, pc); err != nil {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				errs = append(errs, fmt.Errorf("version %s part %d: %w", v.VersionID, part.Number, err))
			}
		}
	}
	if len(errs) > 0 {
		res.Degraded = true
		return res, fmt.Errorf("storage: heal %s/%s: %w", bucket, key, errors.Join(errs...))
	}
	return res, nil
}

// recordPlan is what healRecords decided about the drives' copies of one
// object record.
type recordPlan struct {
	recordView
	want   [][]byte // per drive: the record it should hold (nil: none)
	fix    []bool   // per drive: it must be rewritten to want
	drop   [][]versionRecord
	held   [][][2]string // per drive: ids of the versions it held
	wanted [][][2]string // per drive: ids of the versions in want
}

// planRecords decides, from each drive's copy of a record, which versions
// exist (classify) and what every drive should hold: the visible
// versions, plus the ambiguous ones it holds already. Superseded and
// rolled back versions go.
func (s *Store) planRecords(raw [][]byte, errs []error) (recordPlan, error) {
	n := len(raw)
	q := s.readQuorum()
	recs, unknown := decodeRecords(raw, errs)
	if n-unknown < q {
		return recordPlan{}, fmt.Errorf("%w: %d of %d drives answered with a readable record, need %d: %w",
			ErrReadQuorum, n-unknown, n, q, errors.Join(readErrorsOnly(errs)...))
	}
	plan := recordPlan{recordView: classify(recs, unknown, q, s.writeQuorum()),
		want: make([][]byte, n), fix: make([]bool, n), drop: make([][]versionRecord, n),
		held: make([][][2]string, n), wanted: make([][][2]string, n)}
	visible := map[[2]string]bool{}
	for _, v := range plan.visible {
		visible[[2]string{v.VersionID, v.DataID}] = true
	}
	for p := range raw {
		if r := recs[p]; r != nil {
			for _, v := range r.Versions {
				plan.held[p] = append(plan.held[p], [2]string{v.VersionID, v.DataID})
			}
		}
		if errs[p] != nil && !errors.Is(errs[p], drive.ErrNotFound) {
			continue // cannot be written now
		}
		desired := append([]versionRecord(nil), plan.visible...)
		if r := recs[p]; r != nil {
			for _, v := range r.Versions {
				id := [2]string{v.VersionID, v.DataID}
				switch {
				case plan.ambiguous[id]:
					desired = append(desired, v)
				case !visible[id]:
					plan.drop[p] = append(plan.drop[p], v)
				}
			}
		}
		sortVersions(desired)
		for _, v := range desired {
			plan.wanted[p] = append(plan.wanted[p], [2]string{v.VersionID, v.DataID})
		}
		if len(desired) > 0 {
			r := objectRecord{Versions: desired}
			plan.want[p] = r.encode()
		}
		plan.fix[p] = (raw[p] == nil) != (plan.want[p] == nil) || !bytes.Equal(raw[p], plan.want[p])
	}
	return plan, nil
}

// decodeRecords decodes the drives' copies of a record: nil for a drive
// that did not answer or holds an unreadable record (counted in
// unknown), an empty record for one that has none.
func decodeRecords(raw [][]byte, errs []error) (recs []*objectRecord, unknown int) {
	recs = make([]*objectRecord, len(raw))
	for p := range raw {
		switch {
		case errs[p] == nil:
			r, err := decodeObject(raw[p], true)
			if err != nil {
				unknown++ // it may have held anything
				continue
			}
			recs[p] = &r
		case errors.Is(errs[p], drive.ErrNotFound):
			recs[p] = &objectRecord{}
		default:
			unknown++
		}
	}
	return recs, unknown
}

// healRecords makes the drives' records of bucket/key agree, under the
// object's lock, and returns the visible versions and, per drive, the
// versions its record holds now (nil: every drive holds them all).
// changed reports that some drive's record was rewritten.
func (s *Store) healRecords(ctx context.Context, st *set, bucket, key string, res *HealResult) (objectRecord, []map[[2]string]bool, bool, error) {
	unlock := s.lock(bucket, key)
	defer unlock()
	okey := objectKey(bucket, key)
	raw, errs := st.readAll(ctx, okey)
	if allAgree(raw, errs) {
		if raw[0] == nil {
			return objectRecord{}, nil, false, nil
		}
		rec, err := decodeObject(raw[0], true)
		if err != nil {
			return objectRecord{}, nil, false, fmt.Errorf("storage: heal %s/%s: %w", bucket, key, err)
		}
		return rec, nil, false, nil
	}
	for p, e := range errs {
		if e != nil && !errors.Is(e, drive.ErrNotFound) {
			res.leftShort(p) // a drive that does not answer cannot be healed now
		}
	}
	plan, err := s.planRecords(raw, errs)
	if err != nil {
		return objectRecord{}, nil, false, fmt.Errorf("storage: heal %s/%s: %w", bucket, key, err)
	}
	if len(plan.ambiguous) > 0 {
		// Versions silent drives may hold are left where they are and
		// given to no other drive: none of them is whole yet.
		for p := range raw {
			res.leftShort(p)
		}
	}
	ds := st.drives()
	werrs := st.each(ctx, func(p int, d Drive) error {
		if !plan.fix[p] {
			return nil
		}
		var ops []drive.Op
		if plan.want[p] == nil {
			ops = append(ops, drive.Op{Key: okey, Delete: true})
		} else {
			ops = append(ops, drive.Op{Key: okey, Value: plan.want[p]})
		}
		for _, v := range plan.drop[p] {
			if v.Inline {
				ops = append(ops, drive.Op{Key: inlineKey(v.DataID), Delete: true})
			}
		}
		return d.Apply(ctx, ops)
	})
	changed := false
	holds := make([]map[[2]string]bool, len(raw))
	for p, e := range werrs {
		holds[p] = map[[2]string]bool{}
		ids := plan.held[p]
		switch {
		case errs[p] != nil && !errors.Is(errs[p], drive.ErrNotFound):
			ids = nil // did not answer
		case !plan.fix[p]:
		case e != nil:
			res.leftShort(p)
			s.log.Warn("storage: heal record", "bucket", bucket, "key", key, "drive", ds[p].Info().Path, "err", e)
		default:
			changed = true
			res.RecordsHealed++
			ids = plan.wanted[p]
		}
		for _, id := range ids {
			holds[p][id] = true
		}
	}
	for _, v := range plan.rolledBack {
		res.RolledBack++
		s.log.Info("storage: rolled back an unfinished write", "bucket", bucket, "key", key, "version", v.VersionID, "data", v.DataID)
		if v.Inline {
			continue
		}
		if isMultipart(v) {
			// A completion that did not reach its quorum: give the
			// upload back its records, so the client can complete again.
			s.restoreUpload(ctx, st, bucket, key, v.DataID, res)
			continue
		}
		if !stillHeld(plan.held, werrs, v) {
			s.removeData(ctx, st, v.DataID)
		}
	}
	for _, v := range plan.superseded {
		// Replaced by a newer visible version of its version id (k == m
		// layouts, where both can hold a read quorum): its data go, as
		// the overwrite's own commit would have removed them.
		if !v.Inline && !stillHeld(plan.held, werrs, v) {
			for _, id := range v.dataIDs() {
				s.removeData(ctx, st, id)
			}
		}
	}
	for _, v := range plan.visible {
		if isMultipart(v) {
			// Completed on a quorum: drop what is left of its upload on
			// the drives the completion did not reach.
			s.dropUploadLeftovers(ctx, st, bucket, key, v.DataID, res)
		}
	}
	return objectRecord{Versions: plan.visible}, holds, changed, nil
}

// stillHeld reports whether a drive that held v could not be rewritten,
// so its record still names v's data.
func stillHeld(held [][][2]string, werrs []error, v versionRecord) bool {
	for p, ids := range held {
		for _, id := range ids {
			if id == [2]string{v.VersionID, v.DataID} && werrs[p] != nil {
				return true
			}
		}
	}
	return false
}

// allAgree reports whether every drive answered with the same record (or
// with none).
func allAgree(raw [][]byte, errs []error) bool {
	for p := range raw {
		if errs[p] != nil && !errors.Is(errs[p], drive.ErrNotFound) {
			return false
		}
		if (raw[p] == nil) != (raw[0] == nil) || !bytes.Equal(raw[p], raw[0]) {
			return false
		}
	}
	return true
}

// isMultipart reports whether v was made by CompleteMultipartUpload: its
// parts live in directories of their own and its data id is the upload's.
func isMultipart(v versionRecord) bool {
	for _, p := range v.Parts {
		if p.DataID != "" {
			return true
		}
	}
	return false
}

// uploadRecords reads, from every drive, the upload record of uploadID and
// its part records: per drive, nil when the drive did not answer.
func (s *Store) uploadRecords(ctx context.Context, st *set, bucket, key, uploadID string) (ups [][]byte, parts []map[int][]byte, errs []error) {
	n := len(st.drives())
	ups = make([][]byte, n)
	parts = make([]map[int][]byte, n)
	ukey := uploadKey(bucket, key, uploadID)
	lower := partKey(uploadID, 0)[:len(uploadID)+2]
	errs = st.each(ctx, func(p int, d Drive) error {
		v, err := d.Get(ctx, ukey)
		if err != nil && !errors.Is(err, drive.ErrNotFound) {
			return err
		}
		ups[p] = v
		it, err := d.NewIter(ctx, lower, prefixEnd(lower))
		if err != nil {
			return err
		}
		m := map[int][]byte{}
		for ok := it.First(); ok; ok = it.Next() {
			k := it.Key()
			if len(k) != len(lower)+4 {
				continue
			}
			num := int(uint32(k[len(lower)])<<24 | uint32(k[len(lower)+1])<<16 | uint32(k[len(lower)+2])<<8 | uint32(k[len(lower)+3]))
			m[num] = bytes.Clone(it.Value())
		}
		if err := errors.Join(it.Err(), it.Close()); err != nil {
			return err
		}
		parts[p] = m
		return nil
	})
	return ups, parts, errs
}

// restoreUpload writes an upload's records, taken from the drives that
// still hold them, to the drives that lost them to a completion that
// was rolled back.
func (s *Store) restoreUpload(ctx context.Context, st *set, bucket, key, uploadID string, res *HealResult) {
	ups, parts, errs := s.uploadRecords(ctx, st, bucket, key, uploadID)
	res.leftShortOn(errs) // not read, so not restored
	up := mostCommon(ups, errs)
	if up == nil {
		return // no drive has it: the part data become orphans
	}
	all := map[int][]byte{}
	byNum := map[int][][]byte{}
	for p := range parts {
		for num, v := range parts[p] {
			byNum[num] = append(byNum[num], v)
		}
	}
	for num, vs := range byNum {
		all[num] = mostCommon(vs, make([]error, len(vs)))
	}
	ukey := uploadKey(bucket, key, uploadID)
	gave := make([]bool, len(ups)) // by drive, from each drive's goroutine
	werrs := st.each(ctx, func(p int, d Drive) error {
		if errs[p] != nil {
			return nil
		}
		var ops []drive.Op
		if !bytes.Equal(ups[p], up) {
			ops = append(ops, drive.Op{Key: ukey, Value: up})
		}
		for num, v := range all {
			if !bytes.Equal(parts[p][num], v) {
				ops = append(ops, drive.Op{Key: partKey(uploadID, num), Value: v})
				gave[p] = true
			}
		}
		return d.Apply(ctx, ops)
	})
	res.leftShortOn(werrs)
	for p := range gave {
		if gave[p] {
			// A part record given without a check of its shards: the
			// next pass's upload step heals them.
			res.leftShort(p)
		}
	}
	s.log.Info("storage: restored the upload of a rolled back completion", "bucket", bucket, "key", key, "upload", uploadID)
}

// dropUploadLeftovers deletes the records of a completed upload from
// drives the completion's batch did not reach.
func (s *Store) dropUploadLeftovers(ctx context.Context, st *set, bucket, key, uploadID string, res *HealResult) {
	ups, parts, errs := s.uploadRecords(ctx, st, bucket, key, uploadID)
	res.leftShortOn(errs) // not read, so not cleaned
	ukey := uploadKey(bucket, key, uploadID)
	touched := make([]bool, len(ups))
	werrs := st.each(ctx, func(p int, d Drive) error {
		if errs[p] != nil || (ups[p] == nil && len(parts[p]) == 0) {
			return nil
		}
		touched[p] = true
		ops := []drive.Op{{Key: ukey, Delete: true}}
		for num := range parts[p] {
			ops = append(ops, drive.Op{Key: partKey(uploadID, num), Delete: true})
		}
		return d.Apply(ctx, ops)
	})
	for p, e := range werrs {
		if touched[p] && e == nil {
			res.RecordsHealed++
		}
	}
	res.leftShortOn(werrs)
}

// mostCommon returns the value most drives hold (ties: the smallest), or
// nil when none holds one.
func mostCommon(vals [][]byte, errs []error) []byte {
	var best []byte
	bestCount := 0
	for i, v := range vals {
		if v == nil || errs[i] != nil {
			continue
		}
		c := 0
		for j, o := range vals {
			if errs[j] == nil && o != nil && bytes.Equal(v, o) {
				c++
			}
		}
		if c > bestCount || (c == bestCount && bytes.Compare(v, best) < 0) {
			best, bestCount = v, c
		}
	}
	return best
}

// shardSet names the k+m shard streams of one erasure-coded part: a part
// of a version or an uploaded part of a multipart upload.
type shardSet struct {
	bucket, key string // whose lock guards it
	k, m, block int
	rotation    int
	inline      bool
	dataID      string
	file        string
	size        int64
	// single: the data directory holds this file only, so a bad file is
	// replaced by replacing its directory (directories are immutable).
	single bool
	// expected says which drive positions' metadata name the stream
	// (nil: all); the others are neither read nor repaired.
	expected []bool
	// holders reports, called under the object's lock, which drive
	// positions still name this stream in their metadata; all false once
	// the version or part is gone.
	holders func(ctx context.Context) ([]bool, []error)
}

// versionShards describes one part of a version.
func (s *Store) versionShards(st *set, bucket, key string, v versionRecord, part partEntry) shardSet {
	dataID := v.partDataID(&part)
	single := true
	for _, o := range v.Parts {
		if o.Number != part.Number && v.partDataID(&o) == dataID {
			single = false
		}
	}
	return shardSet{
		bucket: bucket, key: key,
		k: v.DataShards, m: v.ParityShards, block: v.BlockSize,
		rotation: v.Rotation, inline: v.Inline,
		dataID: dataID, file: part.File, size: part.Size, single: single,
		holders: func(ctx context.Context) ([]bool, []error) {
			raw, errs := st.readAll(ctx, objectKey(bucket, key))
			out := make([]bool, len(raw))
			for p, b := range raw {
				if b == nil {
					continue
				}
				rec, err := decodeObject(b, false)
				if err != nil {
					continue
				}
				for _, o := range rec.Versions {
					if o.VersionID == v.VersionID && o.DataID == v.DataID {
						out[p] = true
					}
				}
			}
			return out, errs
		},
	}
}

// openShard opens one drive's shard stream.
func openShard(ctx context.Context, d Drive, ss *shardSet) (io.ReaderAt, func(), error) {
	if ss.inline {
		b, err := d.Get(ctx, inlineKey(ss.dataID))
		if err != nil {
			return nil, func() {}, err
		}
		return bytes.NewReader(b), func() {}, nil
	}
	f, err := d.OpenData(ctx, ss.dataID, ss.file)
	if err != nil {
		return nil, func() {}, err
	}
	return f, func() { f.Close() }, nil
}

// healShards verifies every drive's shard stream of ss and rebuilds the
// missing and corrupt ones from the good ones.
func (s *Store) healShards(ctx context.Context, st *set, ss shardSet, res *HealResult, pc pacer) error {
	codec, err := s.codec(ss.k, ss.m, ss.block)
	if err != nil {
		return err
	}
	ds := st.drives()
	n := len(ds)
	if n != ss.k+ss.m {
		return fmt.Errorf("storage: heal: layout %d+%d does not fit a set of %d drives", ss.k, ss.m, n)
	}
	streamSize := codec.ShardSize(ss.size)
	readers := make([]io.ReaderAt, n) // by shard index
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	var bad []int // drive positions
	good, skipped := 0, 0
	for p, d := range ds {
		shard := shardOf(p, ss.rotation, n)
		if ss.expected != nil && !ss.expected[p] {
			skipped++ // its record is missing or stale: repaired first
			res.leftShort(p)
			continue
		}
		if pc != nil {
			if err := pc.bytes(ctx, streamSize); err != nil {
				return err
			}
		}
		r, closer, err := openShard(ctx, d, &ss)
		closers = append(closers, closer)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, drive.ErrNotFound) {
				bad = append(bad, p)
			} else {
				skipped++
				res.leftShort(p)
			}
			continue
		}
		res.ShardsChecked++
		res.BytesChecked += streamSize
		if err := codec.Verify(ctx, r, shard, ss.size); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Warn("storage: shard failed verification", "bucket", ss.bucket, "key", ss.key, "drive", d.Info().Path, "data", ss.dataID, "err", err)
			bad = append(bad, p)
			continue
		}
		readers[shard] = r
		good++
	}
	if len(bad) == 0 {
		return nil
	}
	if good < ss.k {
		if good+skipped >= ss.k {
			return fmt.Errorf("%w: %d good shards of %d, %d on drives that did not answer", ErrReadQuorum, good, n, skipped)
		}
		return fmt.Errorf("%w: %d good shards of %d, need %d", ErrDataCorrupt, good, n, ss.k)
	}
	ws := make([]io.Writer, n) // by shard index
	bufs := make([]*bytes.Buffer, n)
	stage := make([]drive.StagingFile, n)
	abort := func() {
		for _, f := range stage {
			if f != nil {
				f.Abort()
			}
		}
	}
	targets := 0
	for _, p := range bad {
		shard := shardOf(p, ss.rotation, n)
		if ss.inline {
			bufs[p] = bytes.NewBuffer(make([]byte, 0, streamSize))
			ws[shard] = bufs[p]
			targets++
			continue
		}
		f, err := ds[p].CreateStaging(ctx)
		if err != nil {
			res.leftShort(p)
			s.log.Warn("storage: heal: cannot stage a shard", "drive", ds[p].Info().Path, "err", err)
			continue
		}
		stage[p] = f
		ws[shard] = f
		targets++
	}
	if targets == 0 {
		return nil
	}
	if err := codec.Reconstruct(ctx, readers, ws, ss.size); err != nil {
		abort()
		var be *erasure.BlockError
		if errors.As(err, &be) && !errors.Is(err, erasure.ErrReadQuorum) {
			return fmt.Errorf("storage: heal: write shard %d: %w", be.Shard, err)
		}
		return fmt.Errorf("storage: heal: reconstruct: %w", err)
	}
	if s.healHook != nil {
		s.healHook("shards-rebuilt")
	}
	unlock := s.lock(ss.bucket, ss.key)
	defer unlock()
	holds, herrs := ss.holders(ctx)
	for _, p := range bad {
		if ws[shardOf(p, ss.rotation, n)] == nil {
			continue
		}
		if herrs[p] != nil && !errors.Is(herrs[p], drive.ErrNotFound) {
			res.leftShort(p) // its record unread: its shard waits
		}
		if !holds[p] {
			if stage[p] != nil {
				stage[p].Abort()
			}
			continue
		}
		var err error
		if ss.inline {
			err = ds[p].Apply(ctx, []drive.Op{{Key: inlineKey(ss.dataID), Value: bufs[p].Bytes()}})
		} else {
			if ss.single {
				err = ds[p].RemoveData(ctx, ss.dataID)
				s.crash.at("heal-swap")
				if s.healHook != nil {
					s.healHook("shard-removed")
				}
			}
			if err == nil {
				err = stage[p].Commit(ctx, ss.dataID, ss.file)
			}
			stage[p].Abort()
		}
		if err != nil {
			res.leftShort(p)
			s.log.Warn("storage: heal: cannot write a rebuilt shard", "bucket", ss.bucket, "key", ss.key, "drive", ds[p].Info().Path, "err", err)
			continue
		}
		res.ShardsHealed++
	}
	return nil
}
