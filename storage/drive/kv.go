package drive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Op is one change in an atomic batch given to Apply.
type Op struct {
	Key   []byte
	Value []byte
	// Delete removes Key; Value is ignored.
	Delete bool
}

// Iter is a pull iterator over the metadata keys of one drive, in
// bytes.Compare order; the object layer merges the iterators of several
// drives. It sees a consistent snapshot taken when it was created.
//
// An Iter is not safe for concurrent use. The slices returned by Key and
// Value are owned by the iterator and valid only until the next call that
// moves it (or Close); copy them to keep them. Close must be called.
type Iter interface {
	// First moves to the first key in range; false if there is none.
	First() bool
	// SeekGE moves to the first key >= key in range; false if none.
	SeekGE(key []byte) bool
	// Next moves to the following key; false at the end or on error.
	Next() bool
	// Key returns the current key.
	Key() []byte
	// Value returns the current value; nil with Err set if reading it
	// failed.
	Value() []byte
	// Err returns the error that stopped the iteration, if any. A false
	// from a move with a nil Err means the range is exhausted.
	Err() error
	// Close releases the iterator and returns its error, if any.
	Close() error
}

// Get returns a copy of the value stored under key, or ErrNotFound.
func (d *Drive) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, fmt.Errorf("drive: get: %w", err)
	}
	defer d.leave()
	if err := d.ready(true); err != nil {
		return nil, fmt.Errorf("drive: get: %w", err)
	}
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, ioError("get", err)
	}
	out := append([]byte{}, v...)
	if err := closer.Close(); err != nil {
		return nil, ioError("get", err)
	}
	return out, nil
}

// Apply writes ops as one atomic batch and returns once it is synced to
// the write-ahead log. Concurrent calls share WAL syncs (pebble's group
// commit), so many small batches from many goroutines cost about one fsync
// per group, not one each. The keys and values are copied; the caller may
// reuse them when Apply returns. An empty ops is a no-op.
//
// The drive folder is checked before (cached, see Options.OnlineCheckTTL)
// and after the sync (uncached): if the folder vanished meanwhile the
// batch may have gone to unlinked files, and Apply fails with ErrOffline
// even though pebble reported success.
func (d *Drive) Apply(ctx context.Context, ops []Op) error {
	return d.apply(ctx, ops, true)
}

// ApplyLazy writes ops as one atomic batch without waiting for a WAL
// sync: the next synced batch of the drive makes it durable, and a crash
// before that may lose it. It is for changes whose loss is harmless,
// such as removing data no record names any more (an orphan, which the
// start-up scan removes), and costs no fsync of its own.
func (d *Drive) ApplyLazy(ctx context.Context, ops []Op) error {
	return d.apply(ctx, ops, false)
}

func (d *Drive) apply(ctx context.Context, ops []Op, sync bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	if err := d.enter(); err != nil {
		return fmt.Errorf("drive: apply: %w", err)
	}
	defer d.leave()
	if err := d.ready(true); err != nil {
		return fmt.Errorf("drive: apply: %w", err)
	}
	if hasSet(ops) {
		if err := d.room(); err != nil {
			return fmt.Errorf("drive: apply: %w", err)
		}
	}
	b := d.db.NewBatch()
	defer b.Close()
	for i, op := range ops {
		var err error
		if op.Delete {
			err = b.Delete(op.Key, nil)
		} else {
			err = b.Set(op.Key, op.Value, nil)
		}
		if err != nil {
			return fmt.Errorf("drive: apply: op %d: %w", i, err)
		}
	}
	if !sync {
		if err := d.db.Apply(b, pebble.NoSync); err != nil {
			return ioError("apply", err)
		}
		return nil
	}
	if err := d.db.Apply(b, pebble.Sync); err != nil {
		return ioError("apply", err)
	}
	// A failed WAL write or sync reaches us only through Fatalf (see
	// pebbleLogger); check for it before trusting the nil above. The stat
	// begins after the sync, and the commits of the same sync share it.
	if err := d.ready(false); err != nil {
		return fmt.Errorf("drive: apply: %w", err)
	}
	return nil
}

// NewIter returns an iterator over the keys in [lower, upper); a nil lower
// starts at the first key, a nil upper is unbounded. The bounds are copied.
// The iterator stops with ctx's error once ctx is cancelled (checked every
// few hundred moves).
func (d *Drive) NewIter(ctx context.Context, lower, upper []byte) (Iter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, fmt.Errorf("drive: new iterator: %w", err)
	}
	defer d.leave()
	if err := d.ready(true); err != nil {
		return nil, fmt.Errorf("drive: new iterator: %w", err)
	}
	o := &pebble.IterOptions{}
	if lower != nil {
		o.LowerBound = bytes.Clone(lower)
	}
	if upper != nil {
		o.UpperBound = bytes.Clone(upper)
	}
	pi, err := d.db.NewIterWithContext(ctx, o)
	if err != nil {
		return nil, ioError("new iterator", err)
	}
	it := &iter{d: d, ctx: ctx, it: pi}
	d.iterMu.Lock()
	d.iters[it] = struct{}{}
	d.iterMu.Unlock()
	return it, nil
}

// ctxCheckEvery is how many moves an iterator makes between two looks at
// its context: often enough to stop a long listing promptly, rarely enough
// to cost nothing per key.
const ctxCheckEvery = 256

// iter adapts a pebble iterator to Iter. Its mutex is uncontended in normal
// use; it exists so that Drive.Close can close a leaked iterator without
// racing a call in progress.
type iter struct {
	d     *Drive
	ctx   context.Context
	mu    sync.Mutex
	it    *pebble.Iterator // nil once closed
	err   error
	moves int
}

// move runs one positioning call under the iterator's lock.
func (i *iter) move(f func(*pebble.Iterator) bool) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.it == nil {
		if i.err == nil {
			i.err = ErrClosed
		}
		return false
	}
	if i.err != nil {
		return false
	}
	if i.moves++; i.moves%ctxCheckEvery == 0 {
		if err := i.ctx.Err(); err != nil {
			i.err = err
			return false
		}
	}
	return f(i.it)
}

func (i *iter) First() bool {
	return i.move(func(p *pebble.Iterator) bool { return p.First() })
}

func (i *iter) SeekGE(key []byte) bool {
	return i.move(func(p *pebble.Iterator) bool { return p.SeekGE(key) })
}

func (i *iter) Next() bool {
	return i.move(func(p *pebble.Iterator) bool { return p.Next() })
}

func (i *iter) Key() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.it == nil || i.err != nil || !i.it.Valid() {
		return nil
	}
	return i.it.Key()
}

func (i *iter) Value() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.it == nil || i.err != nil || !i.it.Valid() {
		return nil
	}
	v, err := i.it.ValueAndErr()
	if err != nil {
		i.err = ioError("iterator value", err)
		return nil
	}
	return v
}

func (i *iter) Err() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.err != nil {
		return i.err
	}
	if i.it != nil {
		if err := i.it.Error(); err != nil {
			return ioError("iterate", err)
		}
	}
	return nil
}

func (i *iter) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.it == nil {
		if errors.Is(i.err, ErrClosed) {
			return nil
		}
		return i.err
	}
	err := i.it.Close()
	i.it = nil
	i.d.iterMu.Lock()
	delete(i.d.iters, i)
	i.d.iterMu.Unlock()
	if i.err != nil {
		return i.err
	}
	if err != nil {
		return ioError("close iterator", err)
	}
	return nil
}

// forceClose is Drive.Close's way of closing an iterator the caller
// leaked; later calls on it report ErrClosed.
func (i *iter) forceClose() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.it == nil {
		return
	}
	_ = i.it.Close()
	i.it = nil
	if i.err == nil {
		i.err = ErrClosed
	}
	i.d.iterMu.Lock()
	delete(i.d.iters, i)
	i.d.iterMu.Unlock()
}

// Compact flushes the memtable and rewrites the database files holding
// keys in [lower, upper), so that values deleted or overwritten there
// leave pebble's tables, which otherwise keep them until compactions
// happen to reach them. It is for data that must be gone, not merely
// hidden: the sealed keys of a crypto-shredded bucket. A write-ahead log
// file pebble recycled may still hold the old bytes until it is
// overwritten (docs/architecture.md, "Crypto-shredding and pebble").
func (d *Drive) Compact(ctx context.Context, lower, upper []byte) error {
	if err := d.enter(); err != nil {
		return fmt.Errorf("drive: compact: %w", err)
	}
	defer d.leave()
	if err := d.ready(true); err != nil {
		return fmt.Errorf("drive: compact: %w", err)
	}
	if err := d.db.Flush(); err != nil {
		return ioError("compact: flush", err)
	}
	if err := d.db.Compact(ctx, lower, upper, false); err != nil {
		return ioError("compact", err)
	}
	// pebble deletes the replaced table files in the background, and
	// keeps those an open iterator still reads: wait until they are gone.
	deadline := time.Now().Add(compactWait)
	for {
		m := d.db.Metrics()
		if m.Table.ObsoleteCount == 0 && m.Table.ZombieCount == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("drive: compact: %d replaced table files are still read by open iterators; they are deleted when those close",
				m.Table.ObsoleteCount+m.Table.ZombieCount)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drive: compact: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// compactWait bounds how long Compact waits for pebble to delete the
// table files it replaced.
const compactWait = 10 * time.Second
