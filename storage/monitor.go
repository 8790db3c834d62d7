package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// watchDrives looks at the drives that are offline every
// DriveCheckInterval and brings each back when its folder is usable
// again: the same drive remounted, or an empty folder put in place of a
// failed one, which is formatted with the identity the position expects.
// A drive of another cluster or position is refused (and logged once).
// Every drive that comes back gets the bucket records, then a heal pass
// restores its shards and object records.
func (s *Store) watchDrives(ctx context.Context) {
	t := time.NewTicker(s.cfg.DriveCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		back := s.checkDrives(ctx)
		// Before the bucket heal, which leaves alone a bucket that is
		// held widely but not in the list.
		s.reloadBuckets(ctx)
		if back > 0 {
			s.owePass()
			if err := s.healBuckets(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("storage: heal bucket records", "err", err)
			}
			s.requestPass()
		}
	}
}

// A drive that fails again soon after coming back (a metadata store
// corrupt in a place only some reads reach, say) would come back at every
// check, each time starting a heal pass over everything and logging its
// failure. Within flapWindow of its last return, each failure doubles the
// wait before the drive is tried again, from flapBase up to flapMaxWait.
const (
	flapWindow  = 10 * time.Minute
	flapBase    = 5 * time.Second
	flapMaxWait = 10 * time.Minute
)

// flapState is what the watcher knows of a drive that came back.
type flapState struct {
	back     time.Time // when it last came back
	failures int       // failures soon after a return, in a row
	next     time.Time // not tried again before
}

// flapped records a failure of the drive at path: one soon after its
// last return makes the watcher wait before trying it again.
func (s *Store) flapped(path string, now time.Time, err error) {
	f := s.flaps[path]
	if f == nil {
		return // never came back: nothing to hold off
	}
	if now.Sub(f.back) > flapWindow {
		delete(s.flaps, path)
		return
	}
	f.failures++
	wait := min(flapBase<<min(f.failures-1, 16), flapMaxWait)
	f.next = now.Add(wait)
	s.log.Warn("storage: drive failed again soon after coming back; trying it less often", "path", path,
		"failures", f.failures, "next_try_in", wait, "err", err)
}

// checkDrives tries to bring back every offline drive and returns how
// many came back.
func (s *Store) checkDrives(ctx context.Context) int {
	back := 0
	now := s.cfg.Now()
	for i, st := range s.sets {
		for p, d := range st.drives() {
			if ctx.Err() != nil {
				return back
			}
			path := d.Info().Path
			_, offline := d.(offlineDrive)
			if f := s.flaps[path]; f != nil && (offline || s.down[path]) && now.Before(f.next) {
				continue // failed soon after its last return: wait
			}
			if !offline {
				err := d.Check(ctx)
				if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
					// The process (or the system) is out of file
					// descriptors: no fault of this drive, and counting
					// it failed would start a heal pass over every object
					// once descriptors are back. Writes it missed
					// meanwhile are queued for repair one by one.
					s.log.Warn("storage: drive check could not open a file: out of file descriptors (raise ulimit -n)", "path", path, "err", err)
					continue
				}
				if err == nil && s.down[path] {
					// Usable again; but is it the same drive? (Another
					// folder moved in could look like it to the checks.)
					if fm, ferr := drive.ReadFormat(path); ferr != nil || fm.DriveID != d.Info().Format.DriveID {
						err = fmt.Errorf("%w: another drive is in its folder now", drive.ErrOffline)
					}
				}
				if err == nil {
					if s.down[path] {
						// Back by itself (space freed, folder back on the
						// same file system): it missed writes meanwhile.
						delete(s.down, path)
						delete(s.refused, path)
						s.cameBack(path, now)
						s.log.Warn("storage: drive back online; healing it", "path", path, "set", i, "position", p)
						back++
					}
					continue
				}
				if !s.down[path] {
					s.down[path] = true
					s.rebuildAgain(path)
					s.log.Warn("storage: drive failed its check", "path", path, "set", i, "position", p, "err", err)
					s.flapped(path, now, err)
					if f := s.flaps[path]; f != nil && now.Before(f.next) {
						continue // no reopen either until then
					}
				}
				if !errors.Is(err, drive.ErrMetadataFailed) && (!errors.Is(err, drive.ErrOffline) || errors.Is(err, drive.ErrDiskFull) ||
					errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EIO)) {
					// Full, a passing error, or a device that reports
					// errors: a reopen mends none of them, and a
					// read-only or failing drive may still serve reads.
					// A failed metadata store serves nothing until it is
					// reopened, which is tried at every check: Open
					// refuses it while its disk is still far too full.
					continue
				}
			}
			if s.reopenDrive(ctx, st, p, d, s.expect[i][p]) {
				back++
			}
		}
	}
	return back
}

// reopenDrive replaces the offline drive d at position p of st by the
// drive its folder holds now, when that folder is this position's drive
// or empty. It reports whether it did.
func (s *Store) reopenDrive(ctx context.Context, st *set, p int, d Drive, want drive.Format) bool {
	path := d.Info().Path
	// refuse keeps the drive offline and says why: to DriveStates every
	// time (the offline drive may have been replaced since), in the log
	// once per reason (err, which may hold changing figures, aside).
	refuse := func(reason string, err error, args ...any) {
		why := refusal(reason, err)
		if err != nil {
			args = append(args, "err", err)
		}
		if o, ok := st.drives()[p].(offlineDrive); ok && o.why != why {
			o.why = why
			st.replace(p, o)
		}
		if s.refused[path] == reason {
			return
		}
		s.refused[path] = reason
		s.log.Error("storage: "+reason, append([]any{"path", path, "set", want.Set, "position", want.Position}, args...)...)
	}
	if _, err := os.Stat(path); err != nil {
		refuse("drive folder missing; the drive stays offline until an empty folder or the drive is put back", nil)
		return false
	}
	fm, err := drive.ReadFormat(path)
	fresh := errors.Is(err, drive.ErrUnformatted)
	switch {
	case errors.Is(err, drive.ErrUnformatted):
		// An empty folder in place of a failed drive. It is formatted
		// only once two checks in a row found the same empty folder: a
		// folder in the middle of an rm -rf is neither.
		fi, ok := emptyFolder(path)
		prev, seen := s.empty[path]
		if !ok {
			delete(s.empty, path)
			refuse("drive folder holds files but no format; it stays offline", nil)
			return false
		}
		s.empty[path] = fi
		if !seen || !os.SameFile(prev, fi) {
			return false
		}
		if held := s.holdersBesides(st, p); held < s.cfg.DataShards {
			refuse(errTooFewHolders+"; it stays offline until the set's disks are back", nil,
				"holding", held, "needed", s.cfg.DataShards)
			return false
		}
	case err != nil:
		refuse("drive unreadable; it stays offline", err)
		return false
	case fm.ClusterID != want.ClusterID:
		refuse("refusing a drive of another cluster put in place of a failed drive", nil, "disk_cluster", fm.ClusterID, "want_cluster", want.ClusterID)
		return false
	case fm.Set != want.Set || fm.Position != want.Position:
		refuse("refusing a drive of this cluster formatted for another position", nil, "disk_set", fm.Set, "disk_position", fm.Position)
		return false
	}
	// The old drive must be closed first: its pebble database holds the
	// folder's lock even after the folder was removed.
	if err := d.Close(); err != nil {
		s.log.Warn("storage: close failed drive", "path", path, "err", err)
	}
	delete(s.empty, path)
	if fresh {
		// The mark goes first: a crash between the format and a mark
		// written after it would leave an empty drive that a restart
		// counts as holding the set's data.
		if err := writeSynced(filepath.Join(path, rebuildingFile)); err != nil {
			const why = "cannot mark the empty folder as being rebuilt; it stays offline"
			st.replace(p, offlineDrive{info: drive.Info{Path: path, Format: want}, why: refusal(why, err)})
			refuse(why, err)
			return false
		}
	}
	// A formatted folder still carrying the mark (a format whose open
	// failed after format.json, a root-fs mount point revealed again)
	// holds nothing yet, whatever branch brought it here.
	rebuild := fresh || isRebuilding(path)
	opts := driveOptions(s.log, s.load)
	opts.NoCreate = true
	nd, err := s.reopen(path, want, opts)
	if err != nil {
		st.replace(p, offlineDrive{info: drive.Info{Path: path, Format: want}, why: refusal("drive refused; it stays offline", err)})
		refuse("drive refused; it stays offline", err)
		return false
	}
	checkErr := nd.Check(ctx)
	full := errors.Is(checkErr, drive.ErrDiskFull) && !errors.Is(checkErr, drive.ErrMetadataFailed)
	if checkErr != nil && !full {
		nd.Close()
		st.replace(p, offlineDrive{info: drive.Info{Path: path, Format: want}, why: refusal("reopened drive is not usable; it stays offline", checkErr)})
		refuse("reopened drive is not usable; it stays offline", checkErr)
		return false
	}
	st.replace(p, nd)
	delete(s.refused, path)
	delete(s.down, path)
	if rebuild {
		s.markRebuilding(path)
	}
	if full {
		// Open only refuses a disk far below its reserve. One just below
		// it is kept, as a full drive: it serves reads and the deletes
		// that free it, and is healed once its check passes again
		// (closing it and opening it anew at every check would replay
		// its log on a nearly full disk, for nothing).
		s.down[path] = true
		s.log.Warn("storage: drive reopened, but below its space reserve: it takes no new data until space is freed", "path", path, "set", want.Set, "position", want.Position, "err", checkErr)
		return false
	}
	what := "drive back online"
	if fresh {
		what = "empty folder formatted in place of a failed drive"
		delete(s.flaps, path) // a new disk: the old one's failures are not its own
	}
	s.cameBack(path, s.cfg.Now())
	s.log.Warn(fmt.Sprintf("storage: %s; healing it", what), "path", path, "set", want.Set, "position", want.Position, "drive_id", nd.Info().Format.DriveID)
	s.checkZones(want.Set, st.drives())
	return true
}

// refusal is the reason DriveStates shows for a drive kept offline.
func refusal(reason string, err error) string {
	if err != nil {
		return reason + ": " + err.Error()
	}
	return reason
}

// holdersBesides counts the drives of st, other than position p, that
// are online and hold the set's data: not offline, not failing their
// checks, not themselves formatted in place and still being rebuilt.
// An empty folder is formatted in place of a failed drive only while a
// read quorum of them remains. A heal can then rebuild it, and the new
// drive's "no record" never decides an object's fate: with fewer, a set
// whose disks are not mounted (each an empty mount point) would be
// formatted anew, and the heal would roll back as unfinished every
// object the missing disks held, on the drives that still hold it.
func (s *Store) holdersBesides(st *set, p int) int {
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	n := 0
	for q, d := range st.drives() {
		path := d.Info().Path
		if _, offline := d.(offlineDrive); q == p || offline || s.down[path] {
			continue
		}
		if _, rebuilding := s.scan.rebuilding[path]; rebuilding {
			continue
		}
		n++
	}
	return n
}

// rebuildingFile, in a drive's folder, says that the drive was formatted
// in place of a failed one and that no heal pass has filled it since, so
// that a restart does not count it as holding the set's data.
const rebuildingFile = drive.RebuildMark

// markRebuilding records that the drive at path was formatted in place
// of a failed one and holds nothing yet, in memory and in its folder (or
// that it missed a write: it holds not everything). It reports whether it
// did anything: not when the drive already waits for a pass that starts
// after the current one.
func (s *Store) markRebuilding(path string) bool {
	s.scan.mu.Lock()
	if s.scan.rebuilding == nil {
		s.scan.rebuilding = map[string]int{}
	}
	if pass, ok := s.scan.rebuilding[path]; ok && pass == s.scan.status.Pass {
		s.scan.mu.Unlock()
		return false // marked already, waiting for the same pass
	}
	s.scan.rebuilding[path] = s.scan.status.Pass
	s.scan.mu.Unlock()
	if err := writeSynced(filepath.Join(path, rebuildingFile)); err != nil {
		s.log.Warn("storage: mark a drive as being rebuilt (a restart before its heal pass ends will count it as holding data)", "path", path, "err", err)
	}
	return true
}

// rebuildAgain makes a drive being rebuilt that went offline wait for a
// pass that starts after now: the one running may miss what it was
// given meanwhile.
func (s *Store) rebuildAgain(path string) {
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	if _, ok := s.scan.rebuilding[path]; ok {
		s.scan.rebuilding[path] = s.scan.status.Pass
	}
}

// rebuilt ends the rebuild of the drive at path; s.scan.mu is held.
func (s *Store) rebuilt(path string) {
	delete(s.scan.rebuilding, path)
	if err := os.Remove(filepath.Join(path, rebuildingFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("storage: clear a drive's rebuild mark", "path", path, "err", err)
	}
}

// beingRebuilt reports whether the drive at path was formatted in place
// of a failed one and awaits the heal pass that fills it.
func (s *Store) beingRebuilt(path string) bool {
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	_, ok := s.scan.rebuilding[path]
	return ok
}

// isRebuilding reports whether the drive folder at path holds the mark
// of a rebuild no heal pass has finished.
func isRebuilding(path string) bool {
	_, err := os.Stat(filepath.Join(path, rebuildingFile))
	return err == nil
}

// writeSynced creates an empty file at path, durably.
func writeSynced(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// emptyFolder reports whether path is a folder holding nothing (a fresh
// file system's lost+found, and the rebuild mark, the empty data/ and the
// tmp/ holding at most a staged format-*.json of a format that was
// interrupted, aside), with its FileInfo. A format cut short is finished
// by the next one; any other file in tmp/ belongs to a used drive.
func emptyFolder(path string) (os.FileInfo, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return nil, false
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		switch e.Name() {
		case "lost+found", rebuildingFile:
		case "data":
			if sub, err := os.ReadDir(filepath.Join(path, e.Name())); err != nil || len(sub) > 0 {
				return nil, false
			}
		case "tmp":
			sub, err := os.ReadDir(filepath.Join(path, e.Name()))
			if err != nil {
				return nil, false
			}
			for _, f := range sub {
				if name := f.Name(); !strings.HasPrefix(name, "format-") || !strings.HasSuffix(name, ".json") {
					return nil, false
				}
			}
		default:
			return nil, false
		}
	}
	return fi, true
}

// cameBack notes that the drive at path came back at now.
func (s *Store) cameBack(path string, now time.Time) {
	f := s.flaps[path]
	if f == nil {
		f = &flapState{}
		s.flaps[path] = f
	}
	f.back = now
}
