package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/objstore/objstore/erasure"
	"github.com/objstore/objstore/storage/drive"
)

// OpenObject returns a reader of one version of bucket/key. It reads the
// metadata only; WriteRange reads the shards it needs. Until the reader
// is closed, an overwrite or delete of the key leaves the version's data
// in place (readPins).
func (s *Store) OpenObject(ctx context.Context, bucket, key string, opts GetOptions) (ObjectReader, error) {
	epoch := s.pins.acquire(bucket, key)
	st, v, err := s.lookup(ctx, bucket, key, opts)
	if err != nil {
		s.unpin(bucket, key, epoch)
		return nil, err
	}
	return &objectReader{s: s, st: st, bucket: bucket, key: key, v: v, epoch: epoch}, nil
}

// unpin ends a read registered in epoch and runs, in the background
// (Close waits for them), the removals it was the last to hold back.
func (s *Store) unpin(bucket, key string, epoch uint64) {
	run := s.pins.release(bucket, key, epoch)
	if len(run) == 0 {
		return
	}
	s.rounds.Add(1)
	go func() {
		defer s.rounds.Done()
		for _, fn := range run {
			fn()
		}
	}()
}

type objectReader struct {
	s           *Store
	st          *set
	bucket, key string
	v           versionRecord
	epoch       uint64 // of its registration in s.pins
	closed      sync.Once
}

// Close ends the read: data the version's replacement left for it may go.
func (r *objectReader) Close() error {
	r.closed.Do(func() { r.s.unpin(r.bucket, r.key, r.epoch) })
	return nil
}

func (r *objectReader) Info() ObjectInfo { return r.v.info(r.bucket, r.key) }

// WriteRange decodes the parts the range touches, one after the other.
// Shards that were missing or corrupt on the way are reported for repair;
// the bytes written are always verified ones.
func (r *objectReader) WriteRange(ctx context.Context, w io.Writer, offset, length int64) error {
	if offset < 0 || length < 0 || offset+length > r.v.Size {
		return fmt.Errorf("%w: range %d+%d outside object of %d bytes", ErrInvalidArgument, offset, length, r.v.Size)
	}
	codec, err := r.s.codec(r.v.DataShards, r.v.ParityShards, r.v.BlockSize)
	if err != nil {
		return err
	}
	var start int64
	for _, part := range r.v.Parts {
		end := start + part.Size
		if length == 0 {
			break
		}
		if offset >= end {
			start = end
			continue
		}
		off := offset - start
		n := min(length, part.Size-off)
		if err := r.decodePart(ctx, codec, w, part, off, n); err != nil {
			return err
		}
		offset += n
		length -= n
		start = end
	}
	return nil
}

func (r *objectReader) decodePart(ctx context.Context, codec *erasure.Codec, w io.Writer, part partEntry, off, n int64) error {
	ds := r.st.drives()
	total := len(ds)
	rs := make([]io.ReaderAt, total)
	readers := make([]*shardReader, total)
	for p, d := range ds {
		sr := &shardReader{ctx: ctx, d: d, inline: r.v.Inline, dataID: r.v.partDataID(&part), file: part.File}
		readers[p] = sr
		rs[shardOf(p, r.v.Rotation, total)] = sr
	}
	defer func() {
		for _, sr := range readers {
			sr.Close()
		}
	}()
	res, err := codec.Decode(ctx, w, rs, off, n, part.Size)
	if !onlyOffline(res.Errs) {
		// A missing or corrupt shard on a drive that answers: repair it
		// in the background. The bytes written were verified ones.
		r.s.queueHeal(r.bucket, r.key, true)
	}
	if err != nil {
		if errors.Is(err, erasure.ErrReadQuorum) {
			var qe *erasure.ReadQuorumError
			if errors.As(err, &qe) && total-countDamaged(qe.Errs) < codec.DataShards() {
				// Drives answered with shards missing or failing their
				// checksums: no drive coming back makes this readable,
				// and "retry" (a quorum error's 503) would mislead.
				return fmt.Errorf("%w: %s/%s part %d: %w", ErrDataCorrupt, r.bucket, r.key, part.Number, err)
			}
			return fmt.Errorf("%w: %s/%s part %d: %w", ErrReadQuorum, r.bucket, r.key, part.Number, err)
		}
		return fmt.Errorf("storage: read %s/%s part %d: %w", r.bucket, r.key, part.Number, err)
	}
	return nil
}

// countDamaged counts the shard errors of the block a read failed at that
// say the shard is damaged or gone on a drive that answered, not that a
// drive is away or slow: those a returning drive could not mend. (The
// read's own error list holds each shard's first fault anywhere in the
// object, which may be in another block.)
func countDamaged(errs []error) int {
	n := 0
	for _, e := range errs {
		switch {
		case e == nil:
		case errors.Is(e, erasure.ErrChecksum), errors.Is(e, erasure.ErrShortShard),
			errors.Is(e, erasure.ErrHeader), errors.Is(e, erasure.ErrTrailingData),
			errors.Is(e, erasure.ErrShardMissing), errors.Is(e, drive.ErrNotFound):
			n++
		}
	}
	return n
}

// shardReader opens a drive's shard of one part on first use, so a
// healthy read touches only the data shards' drives.
type shardReader struct {
	ctx    context.Context
	d      Drive
	inline bool
	dataID string
	file   string

	once sync.Once
	err  error
	ra   io.ReaderAt
	f    drive.DataFile
}

func (sr *shardReader) open() {
	if sr.inline {
		b, err := sr.d.Get(sr.ctx, inlineKey(sr.dataID))
		if err != nil {
			sr.err = err
			return
		}
		sr.ra = bytes.NewReader(b)
		return
	}
	f, err := sr.d.OpenData(sr.ctx, sr.dataID, sr.file)
	if err != nil {
		sr.err = err
		return
	}
	sr.f, sr.ra = f, f
}

func (sr *shardReader) ReadAt(p []byte, off int64) (int, error) {
	sr.once.Do(sr.open)
	if sr.err != nil {
		return 0, sr.err
	}
	return sr.ra.ReadAt(p, off)
}

func (sr *shardReader) Close() {
	if sr.f != nil {
		sr.f.Close()
	}
}
