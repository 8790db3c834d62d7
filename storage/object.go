package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// PutObject stores body as the new current version of bucket/key. The
// body is read once: hashed by the caller's reader, erasure-coded and
// written to the set's drives in one pass. Nothing is visible until the
// version's metadata committed on a write quorum of drives; on failure
// every trace is removed again.
func (s *Store) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts PutOptions) (ObjectInfo, error) {
	defer s.load.begin()()
	if err := s.checkBucket(bucket); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	if opts.Size > MaxObjectSize {
		return ObjectInfo{}, ErrEntityTooLarge
	}
	st := s.setFor(bucket, key)
	n := len(st.drives())
	dataID := newID()
	rot := rotation(dataID, n)
	inline := opts.Size >= 0 && opts.Size <= int64(s.cfg.InlineLimit)
	fin := &finisher{fn: opts.Finish}
	w, err := s.writeData(ctx, st, dataID, partFile(1), newSizedReader(body, opts.Size, MaxObjectSize), opts.Size, inline, rot, fin.finish)
	if err != nil {
		return ObjectInfo{}, err
	}
	s.crash.at("after-data")
	md := make(map[string]string, len(opts.Metadata)+len(fin.extra))
	maps.Copy(md, opts.Metadata)
	maps.Copy(md, fin.extra)
	v := versionRecord{
		VersionID:    NullVersionID,
		DataID:       dataID,
		ModTime:      s.cfg.Now().UnixNano(),
		Size:         w.size,
		ETag:         fin.etag,
		Metadata:     md,
		DataShards:   s.cfg.DataShards,
		ParityShards: s.cfg.ParityShards,
		BlockSize:    s.cfg.BlockSize,
		Rotation:     rot,
		Inline:       inline,
		Parts:        []partEntry{{Number: 1, Size: w.size, ETag: fin.etag, File: partFile(1)}},
	}
	if err := s.commitVersion(ctx, st, bucket, key, v, w, nil, opts.Precondition); err != nil {
		if !inline {
			s.removeData(context.WithoutCancel(ctx), st, dataID)
		}
		return ObjectInfo{}, err
	}
	return v.info(bucket, key), nil
}

// partFile names the data file of part n inside a version's directory.
func partFile(n int) string { return fmt.Sprintf("part.%d", n) }

// commitVersion makes v the current version of bucket/key: under the
// bucket's shared lock and the key's lock it checks the precondition
// against what a read quorum holds and that the bucket exists, then
// rewrites each drive's record (replacing the null version while
// versioning is off) together with its inline shard and extraOps, all in
// one synced batch per drive. Drives whose shard did not become durable
// get no record: for them the version does not exist. Below the write
// quorum it restores what each drive held and fails.
func (s *Store) commitVersion(ctx context.Context, st *set, bucket, key string, v versionRecord, w written, extraOps []drive.Op, precondition func(*ObjectInfo) error) error {
	// The bucket's lock, shared until the quorum: a DeleteBucket waits
	// for the commit and then lists the object it made, or the commit
	// finds the bucket gone.
	unshare := s.shareBucket(bucket)
	unlock := s.lock(bucket, key)
	defer func() {
		if unlock != nil {
			unlock()
		}
		if unshare != nil {
			unshare()
		}
	}()
	okey := objectKey(bucket, key)
	raw, readErrs := st.readAll(ctx, okey)
	cur, err := s.resolve(raw, readErrs)
	if errors.Is(err, ErrReadQuorum) {
		// Fewer drives answer than a read needs, so fewer than a write
		// needs: report it as the write's failure.
		return fmt.Errorf("%w: %w", ErrWriteQuorum, err)
	}
	if err != nil && !errors.Is(err, ErrObjectNotFound) {
		return err
	}
	if precondition != nil {
		var info *ObjectInfo
		if latest, ok := cur.latest(); ok {
			i := latest.info(bucket, key)
			info = &i
		}
		if err := precondition(info); err != nil {
			return err
		}
	}
	if err := s.checkBucket(bucket); err != nil {
		return err
	}
	for _, old := range cur.Versions {
		if old.VersionID == v.VersionID {
			v.Replaces = old.DataID // vouched for by drives this commit reaches, should it stop half-way
			break
		}
	}
	var replaced []versionRecord
	cc := s.crash.counter("meta-commits")
	// The drives past the quorum finish in the background, holding the
	// key's lock, so the next change of this key sees their records.
	commitCtx := context.WithoutCancel(ctx)
	// Each drive's new record is its old one with v in front; drives
	// holding the same old record (the healthy case: all of them) share
	// one decode and one encode.
	recOps := make([][]drive.Op, len(raw))
	recErrs := make([]error, len(raw))
	for p := range raw {
		if readErrs[p] != nil && !errors.Is(readErrs[p], drive.ErrNotFound) {
			recErrs[p] = readErrs[p]
			continue
		}
		if q := sameRecordAs(raw, readErrs, p); q >= 0 {
			recOps[p], recErrs[p] = recOps[q], recErrs[q]
			continue
		}
		recOps[p], recErrs[p] = newRecordOps(raw[p], okey, v)
	}
	round := st.eachUntilQuorum(s.writeQuorum(), func(p int, d Drive) error {
		ctx := commitCtx
		if !w.ok[p] {
			return errors.New("shard not written")
		}
		if recErrs[p] != nil {
			return recErrs[p]
		}
		ops := make([]drive.Op, 0, len(extraOps)+len(recOps[p])+1)
		ops = append(append(ops, extraOps...), recOps[p]...)
		if v.Inline {
			ops = append(ops, drive.Op{Key: inlineKey(v.DataID), Value: w.inline[p]})
		}
		if err := d.Apply(ctx, ops); err != nil {
			return err
		}
		cc.step()
		return nil
	})
	if err := quorumError(ErrWriteQuorum, round.errs, s.writeQuorum()); err != nil {
		// Below the quorum the round waited for every drive.
		s.restore(context.WithoutCancel(ctx), st, okey, raw, round.errs, v)
		return err
	}
	unshare()
	unshare = nil
	keyUnlock := unlock
	unlock = nil
	s.afterRound(round, func(final []error) {
		if countNil(final) < len(final) {
			s.queueHeal(bucket, key, false) // a drive missed the record
			s.missedWrite(st, w, final)
		}
		keyUnlock()
	})
	for _, old := range cur.Versions {
		if old.VersionID == v.VersionID && old.DataID != v.DataID {
			replaced = append(replaced, old)
		}
	}
	s.crash.at("before-drop")
	s.dropData(context.WithoutCancel(ctx), st, bucket, key, replaced)
	return nil
}

// sameRecordAs returns an earlier drive position whose read gave the
// same record as position p (both absent counts), or -1.
func sameRecordAs(raw [][]byte, errs []error, p int) int {
	for q := range p {
		if (errs[q] == nil) == (errs[p] == nil) && (errs[q] == nil || errors.Is(errs[q], drive.ErrNotFound)) &&
			(raw[q] == nil) == (raw[p] == nil) && bytes.Equal(raw[q], raw[p]) {
			return q
		}
	}
	return -1
}

// newRecordOps returns the ops that turn a drive's record raw (nil: none)
// into one with v as the version of its version id: the record, and the
// deletion of a stale inline shard of the version it drops. The shard
// of the version being replaced stays until the commit reached its
// quorum (dropData): should the commit stop half-way, that version must
// stay readable. A stale one only this drive held can go now.
func newRecordOps(raw, okey []byte, v versionRecord) ([]drive.Op, error) {
	rec, err := decodeOrEmpty(raw)
	if err != nil {
		return nil, err
	}
	var ops []drive.Op
	kept := rec.Versions[:0:0]
	for _, old := range rec.Versions {
		if old.VersionID == v.VersionID {
			if old.Inline && old.DataID != v.Replaces {
				ops = append(ops, drive.Op{Key: inlineKey(old.DataID), Delete: true})
			}
			continue
		}
		kept = append(kept, old)
	}
	rec.Versions = append([]versionRecord{v}, kept...)
	return append(ops, drive.Op{Key: okey, Value: rec.encode()}), nil
}

// restore puts back the records of the drives that committed a write
// that then missed its quorum.
func (s *Store) restore(ctx context.Context, st *set, okey []byte, raw [][]byte, errs []error, v versionRecord) {
	st.each(ctx, func(p int, d Drive) error {
		if errs[p] != nil {
			return nil
		}
		var ops []drive.Op
		if raw[p] == nil {
			ops = append(ops, drive.Op{Key: okey, Delete: true})
		} else {
			ops = append(ops, drive.Op{Key: okey, Value: raw[p]})
		}
		if v.Inline {
			ops = append(ops, drive.Op{Key: inlineKey(v.DataID), Delete: true})
		}
		if err := d.Apply(ctx, ops); err != nil {
			s.log.Warn("storage: roll back failed write", "drive", d.Info().Path, "err", err)
		}
		return nil
	})
}

// dropData removes the data of versions of bucket/key no record refers
// to any more: their directories, or for inline versions their shards in
// the drives' metadata; once no read of the key that may have begun
// before is in flight (readPins). A drive that misses it keeps an orphan:
// a directory for the scanner, an inline shard for the next start-up
// scan.
func (s *Store) dropData(ctx context.Context, st *set, bucket, key string, vs []versionRecord) {
	for _, v := range vs {
		ids := v.dataIDs()
		s.pins.removeAfterReads(bucket, key, ids, func() {
			if !v.Inline {
				for _, id := range ids {
					s.removeData(ctx, st, id)
				}
				return
			}
			// Not synced: lost in a crash, the shard is an orphan the
			// start-up scan removes; a sync here would double the cost
			// of deleting or overwriting a small object.
			ops := []drive.Op{{Key: inlineKey(v.DataID), Delete: true}}
			st.each(ctx, func(_ int, d Drive) error { return d.ApplyLazy(ctx, ops) })
		})
	}
}

func decodeOrEmpty(b []byte) (objectRecord, error) {
	if b == nil {
		return objectRecord{}, nil
	}
	return decodeObject(b, true)
}

// readAll reads key from every drive of the set in parallel.
func (st *set) readAll(ctx context.Context, key []byte) ([][]byte, []error) {
	raw := make([][]byte, len(st.drives()))
	errs := st.each(ctx, func(p int, d Drive) error {
		v, err := d.Get(ctx, key)
		raw[p] = v
		return err
	})
	return raw, errs
}

// resolve turns the drives' copies of one object record into the versions
// a read quorum agrees on. A version counts where a read quorum of drives
// holds it (same version id and data id): a write that reached fewer
// drives (failed, or still committing) stays invisible, and a drive that
// missed a write cannot bring back what the others replaced.
func (s *Store) resolve(raw [][]byte, errs []error) (objectRecord, error) {
	answered := 0
	for p := range raw {
		if errs[p] == nil || errors.Is(errs[p], drive.ErrNotFound) {
			answered++
		}
	}
	q := s.readQuorum()
	if answered < q {
		return objectRecord{}, quorumError(ErrReadQuorum, readErrorsOnly(errs), q)
	}
	// Fast path: a quorum of identical copies, the healthy case.
	for p := range raw {
		if raw[p] == nil {
			continue
		}
		same := 0
		for o := range raw {
			if bytes.Equal(raw[p], raw[o]) {
				same++
			}
		}
		if same >= q && 2*same > len(raw) {
			// (A strict majority too: with k == m two variants of a
			// version, after a half-done UpdateMetadata, can each have
			// k copies; the slow path picks between them the same way
			// the heal does.)
			return decodeObject(raw[p], true)
		}
		break
	}
	recs, unknown := decodeRecords(raw, errs)
	view := classify(recs, unknown, q, s.writeQuorum())
	if view.uncertain {
		return objectRecord{}, fmt.Errorf("%w: a version may exist on the drives that did not answer", ErrReadQuorum)
	}
	if len(view.visible) == 0 {
		return objectRecord{}, ErrObjectNotFound
	}
	return objectRecord{Versions: view.visible}, nil
}

func readErrorsOnly(errs []error) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		if e != nil && !errors.Is(e, drive.ErrNotFound) {
			out[i] = e
		}
	}
	return out
}

// sortVersions orders newest first (insertion sort: lists are short).
func sortVersions(vs []versionRecord) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && vs[j].ModTime > vs[j-1].ModTime; j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}

func (r objectRecord) latest() (versionRecord, bool) {
	if len(r.Versions) == 0 {
		return versionRecord{}, false
	}
	return r.Versions[0], true
}

func (r objectRecord) find(versionID string) (versionRecord, bool) {
	if versionID == "" {
		return r.latest()
	}
	for _, v := range r.Versions {
		if v.VersionID == versionID {
			return v, true
		}
	}
	return versionRecord{}, false
}

func (v *versionRecord) info(bucket, key string) ObjectInfo {
	oi := ObjectInfo{
		Bucket:    bucket,
		Key:       key,
		VersionID: v.VersionID,
		Size:      v.Size,
		ModTime:   time.Unix(0, v.ModTime).UTC(),
		ETag:      v.ETag,
		Metadata:  v.Metadata,
	}
	// A multipart object lists its parts, even a one-part one (its part
	// has a data directory of its own), so GetObject?partNumber=1 reads
	// it as a part; a simple PUT's single part.1 is no part.
	if len(v.Parts) > 1 || (len(v.Parts) == 1 && (v.Parts[0].File != partFile(1) || v.Parts[0].DataID != "")) {
		for _, p := range v.Parts {
			oi.Parts = append(oi.Parts, ObjectPart{Number: p.Number, Size: p.Size, ETag: p.ETag, Metadata: p.Metadata})
		}
	}
	return oi
}

// lookupRereads bounds the reads again of a lookup whose records settle
// on no version while drives hold one (lookup).
const lookupRereads = 3

// anyHeld reports whether some drive answered with a record.
func anyHeld(raw [][]byte, errs []error) bool {
	for p := range raw {
		if errs[p] == nil && raw[p] != nil {
			return true
		}
	}
	return false
}

// lookup reads the version of bucket/key that opts selects.
func (s *Store) lookup(ctx context.Context, bucket, key string, opts GetOptions) (*set, versionRecord, error) {
	if err := s.checkBucket(bucket); err != nil {
		return nil, versionRecord{}, err
	}
	if err := checkKey(key); err != nil {
		return nil, versionRecord{}, err
	}
	st := s.setFor(bucket, key)
	okey := objectKey(bucket, key)
	raw, errs := st.readAll(ctx, okey)
	rec, err := s.resolve(raw, errs)
	// Records that settle on no version while some drive holds one may
	// be a read that spans overwrites: the drives answering late give a
	// version two writes newer than those answering first, and no
	// version has a read quorum although the key existed throughout.
	// Reading again sees the writes done; a key whose records still
	// disagree (a write that did not finish, a drive that missed a
	// delete) is not found after the last read, and healed.
	for try := 0; try < lookupRereads && errors.Is(err, ErrObjectNotFound) && anyHeld(raw, errs); try++ {
		raw, errs = st.readAll(ctx, okey)
		rec, err = s.resolve(raw, errs)
	}
	if recordsDisagree(raw, errs) {
		s.queueHeal(bucket, key, false)
	}
	if err != nil {
		if errors.Is(err, ErrObjectNotFound) {
			return nil, versionRecord{}, fmt.Errorf("%w: %s/%s", ErrObjectNotFound, bucket, key)
		}
		return nil, versionRecord{}, err
	}
	v, ok := rec.find(opts.VersionID)
	if !ok {
		if opts.VersionID != "" {
			return nil, versionRecord{}, fmt.Errorf("%w: %s/%s version %s", ErrVersionNotFound, bucket, key, opts.VersionID)
		}
		return nil, versionRecord{}, fmt.Errorf("%w: %s/%s", ErrObjectNotFound, bucket, key)
	}
	return st, v, nil
}

// ObjectInfo returns the metadata of one version.
func (s *Store) ObjectInfo(ctx context.Context, bucket, key string, opts GetOptions) (ObjectInfo, error) {
	_, v, err := s.lookup(ctx, bucket, key, opts)
	if err != nil {
		return ObjectInfo{}, err
	}
	return v.info(bucket, key), nil
}

// DeleteObject removes a version (the null version while versioning is
// off). ErrObjectNotFound if there is none.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, opts DeleteOptions) error {
	defer s.load.begin()()
	if err := s.checkBucket(bucket); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	st := s.setFor(bucket, key)
	unlock := s.lock(bucket, key)
	defer unlock()
	okey := objectKey(bucket, key)
	raw, readErrs := st.readAll(ctx, okey)
	cur, err := s.resolve(raw, readErrs)
	if err != nil {
		return err
	}
	target, ok := cur.find(opts.VersionID)
	if !ok {
		return fmt.Errorf("%w: %s/%s", ErrObjectNotFound, bucket, key)
	}
	if opts.Precondition != nil {
		info := target.info(bucket, key)
		if err := opts.Precondition(&info); err != nil {
			return err
		}
	}
	// An inline shard goes after the record, once the reads that may
	// have resolved the old record are done (dropData), not with it.
	var inlineGone []versionRecord
	var inlineMu sync.Mutex
	cc := s.crash.counter("delete-commits")
	errs := st.each(ctx, func(p int, d Drive) error {
		if readErrs[p] != nil {
			if errors.Is(readErrs[p], drive.ErrNotFound) {
				return nil // nothing here to delete
			}
			return readErrs[p]
		}
		rec, err := decodeOrEmpty(raw[p])
		if err != nil {
			return err
		}
		var ops []drive.Op
		kept := rec.Versions[:0:0]
		for _, v := range rec.Versions {
			if v.VersionID == target.VersionID {
				if v.Inline {
					inlineMu.Lock()
					inlineGone = append(inlineGone, v)
					inlineMu.Unlock()
				}
				continue
			}
			kept = append(kept, v)
		}
		rec.Versions = kept
		if len(kept) == 0 {
			ops = append(ops, drive.Op{Key: okey, Delete: true})
		} else {
			ops = append(ops, drive.Op{Key: okey, Value: rec.encode()})
		}
		if err := d.Apply(ctx, ops); err != nil {
			return err
		}
		cc.step()
		return nil
	})
	if err := quorumError(ErrWriteQuorum, errs, s.writeQuorum()); err != nil {
		return err
	}
	gone := uniqueData(inlineGone) // every drive's inline variant, should they disagree
	if !target.Inline {
		gone = append(gone, target)
	}
	s.dropData(context.WithoutCancel(ctx), st, bucket, key, gone)
	return nil
}

// uniqueData keeps one version per data id.
func uniqueData(vs []versionRecord) []versionRecord {
	seen := map[string]bool{}
	var out []versionRecord
	for _, v := range vs {
		if !seen[v.DataID] {
			seen[v.DataID] = true
			out = append(out, v)
		}
	}
	return out
}

// UpdateMetadata replaces the metadata of a version without touching its
// data: S3's copy of an object onto itself with REPLACE.
func (s *Store) UpdateMetadata(ctx context.Context, bucket, key, versionID string, md map[string]string, precondition func(*ObjectInfo) error) (ObjectInfo, error) {
	defer s.load.begin()()
	if err := s.checkBucket(bucket); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	st := s.setFor(bucket, key)
	unlock := s.lock(bucket, key)
	defer unlock()
	okey := objectKey(bucket, key)
	raw, readErrs := st.readAll(ctx, okey)
	cur, err := s.resolve(raw, readErrs)
	if err != nil {
		return ObjectInfo{}, err
	}
	target, ok := cur.find(versionID)
	if !ok {
		return ObjectInfo{}, fmt.Errorf("%w: %s/%s", ErrObjectNotFound, bucket, key)
	}
	if precondition != nil {
		info := target.info(bucket, key)
		if err := precondition(&info); err != nil {
			return ObjectInfo{}, err
		}
	}
	now := s.cfg.Now().UnixNano()
	errs := st.each(ctx, func(p int, d Drive) error {
		if readErrs[p] != nil {
			return readErrs[p]
		}
		rec, err := decodeOrEmpty(raw[p])
		if err != nil {
			return err
		}
		found := false
		for i := range rec.Versions {
			if rec.Versions[i].VersionID == target.VersionID && rec.Versions[i].DataID == target.DataID {
				rec.Versions[i].Metadata = md
				rec.Versions[i].ModTime = now
				found = true
			}
		}
		if !found {
			return fmt.Errorf("version missing on this drive")
		}
		return d.Apply(ctx, []drive.Op{{Key: okey, Value: rec.encode()}})
	})
	if err := quorumError(ErrWriteQuorum, errs, s.writeQuorum()); err != nil {
		s.restore(context.WithoutCancel(ctx), st, okey, raw, errs, versionRecord{})
		return ObjectInfo{}, err
	}
	target.Metadata = md
	target.ModTime = now
	return target.info(bucket, key), nil
}
