package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// A multipart upload is an upload record on every drive of the object's
// set plus one part record per uploaded part. Each part is erasure-coded
// into a data directory of its own, so replacing or dropping a part
// removes a whole directory; completion turns the part records into the
// parts of a new version in one batch per drive and deletes the upload's
// records, so the object appears whole or not at all.

// newUploadID returns an upload id that sorts by its start: the start
// (Unix nanoseconds, big-endian) and 8 random bytes, 32 hex characters.
// Upload records are keyed by key and id, so the uploads of one key list
// in the order they were started, as AWS lists them.
func newUploadID(started int64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(started))
	_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return hex.EncodeToString(b[:])
}

// WellFormedUploadID reports whether id has the form of the ids
// newUploadID makes (32 lower-case hex digits), so that a marker no
// upload could have is told from one of an upload that has gone.
func WellFormedUploadID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewMultipartUpload starts an upload and returns its id.
//
// It holds the bucket's lock shared, so that a DeleteBucket either waits
// for it and aborts the upload, or has deleted the bucket before it
// looks. While its record is on some drives only, a heal must not take
// it for a creation that did not finish and delete it: the upload is
// marked as being created (s.creating) for as long as its writes run,
// the mark set and cleared under the object's commit lock, under which
// the heal reads the records and decides. The writes themselves run
// without that lock, so a heal pass need not wait for a drive slow to
// sync an upload record.
func (s *Store) NewMultipartUpload(ctx context.Context, bucket, key string, md map[string]string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	unshare := s.shareBucket(bucket)
	defer unshare()
	if err := s.checkBucket(bucket); err != nil {
		return "", err
	}
	st := s.setFor(bucket, key)
	started := s.cfg.Now().UnixNano()
	rec := uploadRecord{Key: key, UploadID: newUploadID(started), Initiated: started, Metadata: md}
	s.markCreating(bucket, key, rec.UploadID, true)
	defer s.markCreating(bucket, key, rec.UploadID, false)
	ukey := uploadKey(bucket, key, rec.UploadID)
	ops := []drive.Op{{Key: ukey, Value: rec.encode()}}
	errs := st.each(ctx, func(_ int, d Drive) error { return d.Apply(ctx, ops) })
	if err := quorumError(ErrWriteQuorum, errs, s.writeQuorum()); err != nil {
		st.each(context.WithoutCancel(ctx), func(_ int, d Drive) error {
			return d.Apply(context.WithoutCancel(ctx), []drive.Op{{Key: ukey, Delete: true}})
		})
		return "", fmt.Errorf("storage: new upload %s/%s: %w", bucket, key, err)
	}
	return rec.UploadID, nil
}

// markCreating marks (on) or unmarks the upload uploadID of bucket/key
// as being created, under the object's commit lock.
func (s *Store) markCreating(bucket, key, uploadID string, on bool) {
	unlock := s.lock(bucket, key)
	defer unlock()
	s.creatingMu.Lock()
	defer s.creatingMu.Unlock()
	if !on {
		delete(s.creating, uploadID)
		return
	}
	if s.creating == nil {
		s.creating = map[string]bool{}
	}
	s.creating[uploadID] = true
}

// isCreating reports whether uploadID is being created; its caller holds
// the object's commit lock, so the answer holds until it lets go.
func (s *Store) isCreating(uploadID string) bool {
	s.creatingMu.Lock()
	defer s.creatingMu.Unlock()
	return s.creating[uploadID]
}

// readUpload returns the upload record a read quorum holds.
func (s *Store) readUpload(ctx context.Context, st *set, bucket, key, uploadID string) (uploadRecord, error) {
	if !validID(uploadID) {
		return uploadRecord{}, fmt.Errorf("%w: %s", ErrUploadNotFound, uploadID)
	}
	raw, errs := st.readAll(ctx, uploadKey(bucket, key, uploadID))
	val, err := s.agree(raw, errs)
	if err != nil {
		if errors.Is(err, ErrObjectNotFound) {
			return uploadRecord{}, fmt.Errorf("%w: %s", ErrUploadNotFound, uploadID)
		}
		return uploadRecord{}, err
	}
	return decodeUpload(val)
}

// agreedAt is agree over a merge iterator's values at its position,
// where a drive without the key counts as answering "not found"; errs is
// the caller's scratch, one per drive.
func (s *Store) agreedAt(m *mergeIter, errs []error) ([]byte, error) {
	for i, v := range m.values {
		errs[i] = m.errs[i]
		if v == nil && errs[i] == nil {
			errs[i] = drive.ErrNotFound
		}
	}
	return s.agree(m.values, errs)
}

// agree returns the value a read quorum of drives holds byte for byte;
// ErrObjectNotFound when no value has a quorum but enough drives answered.
func (s *Store) agree(raw [][]byte, errs []error) ([]byte, error) {
	answered := 0
	for p := range raw {
		if errs[p] == nil || errors.Is(errs[p], drive.ErrNotFound) {
			answered++
		}
	}
	if answered < s.readQuorum() {
		return nil, quorumError(ErrReadQuorum, readErrorsOnly(errs), s.readQuorum())
	}
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
		if same >= s.readQuorum() {
			return raw[p], nil
		}
	}
	return nil, ErrObjectNotFound
}

// validID reports whether id has the form newID makes.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// PutObjectPart stores one part of an upload, replacing an earlier part
// with the same number.
func (s *Store) PutObjectPart(ctx context.Context, bucket, key, uploadID string, number int, body io.Reader, opts PutOptions) (PartInfo, error) {
	defer s.load.begin()()
	if err := s.checkBucket(bucket); err != nil {
		return PartInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return PartInfo{}, err
	}
	if number < 1 || number > MaxPartNumber {
		return PartInfo{}, fmt.Errorf("%w: part number %d outside 1..%d", ErrInvalidArgument, number, MaxPartNumber)
	}
	if opts.Size > MaxPartSize {
		return PartInfo{}, ErrEntityTooLarge
	}
	st := s.setFor(bucket, key)
	if _, err := s.readUpload(ctx, st, bucket, key, uploadID); err != nil {
		return PartInfo{}, err
	}
	n := len(st.drives())
	rot := rotation(uploadID, n)
	dataID := newID()
	fin := &finisher{fn: opts.Finish}
	w, err := s.writeData(ctx, st, dataID, partFile(1), newSizedReader(body, opts.Size, MaxPartSize), opts.Size, false, rot, fin.finish)
	if err != nil {
		return PartInfo{}, err
	}
	s.crash.at("after-data")
	part := partEntry{Number: number, Size: w.size, ETag: fin.etag, File: partFile(1), DataID: dataID, Metadata: maps.Clone(fin.extra), ModTime: s.cfg.Now().UnixNano()}
	if len(part.Metadata) == 0 {
		part.Metadata = nil
	}
	if err := s.commitPart(ctx, st, bucket, key, uploadID, part, w); err != nil {
		s.removeData(context.WithoutCancel(ctx), st, dataID)
		return PartInfo{}, err
	}
	return part.info(), nil
}

func (p *partEntry) info() PartInfo {
	return PartInfo{Number: p.Number, Size: p.Size, ETag: p.ETag, ModTime: time.Unix(0, p.ModTime).UTC(), Metadata: p.Metadata}
}

// commitPart records a written part under the object's lock, after
// checking the upload still exists (a part racing a completion or an
// abort must not leave records behind).
func (s *Store) commitPart(ctx context.Context, st *set, bucket, key, uploadID string, part partEntry, w written) error {
	unlock := s.lock(bucket, key)
	defer unlock()
	if _, err := s.readUpload(ctx, st, bucket, key, uploadID); err != nil {
		return err
	}
	pkey := partKey(uploadID, part.Number)
	old, oldErrs := st.readAll(ctx, pkey)
	val := encodePart(&part)
	cc := s.crash.counter("part-commits")
	errs := st.each(ctx, func(p int, d Drive) error {
		if !w.ok[p] {
			return errors.New("shard not written")
		}
		if err := d.Apply(ctx, []drive.Op{{Key: pkey, Value: val}}); err != nil {
			return err
		}
		cc.step()
		return nil
	})
	if err := quorumError(ErrWriteQuorum, errs, s.writeQuorum()); err == nil {
		s.missedWrite(st, w, errs)
	} else {
		st.each(context.WithoutCancel(ctx), func(p int, d Drive) error {
			if errs[p] != nil {
				return nil
			}
			op := drive.Op{Key: pkey, Delete: true}
			if old[p] != nil {
				op = drive.Op{Key: pkey, Value: old[p]}
			}
			return d.Apply(context.WithoutCancel(ctx), []drive.Op{op})
		})
		return err
	}
	if prev, err := s.agree(old, oldErrs); err == nil {
		if pe, err := decodePart(prev); err == nil && pe.DataID != part.DataID {
			s.removeData(context.WithoutCancel(ctx), st, pe.DataID)
		}
	}
	return nil
}

// readParts returns the parts of an upload a read quorum agrees on, by
// number.
func (s *Store) readParts(ctx context.Context, st *set, uploadID string) ([]partEntry, error) {
	lower := partKey(uploadID, 0)[:len(uploadID)+2]
	m := newMergeIter(ctx, st.drives(), lower, prefixEnd(lower))
	defer m.close()
	if err := quorumError(ErrReadQuorum, m.errs, s.readQuorum()); err != nil {
		return nil, err
	}
	var parts []partEntry
	errs := make([]error, len(st.drives()))
	for ok := m.seek(nil); ok; ok = m.next() {
		for i, v := range m.values {
			errs[i] = m.errs[i]
			if v == nil && errs[i] == nil {
				errs[i] = drive.ErrNotFound
			}
		}
		val, err := s.agree(m.values, errs)
		if errors.Is(err, ErrObjectNotFound) && undecided(m.values, errs, s.readQuorum()) {
			// Drives that did not answer may complete a quorum: the
			// part may be acknowledged. Not knowing is not "absent".
			return nil, fmt.Errorf("%w: part record %x undecided", ErrReadQuorum, m.key)
		}
		if err != nil {
			continue // a part write that did not reach quorum
		}
		p, err := decodePart(val)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	if err := quorumError(ErrReadQuorum, m.errs, s.readQuorum()); err != nil {
		return nil, err
	}
	return parts, nil
}

// ListParts returns up to maxParts parts numbered above marker.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, marker, maxParts int) (ListPartsResult, error) {
	var res ListPartsResult
	if err := s.checkBucket(bucket); err != nil {
		return res, err
	}
	if err := checkKey(key); err != nil {
		return res, err
	}
	st := s.setFor(bucket, key)
	up, err := s.readUpload(ctx, st, bucket, key, uploadID)
	if err != nil {
		return res, err
	}
	res.Upload = up.info(bucket)
	parts, err := s.readParts(ctx, st, uploadID)
	if err != nil {
		return res, err
	}
	if maxParts <= 0 || maxParts > 1000 {
		maxParts = 1000
	}
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, p.info())
		res.NextPartNumberMarker = p.Number
	}
	return res, nil
}

func (u *uploadRecord) info(bucket string) MultipartUpload {
	return MultipartUpload{Bucket: bucket, Key: u.Key, UploadID: u.UploadID, Initiated: time.Unix(0, u.Initiated).UTC(), Metadata: u.Metadata}
}

// AbortMultipartUpload drops an upload and its parts.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := s.checkBucket(bucket); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	st := s.setFor(bucket, key)
	unlock := s.lock(bucket, key)
	defer unlock()
	if _, err := s.readUpload(ctx, st, bucket, key, uploadID); err != nil {
		return err
	}
	parts, err := s.readParts(ctx, st, uploadID)
	if err != nil {
		return err
	}
	ops := s.uploadCleanupOps(bucket, key, uploadID, parts)
	errs := st.each(ctx, func(_ int, d Drive) error { return d.Apply(ctx, ops) })
	if err := quorumError(ErrWriteQuorum, errs, s.writeQuorum()); err != nil {
		return err
	}
	for _, p := range parts {
		s.removeData(context.WithoutCancel(ctx), st, p.DataID)
	}
	return nil
}

// uploadCleanupOps deletes an upload's records. Part records of parts a
// drive holds but the quorum does not know are deleted too: the numbers
// are few, so every possible part key of the known parts is named, and a
// sweep of the prefix catches the rest.
func (s *Store) uploadCleanupOps(bucket, key, uploadID string, parts []partEntry) []drive.Op {
	ops := []drive.Op{{Key: uploadKey(bucket, key, uploadID), Delete: true}}
	for _, p := range parts {
		ops = append(ops, drive.Op{Key: partKey(uploadID, p.Number), Delete: true})
	}
	return ops
}

// completeAttempts bounds the tries of a completion whose upload's parts
// change between its read of them and its commit: only a client
// uploading parts of the upload it completes does that, so it gets
// ErrConflict (to be retried) rather than a completion that never ends.
const completeAttempts = 3

// errPartsChanged is a completion's finding, under the object's lock,
// that the upload's parts are no longer those it read: it tries again.
var errPartsChanged = errors.New("storage: the upload's parts changed during its completion")

// CompleteMultipartUpload assembles the listed parts into the object's
// new current version.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, list []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	defer s.load.begin()()
	if err := s.checkBucket(bucket); err != nil {
		return ObjectInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	if len(list) == 0 {
		return ObjectInfo{}, fmt.Errorf("%w: no parts", ErrInvalidPart)
	}
	st := s.setFor(bucket, key)
	for try := 1; ; try++ {
		info, err := s.completeUpload(ctx, st, bucket, key, uploadID, list, opts)
		if !errors.Is(err, errPartsChanged) {
			return info, err
		}
		if try == completeAttempts {
			return ObjectInfo{}, fmt.Errorf("%w: upload %s, after %d tries: %w", ErrConflict, uploadID, try, err)
		}
	}
}

// completeUpload is one try of CompleteMultipartUpload. It reads and
// checks the parts without the object's lock (reading an upload's parts
// can take long), then, under the lock, reads them again and commits only
// if a read quorum still holds the very records it checked: an upload of
// a part number commits its record and removes the data of the part it
// replaces under that lock, so a completion that went by its first read
// would name removed data, and every read of the object it acknowledged
// would fail. Otherwise it returns errPartsChanged, and the next try
// checks the new parts against the client's list (InvalidPart if a
// listed ETag is no longer the part's).
func (s *Store) completeUpload(ctx context.Context, st *set, bucket, key, uploadID string, list []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	up, err := s.readUpload(ctx, st, bucket, key, uploadID)
	if err != nil {
		return ObjectInfo{}, err
	}
	stored, err := s.readParts(ctx, st, uploadID)
	if err != nil {
		return ObjectInfo{}, err
	}
	byNumber := make(map[int]partEntry, len(stored))
	for _, p := range stored {
		byNumber[p.Number] = p
	}
	// The order first, over the whole list: a list both out of order and
	// holding a small part is InvalidPartOrder, as AWS reports it, whatever
	// part comes first.
	for i := 1; i < len(list); i++ {
		if list[i].Number <= list[i-1].Number {
			return ObjectInfo{}, fmt.Errorf("%w: part %d after part %d", ErrInvalidPartOrder, list[i].Number, list[i-1].Number)
		}
	}
	chosen := make([]partEntry, 0, len(list))
	md5s := md5.New()
	var size int64
	for i, cp := range list {
		p, ok := byNumber[cp.Number]
		if !ok || strings.Trim(cp.ETag, `"`) != p.ETag {
			return ObjectInfo{}, fmt.Errorf("%w: part %d", ErrInvalidPart, cp.Number)
		}
		if i < len(list)-1 && p.Size < MinPartSize {
			return ObjectInfo{}, fmt.Errorf("%w: part %d has %d bytes", ErrPartTooSmall, cp.Number, p.Size)
		}
		raw, err := hex.DecodeString(p.ETag)
		if err != nil {
			return ObjectInfo{}, fmt.Errorf("%w: part %d has no MD5 ETag", ErrInvalidPart, cp.Number)
		}
		md5s.Write(raw)
		size += p.Size
		chosen = append(chosen, p)
	}
	md := maps.Clone(up.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	maps.DeleteFunc(md, func(k, _ string) bool { return strings.HasPrefix(k, UploadMetadataPrefix) })
	if opts.Finish != nil {
		infos := make([]PartInfo, len(chosen))
		for i := range chosen {
			infos[i] = chosen[i].info()
		}
		extra, err := opts.Finish(infos)
		if err != nil {
			return ObjectInfo{}, err
		}
		maps.Copy(md, extra)
	}
	n := len(st.drives())
	v := versionRecord{
		VersionID:    NullVersionID,
		DataID:       uploadID,
		ModTime:      s.cfg.Now().UnixNano(),
		Size:         size,
		ETag:         fmt.Sprintf("%s-%d", hex.EncodeToString(md5s.Sum(nil)), len(chosen)),
		Metadata:     md,
		DataShards:   s.cfg.DataShards,
		ParityShards: s.cfg.ParityShards,
		BlockSize:    s.cfg.BlockSize,
		Rotation:     rotation(uploadID, n),
		Parts:        chosen,
	}
	all := written{ok: make([]bool, n)}
	for p := range all.ok {
		all.ok[p] = true
	}
	ops := s.uploadCleanupOps(bucket, key, uploadID, stored)
	precondition := func(cur *ObjectInfo) error {
		// The upload must still be there under the lock: a racing
		// completion or abort of the same upload wins once.
		if _, err := s.readUpload(ctx, st, bucket, key, uploadID); err != nil {
			return err
		}
		// So must its parts, all of them: the chosen ones' data must
		// not have been removed, and ops must delete every part record.
		now, err := s.readParts(ctx, st, uploadID)
		if err != nil {
			return err
		}
		if !sameParts(stored, now) {
			return errPartsChanged
		}
		if opts.Precondition != nil {
			return opts.Precondition(cur)
		}
		return nil
	}
	if s.completeHook != nil {
		s.completeHook("parts-read")
	}
	if err := s.commitVersion(ctx, st, bucket, key, v, all, ops, precondition); err != nil {
		return ObjectInfo{}, err
	}
	used := map[string]bool{}
	for _, p := range chosen {
		used[p.DataID] = true
	}
	for _, p := range stored {
		if !used[p.DataID] {
			s.removeData(context.WithoutCancel(ctx), st, p.DataID)
		}
	}
	return v.info(bucket, key), nil
}

// sameParts reports whether two reads of an upload's parts found the same
// records.
func sameParts(a, b []partEntry) bool {
	return slices.EqualFunc(a, b, func(x, y partEntry) bool {
		return bytes.Equal(encodePart(&x), encodePart(&y))
	})
}

// CompletedUpload returns the current version of bucket/key when it was
// made by completing upload uploadID from exactly the parts in list,
// and ErrUploadNotFound otherwise. It tells a retried completion (a
// client that timed out waiting for the first answer) from one of an
// upload that was aborted, never was, or was overwritten since.
func (s *Store) CompletedUpload(ctx context.Context, bucket, key, uploadID string, list []CompletePart) (ObjectInfo, error) {
	_, v, err := s.lookup(ctx, bucket, key, GetOptions{})
	switch {
	case errors.Is(err, ErrObjectNotFound):
		return ObjectInfo{}, fmt.Errorf("%w: %s", ErrUploadNotFound, uploadID)
	case err != nil:
		return ObjectInfo{}, err
	}
	// A completed upload's version has its data id and a multipart ETag
	// ("<md5 of md5s>-N"); a single PUT's data id is never an upload id,
	// but is not checked for being guessed either.
	if v.DataID != uploadID || len(v.Parts) != len(list) || !strings.HasSuffix(v.ETag, fmt.Sprintf("-%d", len(list))) {
		return ObjectInfo{}, fmt.Errorf("%w: %s", ErrUploadNotFound, uploadID)
	}
	for i, cp := range list {
		if cp.Number != v.Parts[i].Number || strings.Trim(cp.ETag, `"`) != v.Parts[i].ETag {
			return ObjectInfo{}, fmt.Errorf("%w: %s: completed with other parts", ErrUploadNotFound, uploadID)
		}
	}
	return v.info(bucket, key), nil
}

// ListMultipartUploads lists a bucket's uploads in progress, by key and
// then upload id.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (ListUploadsResult, error) {
	var res ListUploadsResult
	if err := s.checkBucket(bucket); err != nil {
		return res, err
	}
	maxUploads := opts.MaxUploads
	if maxUploads <= 0 || maxUploads > 1000 {
		maxUploads = 1000
	}
	lower := objectKey(bucket, opts.Prefix)
	lower[0] = prefixUpload
	base := len(bucket) + 2
	m := newMergeIter(ctx, s.allDrives(), lower, prefixEnd(lower))
	defer m.close()
	if err := s.listQuorum(m); err != nil {
		return res, err
	}
	start := lower
	if opts.KeyMarker != "" {
		if opts.UploadIDMarker != "" {
			start = append(uploadKey(bucket, opts.KeyMarker, opts.UploadIDMarker), 0)
		} else {
			start = prefixEnd(append(objectKey(bucket, opts.KeyMarker), 0))
			start[0] = prefixUpload
		}
		if bytes.Compare(start, lower) < 0 {
			start = lower
		}
	}
	errs := make([]error, len(m.values))
	// agreed returns the upload at m's position if a quorum of its set
	// holds it: an upload aborted or completed while a drive was away
	// stays on that drive until healed, and is listed neither as an
	// upload nor as the CommonPrefix of one.
	agreed := func(uploadID string) (MultipartUpload, bool) {
		val, err := s.agreedAt(m, errs)
		if err != nil {
			return MultipartUpload{}, false
		}
		rec, err := decodeUpload(val)
		if err != nil || rec.UploadID != uploadID {
			return MultipartUpload{}, false
		}
		return rec.info(bucket), true
	}
	count := 0
	for ok := m.seek(start); ok; {
		rest := string(m.key[base:])
		sep := strings.IndexByte(rest, 0)
		if sep < 0 {
			ok = m.next()
			continue
		}
		key, uploadID := rest[:sep], rest[sep+1:]
		if opts.Delimiter != "" {
			if i := strings.Index(key[len(opts.Prefix):], opts.Delimiter); i >= 0 {
				cp := key[:len(opts.Prefix)+i+len(opts.Delimiter)]
				next := objectKey(bucket, cp)
				next[0] = prefixUpload
				next = prefixEnd(next)
				if cp <= opts.KeyMarker {
					// The marker lies inside this prefix (or is it, as
					// NextKeyMarker after a prefix): it was returned before.
					if next == nil {
						break
					}
					ok = m.seek(next)
					continue
				}
				if _, held := agreed(uploadID); !held {
					ok = m.next()
					continue
				}
				if count == maxUploads {
					res.IsTruncated = true
					break
				}
				res.Prefixes = append(res.Prefixes, cp)
				res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
				count++
				if next == nil {
					break
				}
				ok = m.seek(next)
				continue
			}
		}
		if info, held := agreed(uploadID); held {
			if count == maxUploads {
				res.IsTruncated = true
				break
			}
			res.Uploads = append(res.Uploads, info)
			res.NextKeyMarker, res.NextUploadIDMarker = key, uploadID
			count++
		}
		ok = m.next()
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}

// undecided reports whether the most common value of vals plus the
// drives that did not answer reach q.
func undecided(vals [][]byte, errs []error, q int) bool {
	best := mostCommon(vals, errs)
	if best == nil {
		return false
	}
	n := 0
	for i, e := range errs {
		if e == nil && bytes.Equal(vals[i], best) || e != nil && !errors.Is(e, drive.ErrNotFound) {
			n++
		}
	}
	return n >= q
}
