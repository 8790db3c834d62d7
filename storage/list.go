package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/objstore/objstore/storage/drive"
)

// mergeIter walks the same key range on several drives at once, yielding
// each distinct key once with the values the drives hold for it. Drives
// whose iterator fails drop out; the caller checks how many remain.
type mergeIter struct {
	its    []drive.Iter
	valid  []bool
	errs   []error
	at     [][]byte // per drive, its iterator's current key while valid
	key    []byte
	values [][]byte // per drive, nil where the drive lacks the key

	// spare holds, for a listing that opened only some drives
	// (newListIter), the drives it has not opened yet; widen opens them
	// within the same range.
	spare        []Drive
	ctx          context.Context
	lower, upper []byte
}

func newMergeIter(ctx context.Context, drives []Drive, lower, upper []byte) *mergeIter {
	m := allocMergeIter(len(drives))
	for i, d := range drives {
		m.open(ctx, i, d, lower, upper)
	}
	return m
}

func allocMergeIter(n int) *mergeIter {
	return &mergeIter{
		its:    make([]drive.Iter, n),
		valid:  make([]bool, n),
		errs:   make([]error, n),
		at:     make([][]byte, n),
		values: make([][]byte, n),
	}
}

// open starts drive i's iterator, recording the error if it fails.
func (m *mergeIter) open(ctx context.Context, i int, d Drive, lower, upper []byte) bool {
	it, err := d.NewIter(ctx, lower, upper)
	if err != nil {
		m.errs[i] = err
		return false
	}
	m.its[i] = it
	return true
}

// listWidth is how many drives of a set of n a listing iterates: enough
// that drives agreeing on a record are a read quorum and a strict
// majority, which is when resolveListed trusts them without asking the
// others. Every key a read quorum holds is on at least one of them, as
// any two groups of at least q drives out of n overlap when 2q > n.
func listWidth(n, q int) int { return min(n, max(q, n/2+1)) }

// newListIter opens, in every set, listWidth drives' iterators instead of
// all of them: in the healthy case they agree on every key, and reading
// the other drives' copies too is work (half as much again for 4+2)
// that changes no answer. Drives that fail to open are replaced by the
// set's others; the rest are spares, opened by widen when the iterated
// drives do not settle a key.
//
// Which drives a listing iterates rotates with spread, a hash of where
// the listing starts: a walk through a large prefix reads each page
// from the same drives every time, so each drive's block cache needs
// only its share of the pages (two thirds for 4+2), and the listing
// load is spread over all drives. Measured on 100,000 keys (see
// docs/benchmarks.md), iterating a fixed four drives was 2 to 3 times
// slower than rotating them, as each walk then missed the caches.
func (s *Store) newListIter(ctx context.Context, lower, upper []byte, spread uint64) *mergeIter {
	n := len(s.sets[0].drives())
	width := listWidth(n, s.readQuorum())
	m := allocMergeIter(n * len(s.sets))
	m.spare, m.ctx, m.lower, m.upper = make([]Drive, n*len(s.sets)), ctx, lower, upper
	for si, st := range s.sets {
		ds := st.drives()
		opened := 0
		for j := range n {
			p := int((spread + uint64(j)) % uint64(n))
			switch {
			case opened == width:
				m.spare[si*n+p] = ds[p]
			case m.open(ctx, si*n+p, ds[p], lower, upper):
				opened++
			}
		}
	}
	return m
}

// widen opens the spare drives' iterators at the current key, so that
// from here on the merge sees every drive, and reloads the current
// entry. It reports whether it opened any. A listing widens at the
// first key its iterated drives do not settle: where one drive lacks
// what the others hold (it was offline during writes, or is being
// healed) the rest of the page then costs what it did before listings
// iterated only some drives, instead of a read of the others per key.
func (m *mergeIter) widen() bool {
	opened := false
	for i, d := range m.spare {
		if d == nil {
			continue
		}
		m.spare[i] = nil
		if !m.open(m.ctx, i, d, m.lower, m.upper) {
			continue
		}
		// Positioned at or after the current key, which an iterated drive
		// holds: the current key stays the smallest.
		m.valid[i] = m.its[i].SeekGE(m.key)
		m.moved(i)
		opened = true
	}
	if opened {
		m.load()
	}
	return opened
}

// seek positions every drive at the first key >= k and loads the entry.
func (m *mergeIter) seek(k []byte) bool {
	for i, it := range m.its {
		if it == nil {
			continue
		}
		if k == nil {
			m.valid[i] = it.First()
		} else {
			m.valid[i] = it.SeekGE(k)
		}
		m.moved(i)
	}
	return m.load()
}

// next moves past the current key.
func (m *mergeIter) next() bool {
	for i, it := range m.its {
		if it != nil && m.valid[i] && bytes.Equal(m.at[i], m.key) {
			m.valid[i] = it.Next()
			m.moved(i)
		}
	}
	return m.load()
}

// moved notes where drive i's iterator is after a move, dropping it if
// it failed. The key is kept so that merging does not ask the iterator
// again (each call takes its lock): it stays valid until the next move.
func (m *mergeIter) moved(i int) {
	if m.valid[i] {
		m.at[i] = m.its[i].Key()
		return
	}
	m.at[i] = nil
	if err := m.its[i].Err(); err != nil {
		m.errs[i] = err
		m.its[i].Close()
		m.its[i] = nil
	}
}

// load finds the smallest current key and the drives that hold it.
func (m *mergeIter) load() bool {
	var smallest []byte
	for i, it := range m.its {
		if it != nil && m.valid[i] && (smallest == nil || bytes.Compare(m.at[i], smallest) < 0) {
			smallest = m.at[i]
		}
	}
	if smallest == nil {
		m.key = nil
		return false
	}
	m.key = append(m.key[:0], smallest...)
	for i, it := range m.its {
		m.values[i] = nil
		if it != nil && m.valid[i] && bytes.Equal(m.at[i], m.key) {
			m.values[i] = it.Value()
		}
	}
	return true
}

// listQuorum fails a listing when a set has lost more drives than a read
// can do without: its keys could be missing from the result.
func (s *Store) listQuorum(m *mergeIter) error {
	n := len(s.sets[0].drives())
	for i := range s.sets {
		if err := quorumError(ErrReadQuorum, m.errs[i*n:(i+1)*n], s.readQuorum()); err != nil {
			return fmt.Errorf("storage: list set %d: %w", i, err)
		}
	}
	return nil
}

func (m *mergeIter) close() {
	for _, it := range m.its {
		if it != nil {
			it.Close()
		}
	}
}

// allDrives returns every drive of every set: a key lives on one set
// only, so merging all of them lists each key once.
func (s *Store) allDrives() []Drive {
	var out []Drive
	for _, st := range s.sets {
		out = append(out, st.drives()...)
	}
	return out
}

// firstListCap is the room a listing page starts with (see ListObjects).
const firstListCap = 64

// ListObjects lists the current versions of a bucket's keys in byte
// order, rolling keys up to CommonPrefixes at the delimiter. It merges the
// drives' metadata iterators and keeps a key only where a read quorum of
// its set agrees on a version.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error) {
	var res ListResult
	if err := s.checkBucket(bucket); err != nil {
		return res, err
	}
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 || maxKeys > 1000 {
		maxKeys = 1000
	}
	base := objectKey(bucket, "")
	lower := objectKey(bucket, opts.Prefix)
	upper := prefixEnd(lower)
	start := lower
	if opts.After != "" && opts.After >= opts.Prefix {
		start = append(objectKey(bucket, opts.After), 0) // strictly after
	}
	// Small listings stay small; one that outgrows firstListCap jumps
	// to maxKeys at once instead of append doubling its way there
	// (~128 bytes an entry, twice over, on every full page).
	res.Objects = make([]ObjectInfo, 0, min(maxKeys, firstListCap))
	m := s.newListIter(ctx, lower, upper, spreadOf(start))
	defer m.close()
	if err := s.listQuorum(m); err != nil {
		return res, err
	}
	ok := m.seek(start)
	var count int
	for ok {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		key := string(m.key[len(base):])
		if opts.Delimiter != "" {
			if i := strings.Index(key[len(opts.Prefix):], opts.Delimiter); i >= 0 {
				cp := key[:len(opts.Prefix)+i+len(opts.Delimiter)]
				if cp <= opts.After {
					// The marker lies inside this prefix: it was returned before.
					ok = m.seek(prefixEnd(objectKey(bucket, cp)))
					continue
				}
				// A prefix rolls up keys that would be listed: a key no
				// read quorum holds (a write unfinished or rolled back,
				// a delete a drive missed) makes none.
				if _, found, err := s.resolveListed(ctx, m, bucket, key); err != nil {
					return res, fmt.Errorf("storage: list %s at %q: %w", bucket, key, err)
				} else if !found {
					ok = m.next()
					continue
				}
				if count == maxKeys {
					res.IsTruncated = true
					break
				}
				res.Prefixes = append(res.Prefixes, cp)
				res.NextAfter = cp
				count++
				next := prefixEnd(objectKey(bucket, cp))
				if next == nil {
					break
				}
				ok = m.seek(next)
				continue
			}
		}
		v, found, err := s.resolveListed(ctx, m, bucket, key)
		if err != nil {
			return res, fmt.Errorf("storage: list %s at %q: %w", bucket, key, err)
		}
		if found {
			if count == maxKeys {
				res.IsTruncated = true
				break
			}
			if len(res.Objects) == cap(res.Objects) && cap(res.Objects) < maxKeys {
				res.Objects = slices.Grow(res.Objects, maxKeys-len(res.Objects))
			}
			res.Objects = append(res.Objects, v.info(bucket, key))
			res.NextAfter = key
			count++
		}
		ok = m.next()
	}
	if err := s.listQuorum(m); err != nil {
		return ListResult{}, err
	}
	if !res.IsTruncated {
		res.NextAfter = ""
	}
	return res, nil
}

// spreadOf hashes a listing's start position (FNV-1a) to pick the
// drives it iterates; see newListIter.
func spreadOf(start []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range start {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// resolveListed picks the current version of the listed key from the
// drives' values at m's position. The healthy case compares the
// iterated drives' bytes and decodes once, only what a listing shows.
// Otherwise it widens the merge to every drive and tries again, and
// failing that reads the key from the drives whose iterator failed and
// applies the full rules of resolve to all of the set's copies.
func (s *Store) resolveListed(ctx context.Context, m *mergeIter, bucket, key string) (versionRecord, bool, error) {
	n := len(s.sets[0].drives())
	q := s.readQuorum()
	// A key lives on one set; find it from the first drive holding it.
	si := -1
	for i, v := range m.values {
		if v != nil {
			si = i / n
			break
		}
	}
	if si < 0 {
		return versionRecord{}, false, nil
	}
	values := m.values[si*n : (si+1)*n]
	its := m.its[si*n : (si+1)*n]
	for {
		var first []byte
		same, held, unread := 0, 0, 0
		for p, v := range values {
			if v == nil {
				if its[p] == nil {
					unread++ // not iterated, or its iterator failed
				}
				continue
			}
			held++
			if first == nil {
				first = v
			}
			if bytes.Equal(v, first) {
				same++
			}
		}
		if held+unread < q {
			return versionRecord{}, false, nil // an unfinished or rolled-back write
		}
		if same >= q && 2*same > n {
			return decodeLatest(first)
		}
		if !m.widen() {
			break
		}
	}
	raw := make([][]byte, n)
	errs := make([]error, n)
	ds := s.sets[si].drives()
	for p, v := range values {
		switch {
		case v != nil:
			raw[p] = v
		case its[p] != nil:
			errs[p] = drive.ErrNotFound // iterated: the drive has no such key
		default:
			raw[p], errs[p] = ds[p].Get(ctx, objectKey(bucket, key))
		}
	}
	rec, err := s.resolve(raw, errs)
	if errors.Is(err, ErrObjectNotFound) || errors.Is(err, ErrReadQuorum) {
		return versionRecord{}, false, nil
	}
	if err != nil {
		return versionRecord{}, false, err
	}
	v, ok := rec.latest()
	return v, ok, nil
}
