package drive

import "sync"

// freshCheck shares one run of a check among the callers that want its
// answer at the same time, while still giving every caller the result of
// a run that began after it asked.
//
// The drive stats format.json after every durable write (Apply, Commit):
// only a stat taken after the fsync proves the fsync did not go to files
// unlinked by an rm -rf of the drive folder. Under load a drive finishes
// many commits per WAL sync, and each stat is a system call and a path
// walk (in a VM, an exit to the hypervisor): with 32 clients writing 4 KiB
// objects the six drives made six stats per PUT, 3.5% of the server's
// CPU. Commits that finish together now share the first stat begun after
// the last of them finished, which proves the same thing for each.
type freshCheck struct {
	mu      sync.Mutex
	cond    sync.Cond // signalled when a run finishes; L is &mu
	started uint64    // runs begun
	done    uint64    // the number of the latest finished run
	running bool
	err     error // the result of run number done
}

// run returns the result of a call of check that started after run was
// called. If a call is in progress it began too early: run waits for it
// and then starts (or joins) the next one.
func (f *freshCheck) run(check func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cond.L == nil {
		f.cond.L = &f.mu
	}
	want := f.started + 1
	for f.done < want {
		if f.running {
			f.cond.Wait()
			continue
		}
		f.running = true
		f.started++
		n := f.started
		f.mu.Unlock()
		err := check()
		f.mu.Lock()
		f.running = false
		f.done, f.err = n, err
		f.cond.Broadcast()
	}
	return f.err
}
