package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// healBuckets makes every drive hold the bucket records the Store serves
// (a replaced drive gets them back) and removes records of bucket
// creations that can never have succeeded.
func (s *Store) healBuckets(ctx context.Context) error {
	names := map[string]bool{}
	var mu sync.Mutex
	for _, st := range s.sets {
		st.each(ctx, func(_ int, d Drive) error {
			it, err := d.NewIter(ctx, []byte{prefixBucket}, []byte{prefixBucket + 1})
			if err != nil {
				return err
			}
			for ok := it.First(); ok; ok = it.Next() {
				mu.Lock()
				names[string(it.Key()[1:])] = true
				mu.Unlock()
			}
			return errors.Join(it.Err(), it.Close())
		})
	}
	s.bucketMu.RLock()
	for name := range s.buckets {
		names[name] = true
	}
	s.bucketMu.RUnlock()
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	sort.Strings(sorted)
	var errs []error
	for _, name := range sorted {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.healBucket(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// healBucket settles one bucket's records under the bucket's lock.
func (s *Store) healBucket(ctx context.Context, name string) error {
	unlock := s.lockBucketRecord(name)
	defer unlock()
	s.bucketMu.RLock()
	rec, known := s.buckets[name]
	s.bucketMu.RUnlock()
	bkey := bucketKey(name)
	raws := make([][][]byte, len(s.sets))
	errss := make([][]error, len(s.sets))
	rollback := false
	for i, st := range s.sets {
		raws[i], errss[i] = st.readAll(ctx, bkey)
		holders, unknown := 0, 0
		for p := range raws[i] {
			switch {
			case raws[i][p] != nil:
				holders++
			case !errors.Is(errss[i][p], drive.ErrNotFound):
				unknown++
			}
		}
		if holders+unknown < s.writeQuorum() {
			rollback = true
		}
	}
	if !known && !rollback {
		// Held widely but not served: left to the operator, and no
		// drive counts as whole for it meanwhile.
		s.scan.mu.Lock()
		for _, st := range s.sets {
			s.noteShort(st, nil, errors.New("storage: a bucket record held but not served"))
		}
		s.scan.mu.Unlock()
		return nil
	}
	var want []byte
	if known {
		want = rec.encode()
	}
	var errs []error
	for i, st := range s.sets {
		werrs := st.each(ctx, func(p int, d Drive) error {
			if errss[i][p] != nil && !errors.Is(errss[i][p], drive.ErrNotFound) {
				return nil
			}
			switch {
			case known && !bytes.Equal(raws[i][p], want):
				return d.Apply(ctx, []drive.Op{{Key: bkey, Value: want}})
			case !known && raws[i][p] != nil:
				return d.Apply(ctx, []drive.Op{{Key: bkey, Delete: true}})
			}
			return nil
		})
		for p, e := range werrs {
			if e != nil {
				errs = append(errs, fmt.Errorf("set %d drive %d: %w", i, p, e))
			}
		}
		var short HealResult
		short.leftShortOn(werrs)
		for p, e := range errss[i] {
			if e != nil && !errors.Is(e, drive.ErrNotFound) {
				short.leftShort(p) // not read, so not healed
			}
		}
		s.scan.mu.Lock()
		s.noteShort(st, short.short, nil) // a drive without the bucket is not rebuilt
		s.scan.mu.Unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: heal bucket %s: %w", name, err)
	}
	return nil
}

// splitUploadKey parses U<bucket>\0<key>\0<uploadID>.
func splitUploadKey(k []byte) (bucket, key, uploadID string, ok bool) {
	if len(k) < 2 || k[0] != prefixUpload {
		return "", "", "", false
	}
	i := bytes.IndexByte(k[1:], 0)
	j := bytes.LastIndexByte(k, 0)
	if i < 0 || j <= 1+i {
		return "", "", "", false
	}
	bucket, key, uploadID = string(k[1:1+i]), string(k[2+i:j]), string(k[j+1:])
	return bucket, key, uploadID, validID(uploadID)
}

// scanUploads heals the multipart uploads of a set: their records agree on
// every drive and their parts' shards verify; uploads whose creation or
// abort did not finish are settled; part records of uploads that exist
// nowhere any more are removed.
func (s *Store) scanUploads(ctx context.Context, st *set, pc *ratePacer) error {
	err := s.eachKey(ctx, st, []byte{prefixUpload}, []byte{prefixUpload + 1}, func(k []byte) error {
		bucket, key, uploadID, ok := splitUploadKey(k)
		if !ok {
			return nil
		}
		if err := pc.objects.wait(ctx, 1); err != nil {
			return err
		}
		if err := s.healUpload(ctx, st, bucket, key, uploadID, pc); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.scan.mu.Lock()
			s.noteShort(st, nil, err)
			s.scan.mu.Unlock()
			s.passFailure(err)
			s.log.Warn("storage: heal upload", "bucket", bucket, "key", key, "upload", uploadID, "err", err)
		}
		s.scan.mu.Lock()
		s.scan.status.UploadsScanned++
		s.scan.mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	return s.removeOrphanParts(ctx, st)
}

// healUpload settles one upload's records under its object's lock, then
// heals the shards of its parts.
//
// It holds the object's heal lock throughout, as healObject does. Client
// writes need no more than the commit lock: a part's shard is committed
// only to a drive whose part record is still the one healed, checked
// under that lock, and every upload of a part has a data id of its own,
// so a part uploaded again, an abort or a completion leaves the heal
// nothing to write. An object heal can name the same data, though: a
// drive that missed the completion, then got the version from a heal
// that failed to drop the upload's records, names a part's directory
// both ways, and two heals would each rebuild its shard there, the later
// removing the earlier's to commit its own.
func (s *Store) healUpload(ctx context.Context, st *set, bucket, key, uploadID string, pc *ratePacer) error {
	healUnlock, err := s.healLock(ctx, bucket, key)
	if err != nil {
		return err
	}
	defer healUnlock()
	unlock := s.lock(bucket, key)
	ups, parts, errs := s.uploadRecords(ctx, st, bucket, key, uploadID)
	// short collects the drives left without the upload's records or its
	// parts' shards, for the pass (noteShort); a drive not read is one.
	var short HealResult
	short.leftShortOn(errs)
	defer func() {
		s.scan.mu.Lock()
		s.noteShort(st, short.short, nil)
		s.scan.mu.Unlock()
	}()
	n := len(ups)
	if s.isCreating(uploadID) {
		// Its records are still being written: neither an unfinished
		// creation to roll back nor one to copy yet. No drive is whole
		// for it in this pass.
		unlock()
		for p := range ups {
			short.leftShort(p)
		}
		return nil
	}
	q, wq := s.readQuorum(), s.writeQuorum()
	unknown := n - countNil(errs)
	if n-unknown < q {
		unlock()
		return fmt.Errorf("storage: heal upload %s: %w", uploadID, quorumError(ErrReadQuorum, errs, q))
	}
	holders := 0
	for p := range ups {
		if ups[p] != nil {
			holders++
		}
	}
	agreed := quorumValue(ups, errs, q)
	ukey := uploadKey(bucket, key, uploadID)
	if agreed == nil {
		defer unlock()
		if holders+unknown >= wq {
			// May have been acknowledged: wait for the silent drives,
			// and meanwhile no drive is whole for it.
			for p := range ups {
				short.leftShort(p)
			}
			return nil
		}
		// A creation or an abort that did not finish. A completion that
		// did not finish is the object heal's to settle; one that did
		// leaves nothing for it to settle, so its leftovers go here.
		raw, rerrs := st.readAll(ctx, objectKey(bucket, key))
		for p := range raw {
			if rerrs[p] != nil && !errors.Is(rerrs[p], drive.ErrNotFound) {
				// Undecided until that drive answers: no drive is whole
				// for this upload in this pass.
				for q := range ups {
					short.leftShort(q)
				}
				return nil
			}
			if rec, err := decodeOrEmpty(raw[p]); err == nil {
				for _, v := range rec.Versions {
					if v.DataID == uploadID {
						if allAgree(raw, rerrs) {
							// Completed on every drive: these records
							// are leftovers whose drop failed. The
							// object heal, its records agreeing, does
							// not look at them any more.
							s.dropUploadLeftovers(ctx, st, bucket, key, uploadID, &short)
							return nil
						}
						// Left to the object heal, which may run from the
						// heal queue, outside the pass: no drive is whole
						// for this upload in this pass.
						for q := range ups {
							short.leftShort(q)
						}
						return nil
					}
				}
			}
		}
		werrs := st.each(ctx, func(p int, d Drive) error {
			if errs[p] != nil || (ups[p] == nil && len(parts[p]) == 0) {
				return nil
			}
			ops := []drive.Op{{Key: ukey, Delete: true}}
			for num := range parts[p] {
				ops = append(ops, drive.Op{Key: partKey(uploadID, num), Delete: true})
			}
			return d.Apply(ctx, ops)
		})
		s.log.Info("storage: removed an unfinished multipart upload", "bucket", bucket, "key", key, "upload", uploadID)
		return quorumError(ErrWriteQuorum, werrs, n) // the part data go as orphans
	}
	// The upload exists: every drive gets its record and the parts a
	// quorum holds; parts held too thinly to have been acknowledged go.
	byNum := map[int]bool{}
	for p := range parts {
		for num := range parts[p] {
			byNum[num] = true
		}
	}
	keepParts := map[int][]byte{}
	dropParts := map[int]bool{}
	for num := range byNum {
		vals := make([][]byte, n)
		h := 0
		for p := range parts {
			if parts[p] != nil {
				vals[p] = parts[p][num]
				if vals[p] != nil {
					h++
				}
			}
		}
		if v := quorumValue(vals, errs, q); v != nil {
			keepParts[num] = v
		} else if h+unknown < wq {
			dropParts[num] = true
		} else {
			// Undecided until the silent drives answer: no drive is
			// whole for this part.
			for p := range vals {
				short.leftShort(p)
			}
		}
	}
	werrs := st.each(ctx, func(p int, d Drive) error {
		if errs[p] != nil {
			return nil
		}
		var ops []drive.Op
		if !bytes.Equal(ups[p], agreed) {
			ops = append(ops, drive.Op{Key: ukey, Value: agreed})
		}
		for num, v := range keepParts {
			if !bytes.Equal(parts[p][num], v) {
				ops = append(ops, drive.Op{Key: partKey(uploadID, num), Value: v})
			}
		}
		for num := range dropParts {
			if parts[p][num] != nil {
				ops = append(ops, drive.Op{Key: partKey(uploadID, num), Delete: true})
			}
		}
		return d.Apply(ctx, ops)
	})
	unlock()
	short.leftShortOn(werrs)
	var errsOut []error
	if err := quorumError(ErrWriteQuorum, werrs, n); err != nil {
		errsOut = append(errsOut, err)
	}
	nums := make([]int, 0, len(keepParts))
	for num := range keepParts {
		nums = append(nums, num)
	}
	sort.Ints(nums)
	for _, num := range nums {
		part, err := decodePart(keepParts[num])
		if err != nil || !validID(part.DataID) {
			continue
		}
		var res HealResult
		ss := s.uploadPartShards(st, bucket, key, uploadID, part, keepParts[num])
		if err := s.healShards(ctx, st, ss, &res, pc); err != nil {
			errsOut = append(errsOut, fmt.Errorf("part %d: %w", num, err))
		}
		for p := range res.short {
			short.leftShort(p)
		}
		s.scan.mu.Lock()
		s.scan.status.BytesScanned += res.BytesChecked
		s.scan.totals.BytesScanned += res.BytesChecked
		s.scan.mu.Unlock()
	}
	if err := errors.Join(errsOut...); err != nil {
		return fmt.Errorf("storage: heal upload %s: %w", uploadID, err)
	}
	return nil
}

// quorumValue returns the value at least q drives hold byte for byte.
func quorumValue(vals [][]byte, errs []error, q int) []byte {
	v := mostCommon(vals, errs)
	if v == nil {
		return nil
	}
	c := 0
	for i, o := range vals {
		if errs[i] == nil && o != nil && bytes.Equal(o, v) {
			c++
		}
	}
	if c < q {
		return nil
	}
	return v
}

// uploadPartShards describes the shards of an uploaded part. Parts are
// written with the Store's layout and the upload's rotation.
func (s *Store) uploadPartShards(st *set, bucket, key, uploadID string, part partEntry, val []byte) shardSet {
	n := len(st.drives())
	pkey := partKey(uploadID, part.Number)
	return shardSet{
		bucket: bucket, key: key,
		k: s.cfg.DataShards, m: s.cfg.ParityShards, block: s.cfg.BlockSize,
		rotation: rotation(uploadID, n),
		dataID:   part.DataID, file: part.File, size: part.Size, single: true,
		holders: func(ctx context.Context) ([]bool, []error) {
			raw, errs := st.readAll(ctx, pkey)
			out := make([]bool, len(raw))
			for p := range raw {
				out[p] = raw[p] != nil && bytes.Equal(raw[p], val)
			}
			return out, errs
		},
	}
}

// removeOrphanParts deletes part records whose upload exists on no drive
// of the set, once they are older than the grace period (so a part
// committed just after the upload ids were read is never taken).
func (s *Store) removeOrphanParts(ctx context.Context, st *set) error {
	uploads := map[string]bool{}
	if err := s.eachKey(ctx, st, []byte{prefixUpload}, []byte{prefixUpload + 1}, func(k []byte) error {
		if _, _, id, ok := splitUploadKey(k); ok {
			uploads[id] = true
		}
		return nil
	}); err != nil {
		return err
	}
	cutoff := s.cfg.Now().Add(-s.cfg.OrphanGrace).UnixNano()
	var stale [][]byte
	err := s.eachKey(ctx, st, []byte{prefixPart}, []byte{prefixPart + 1}, func(k []byte) error {
		if len(k) < 2+32 || uploads[string(k[1:33])] {
			return nil
		}
		stale = append(stale, k)
		return nil
	})
	if err != nil {
		return err
	}
	removed := 0
	for _, k := range stale {
		raw, errs := st.readAll(ctx, k)
		if !onlyNotFound(errs) {
			continue // every drive must confirm: an offline one may hold the upload
		}
		werrs := st.each(ctx, func(p int, d Drive) error {
			if raw[p] == nil {
				return nil
			}
			if part, err := decodePart(raw[p]); err == nil && part.ModTime > cutoff {
				return nil
			}
			return d.Apply(ctx, []drive.Op{{Key: k, Delete: true}})
		})
		if countNil(werrs) == len(werrs) {
			removed++
		}
	}
	s.countOrphans(removed)
	return nil
}

// onlyNotFound reports whether every drive answered.
func onlyNotFound(errs []error) bool {
	for _, e := range errs {
		if e != nil && !errors.Is(e, drive.ErrNotFound) {
			return false
		}
	}
	return true
}

// removeSetOrphans removes, on every drive of the set, the data
// directories no record of the set names and older than minAge, and
// returns how many it removed. The records are read from every drive
// that answers, and at least a read quorum must answer: a directory that
// an acknowledged write made is named by at least write quorum minus the
// silent drives' records, which is always at least one when no more than
// m drives are silent. With minAge 0 (at start), only the directories of
// writes this process started are spared (see track).
func (s *Store) removeSetOrphans(ctx context.Context, st *set, minAge time.Duration) (int, error) {
	used := map[string]struct{}{}
	var mu sync.Mutex
	errs := st.each(ctx, func(_ int, d Drive) error {
		local := map[string]struct{}{}
		it, err := d.NewIter(ctx, []byte{prefixObject}, []byte{prefixObject + 1})
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			rec, err := decodeObject(it.Value(), false)
			if err != nil {
				continue
			}
			for _, v := range rec.Versions {
				for _, id := range v.dataIDs() {
					local[id] = struct{}{}
				}
			}
		}
		if err := errors.Join(it.Err(), it.Close()); err != nil {
			return err
		}
		it, err = d.NewIter(ctx, []byte{prefixPart}, []byte{prefixPart + 1})
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			if p, err := decodePart(it.Value()); err == nil {
				local[p.DataID] = struct{}{}
			}
		}
		if err := errors.Join(it.Err(), it.Close()); err != nil {
			return err
		}
		mu.Lock()
		for id := range local {
			used[id] = struct{}{}
		}
		mu.Unlock()
		return nil
	})
	if err := quorumError(ErrReadQuorum, errs, s.readQuorum()); err != nil {
		return 0, fmt.Errorf("storage: orphan scan of set %d: %w", st.index, err)
	}
	removed := 0
	var failures []error
	now := s.cfg.Now()
	for p, d := range st.drives() {
		if errs[p] != nil {
			continue
		}
		var orphans []string
		err := d.WalkData(ctx, func(id string) error {
			if _, ok := used[id]; !ok {
				orphans = append(orphans, id)
			}
			return nil
		})
		if err != nil {
			failures = append(failures, fmt.Errorf("drive %s: %w", d.Info().Path, err))
			continue
		}
		for _, id := range orphans {
			if s.isTracked(id) || s.pins.held(id) {
				continue // being written, or replaced but still read
			}
			if minAge > 0 {
				mt, err := d.DataModTime(ctx, id)
				if err != nil || now.Sub(mt) < minAge {
					continue
				}
			}
			if err := d.RemoveData(ctx, id); err != nil {
				failures = append(failures, fmt.Errorf("drive %s: %w", d.Info().Path, err))
				break
			}
			removed++
			s.log.Info("storage: removed orphaned data", "drive", d.Info().Path, "data", id)
		}
		if minAge == 0 {
			n, err := s.removeOrphanInline(ctx, d, used)
			removed += n
			if err != nil {
				failures = append(failures, fmt.Errorf("drive %s: %w", d.Info().Path, err))
			}
		}
	}
	return removed, errors.Join(failures...)
}

// removeOrphanInline deletes the inline shards on d no record of its set
// names: left by a crash after an overwrite of an inline object reached
// its quorum and before the replaced shards were dropped. Only the
// start-up scan does it: a pebble key has no age, so only then can a
// shard be told from one whose write is committing (writes this process
// started are tracked).
func (s *Store) removeOrphanInline(ctx context.Context, d Drive, used map[string]struct{}) (int, error) {
	it, err := d.NewIter(ctx, []byte{prefixInline}, []byte{prefixInline + 1})
	if err != nil {
		return 0, err
	}
	var ops []drive.Op
	for ok := it.First(); ok; ok = it.Next() {
		id := string(it.Key()[1:])
		if _, ok := used[id]; !ok && !s.isTracked(id) {
			ops = append(ops, drive.Op{Key: bytes.Clone(it.Key()), Delete: true})
		}
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return 0, err
	}
	if err := d.Apply(ctx, ops); err != nil {
		return 0, err
	}
	if len(ops) > 0 {
		s.log.Info("storage: removed orphaned inline shards", "drive", d.Info().Path, "count", len(ops))
	}
	return len(ops), nil
}
