package storage

import "bytes"

// The rules that decide, from the drives' copies of one object record,
// which versions exist. Reads (resolve) and heals (planRecords) use the
// same rules, so a heal only ever makes permanent what reads already see.
//
// A version is identified by its version id and data id. It is visible
// when a read quorum of drives holds it. A version held by so few drives
// that even every silent drive could not lift it to a write quorum was
// never acknowledged: it is an unfinished write, to be rolled back. A
// drive holding an unfinished write still vouches for the version that
// write replaced (versionRecord.Replaces): a crash between the commits
// of an overwrite that reached half the drives leaves the old version
// visible, held by half and vouched for by the other half. Anything else
// (held thinly, but silent drives might hold it too) is ambiguous: left
// alone, and while nothing else of its key is visible reads fail with
// ErrReadQuorum rather than answer "not found".

// versionTally counts the drives holding one version (version id and
// data id), per variant: the same version with other metadata, after an
// UpdateMetadata that did not reach every drive.
type versionTally struct {
	id       [2]string
	holders  int
	variants []*versionVariant
}

type versionVariant struct {
	v     versionRecord
	enc   []byte
	count int
}

// best is the variant most drives hold; on a tie the newest (an update
// sets ModTime), then the larger encoding, so every caller picks the same.
func (t *versionTally) best() *versionVariant {
	best := t.variants[0]
	for _, va := range t.variants[1:] {
		if va.count > best.count || (va.count == best.count && (va.v.ModTime > best.v.ModTime ||
			(va.v.ModTime == best.v.ModTime && bytes.Compare(va.enc, best.enc) > 0))) {
			best = va
		}
	}
	return best
}

// tallyVersions counts the versions of the drives' records (nil: a drive
// that did not answer), in the order first seen.
func tallyVersions(recs []*objectRecord) []*versionTally {
	byID := map[[2]string]*versionTally{}
	var out []*versionTally
	for _, r := range recs {
		if r == nil {
			continue
		}
		for _, v := range r.Versions {
			id := [2]string{v.VersionID, v.DataID}
			t, ok := byID[id]
			if !ok {
				t = &versionTally{id: id}
				byID[id] = t
				out = append(out, t)
			}
			t.holders++
			one := objectRecord{Versions: []versionRecord{v}}
			enc := one.encode()
			found := false
			for _, va := range t.variants {
				if bytes.Equal(va.enc, enc) {
					va.count++
					found = true
					break
				}
			}
			if !found {
				t.variants = append(t.variants, &versionVariant{v: v, enc: enc, count: 1})
			}
		}
	}
	return out
}

// recordView is what the drives' copies of one object record say.
type recordView struct {
	visible    []versionRecord // newest first
	superseded []versionRecord // held by a quorum, but a newer visible version has its version id
	rolledBack []versionRecord // unfinished writes that cannot have been acknowledged
	ambiguous  map[[2]string]bool
	// uncertain: nothing is visible, but an ambiguous version may be
	// once the silent drives answer.
	uncertain bool
}

// classify applies the rules to the drives' records (nil: a drive that
// did not answer or whose record is unreadable, counted in unknown).
func classify(recs []*objectRecord, unknown, q, wq int) recordView {
	const (
		visible = iota
		rolledBack
		ambiguous
	)
	tallies := tallyVersions(recs)
	byID := make(map[[2]string]*versionTally, len(tallies))
	status := make(map[[2]string]int, len(tallies))
	for _, t := range tallies {
		byID[t.id] = t
		switch {
		case t.holders >= q:
			status[t.id] = visible
		case t.holders+unknown < wq:
			status[t.id] = rolledBack
		default:
			status[t.id] = ambiguous
		}
	}
	votes := map[[2]string]int{}
	for _, r := range recs {
		if r == nil {
			continue
		}
		for _, v := range r.Versions {
			if status[[2]string{v.VersionID, v.DataID}] != rolledBack || v.Replaces == "" {
				continue
			}
			if rid := [2]string{v.VersionID, v.Replaces}; byID[rid] != nil {
				votes[rid]++
			}
		}
	}
	var view recordView
	view.ambiguous = map[[2]string]bool{}
	newest := map[string]versionRecord{} // by version id
	var shown []versionRecord
	for _, t := range tallies {
		st := status[t.id]
		if st != visible && t.holders+votes[t.id] >= q {
			st = visible // restored: its replacement never finished
		}
		switch st {
		case visible:
			v := t.best().v
			shown = append(shown, v)
			if cur, ok := newest[v.VersionID]; !ok || v.ModTime > cur.ModTime || (v.ModTime == cur.ModTime && v.DataID > cur.DataID) {
				newest[v.VersionID] = v
			}
		case rolledBack:
			view.rolledBack = append(view.rolledBack, t.variants[0].v)
		default:
			view.ambiguous[t.id] = true
		}
	}
	for _, v := range shown {
		if n := newest[v.VersionID]; n.DataID == v.DataID {
			view.visible = append(view.visible, v)
		} else {
			view.superseded = append(view.superseded, v)
		}
	}
	sortVersions(view.visible)
	view.uncertain = len(view.visible) == 0 && len(view.ambiguous) > 0
	return view
}
