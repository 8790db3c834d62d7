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

// sizedReader enforces a declared body size: a body that ends early is
// ErrIncompleteBody, one that runs on is ErrEntityTooLarge. Either way
// the write aborts before anything commits.
type sizedReader struct {
	r    io.Reader
	left int64 // bytes still expected; -1 when the size is unknown
	max  int64 // with an unknown size, the most accepted
	n    int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.left == 0 {
		// Expect EOF: a longer body must not pass silently.
		var one [1]byte
		n, err := s.r.Read(one[:])
		if n > 0 {
			return 0, ErrEntityTooLarge
		}
		if err == nil {
			return 0, nil
		}
		return 0, err
	}
	if s.left > 0 && int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.left > 0 {
		s.left -= int64(n)
		if err == io.EOF && s.left > 0 {
			return n, ErrIncompleteBody
		}
		if err == io.EOF {
			err = nil // hand the EOF over from the check above
		}
	} else if s.n > s.max {
		return n, ErrEntityTooLarge
	}
	return n, err
}

func newSizedReader(r io.Reader, size, max int64) *sizedReader {
	if size < 0 {
		return &sizedReader{r: r, left: -1, max: max}
	}
	return &sizedReader{r: r, left: size, max: max}
}

// written is the result of writing one erasure-coded data stream to a set.
type written struct {
	size   int64
	ok     []bool   // per drive position: the shard is durable there
	inline [][]byte // per drive position: its shard stream, for inline data
	// ids holds, per drive position, the id of the drive the shard was
	// staged on (not for inline data, written at the commit): a drive
	// formatted in that position since lacks the shard (missedWrite).
	ids []string
	// rebuilding holds, per drive position, whether the drive there was
	// being rebuilt when the write began: its rebuild may have ended
	// before a commit that leaves it out (missedWrite).
	rebuilding []bool
}

// writeData erasure-codes body onto the set. Inline data is encoded into
// memory for the caller to commit with the metadata; otherwise each
// drive's shard goes to a staging file committed as dataID/name. It calls
// finish after the body reached EOF and before any file commits.
func (s *Store) writeData(ctx context.Context, st *set, dataID, name string, body io.Reader, size int64, inline bool, rot int, finish func() error) (written, error) {
	codec, err := s.codec(s.cfg.DataShards, s.cfg.ParityShards, s.cfg.BlockSize)
	if err != nil {
		return written{}, err
	}
	n := len(st.drives())
	w := written{ok: make([]bool, n), rebuilding: s.rebuildingNow(st)}
	ws := make([]io.Writer, n) // by shard index
	s.track(dataID)
	if inline {
		bufs := make([]*bytes.Buffer, n)
		for p := range n {
			bufs[p] = bytes.NewBuffer(make([]byte, 0, codec.ShardSize(size)))
			ws[shardOf(p, rot, n)] = bufs[p]
		}
		res, err := codec.Encode(ctx, body, ws, n)
		if err != nil {
			return w, fmt.Errorf("storage: encode: %w", err)
		}
		if err := finish(); err != nil {
			return w, err
		}
		w.size = res.Size
		w.inline = make([][]byte, n)
		for p := range n {
			w.inline[p] = bufs[p].Bytes()
			w.ok[p] = true
		}
		return w, nil
	}

	files := make([]drive.StagingFile, n)
	w.ids = make([]string, n)
	errs := st.each(ctx, func(p int, d Drive) error {
		w.ids[p] = d.Info().Format.DriveID
		f, err := d.CreateStaging(ctx)
		if err != nil {
			return err
		}
		files[p] = f
		ws[shardOf(p, rot, n)] = f
		return nil
	})
	abort := func() {
		for _, f := range files {
			if f != nil {
				f.Abort()
			}
		}
	}
	if err := quorumError(ErrWriteQuorum, errs, s.writeQuorum()); err != nil {
		abort()
		return w, err
	}
	ra := newReadAhead(body, s.blockPool())
	res, err := codec.Encode(ctx, ra, ws, s.writeQuorum())
	ra.Close()
	if err != nil {
		abort()
		if errors.Is(err, erasure.ErrWriteQuorum) {
			return w, fmt.Errorf("%w: %w", ErrWriteQuorum, err)
		}
		return w, fmt.Errorf("storage: encode: %w", err)
	}
	if err := finish(); err != nil {
		abort()
		return w, err
	}
	w.size = res.Size
	cc := s.crash.counter("data-commits")
	errs = st.each(ctx, func(p int, d Drive) error {
		if files[p] == nil {
			return errors.New("no staging file")
		}
		if e := res.Errs[shardOf(p, rot, n)]; e != nil {
			files[p].Abort()
			return e
		}
		if err := files[p].Commit(ctx, dataID, name); err != nil {
			files[p].Abort()
			return err
		}
		cc.step()
		return nil
	})
	for p, e := range errs {
		w.ok[p] = e == nil
	}
	if err := quorumError(ErrWriteQuorum, errs, s.writeQuorum()); err != nil {
		s.removeData(context.WithoutCancel(ctx), st, dataID)
		return w, err
	}
	return w, nil
}

// finisher runs a PUT's Finish once the body reached EOF and keeps what
// it returned for the version or part record.
type finisher struct {
	fn    func() (etag string, extra map[string]string, err error)
	etag  string
	extra map[string]string
}

func (f *finisher) finish() error {
	if f.fn == nil {
		return nil
	}
	var err error
	f.etag, f.extra, err = f.fn()
	return err
}

// blockPool returns the pool of block-sized read-ahead buffers.
func (s *Store) blockPool() *sync.Pool {
	s.poolOnce.Do(func() {
		size := s.cfg.BlockSize
		s.pool.New = func() any {
			b := make([]byte, size)
			return &b
		}
	})
	return &s.pool
}

// shardOf is the shard index the drive at position p holds.
func shardOf(p, rot, n int) int { return (p + rot) % n }

// missedWrite looks at the drives of st an acknowledged commit of w left
// out (errs[p] != nil). One formatted in its position since the write
// began, or one being rebuilt, lacks what was just acknowledged, and a
// pass that already went by the key (or ended, ending the rebuild) did
// not see it: its rebuild starts again, to end with a pass that starts
// after the miss. Otherwise a part uploaded while a drive was replaced
// left the new drive counted as holding data without it.
func (s *Store) missedWrite(st *set, w written, errs []error) {
	for p, d := range st.drives() {
		if errs[p] == nil {
			continue
		}
		if _, offline := d.(offlineDrive); offline {
			continue // it gets its rebuild (again) when it comes back
		}
		path := d.Info().Path
		replaced := p < len(w.ids) && w.ids[p] != d.Info().Format.DriveID
		wasRebuilding := p < len(w.rebuilding) && w.rebuilding[p]
		if (replaced || wasRebuilding || s.beingRebuilt(path)) && s.markRebuilding(path) {
			// Once per drive and pass: a drive kept while failing (full,
			// read-only) misses every write.
			s.log.Warn("storage: a drive being rebuilt missed an acknowledged write; its rebuild waits for another pass", "path", path)
			s.requestPass()
		}
	}
}

// rebuildingNow reports, per drive position of st, whether the drive there
// is being rebuilt.
func (s *Store) rebuildingNow(st *set) []bool {
	ds := st.drives()
	out := make([]bool, len(ds))
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	for p, d := range ds {
		_, out[p] = s.scan.rebuilding[d.Info().Path]
	}
	return out
}

// removeData deletes a data directory on every drive of the set, logging
// what fails: leftovers are orphans the scanner removes.
func (s *Store) removeData(ctx context.Context, st *set, dataID string) {
	errs := st.each(ctx, func(_ int, d Drive) error { return d.RemoveData(ctx, dataID) })
	ds := st.drives()
	for p, err := range errs {
		if err != nil && !errors.Is(err, drive.ErrOffline) {
			s.log.Warn("storage: remove data", "drive", ds[p].Info().Path, "data", dataID, "err", err)
		}
	}
}

// rotation picks the shard rotation of a new version from its data id,
// spreading data shards, and so reads, over all drives.
func rotation(dataID string, n int) int {
	var h uint32
	for i := 0; i < len(dataID); i++ {
		h = h*31 + uint32(dataID[i])
	}
	return int(h % uint32(n))
}
