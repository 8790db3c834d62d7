package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	key    []byte
	values [][]byte // per drive, nil where the drive lacks the key
}

func newMergeIter(ctx context.Context, drives []Drive, lower, upper []byte) *mergeIter {
	m := &mergeIter{
		its:    make([]drive.Iter, len(drives)),
		valid:  make([]bool, len(drives)),
		errs:   make([]error, len(drives)),
		values: make([][]byte, len(drives)),
	}
	for i, d := range drives {
		it, err := d.NewIter(ctx, lower, upper)
		if err != nil {
			m.errs[i] = err
			continue
		}
		m.its[i] = it
	}
	return m
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
		m.checkErr(i)
	}
	return m.load()
}

// next moves past the current key.
func (m *mergeIter) next() bool {
	for i, it := range m.its {
		if it != nil && m.valid[i] && bytes.Equal(it.Key(), m.key) {
			m.valid[i] = it.Next()
			m.checkErr(i)
		}
	}
	return m.load()
}

func (m *mergeIter) checkErr(i int) {
	if !m.valid[i] {
		if err := m.its[i].Err(); err != nil {
			m.errs[i] = err
			m.its[i].Close()
			m.its[i] = nil
		}
	}
}

// load finds the smallest current key and the drives that hold it.
func (m *mergeIter) load() bool {
	var smallest []byte
	for i, it := range m.its {
		if it != nil && m.valid[i] && (smallest == nil || bytes.Compare(it.Key(), smallest) < 0) {
			smallest = it.Key()
		}
	}
	if smallest == nil {
		m.key = nil
		return false
	}
	m.key = append(m.key[:0], smallest...)
	for i, it := range m.its {
		m.values[i] = nil
		if it != nil && m.valid[i] && bytes.Equal(it.Key(), m.key) {
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
	m := newMergeIter(ctx, s.allDrives(), lower, upper)
	defer m.close()
	if err := s.listQuorum(m); err != nil {
		return res, err
	}
	start := lower
	if opts.After != "" && opts.After >= opts.Prefix {
		start = append(objectKey(bucket, opts.After), 0) // strictly after
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
		v, found, err := s.resolveListed(m.values)
		if err != nil {
			return res, fmt.Errorf("storage: list %s at %q: %w", bucket, key, err)
		}
		if found {
			if count == maxKeys {
				res.IsTruncated = true
				break
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

// resolveListed picks the current version of one listed key from the
// drives' values. The healthy case compares bytes and decodes once.
func (s *Store) resolveListed(values [][]byte) (versionRecord, bool, error) {
	q := s.readQuorum()
	var first []byte
	same, held := 0, 0
	for _, v := range values {
		if v == nil {
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
	if held < q {
		return versionRecord{}, false, nil // an unfinished or rolled-back write
	}
	if same >= q && 2*same > len(values) {
		rec, err := decodeObject(first, false)
		if err != nil {
			return versionRecord{}, false, err
		}
		v, ok := rec.latest()
		return v, ok, nil
	}
	errs := make([]error, len(values))
	raw := make([][]byte, len(values))
	for i, v := range values {
		if v == nil {
			errs[i] = drive.ErrNotFound
		} else {
			raw[i] = v
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
