package drive

import (
	"runtime"
	"sync"
	"time"
)

// freshCheck shares runs of a check among callers, giving each the
// result of a run that began after it called.
//
// The drive stats format.json after every durable write (Apply, Commit),
// with the time the write returned: pebble keeps writing into files
// unlinked by an rm -rf of the drive folder and would call the write
// durable, and only a stat begun after the write's sync proves the sync
// went to the live folder. Under load a drive finishes many commits per
// WAL sync, and each stat is a system call and a path walk (in a VM, an
// exit to the hypervisor): with 32 clients writing 4 KiB objects the six
// drives made six stats per PUT, 3.5% of the server's CPU. The commits
// one sync releases wake one after another, so the caller that starts a
// run first yields the processor once: the others, already runnable,
// reach run meanwhile and share it.
type freshCheck struct {
	mu        sync.Mutex
	cond      sync.Cond // signalled when a run finishes; L is &mu
	running   bool
	finished  bool      // some run has finished
	lastStart time.Time // when the latest finished run began
	err       error     // the latest finished run's result
}

// run returns the result of a call of check that began after run was
// called. A run in progress is waited for (and reused if it began late
// enough, which the yield below lets callers woken together arrange);
// otherwise run calls check itself.
func (f *freshCheck) run(check func() error) error {
	since := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cond.L == nil {
		f.cond.L = &f.mu
	}
	for {
		if f.finished && !f.lastStart.Before(since) {
			return f.err
		}
		if f.running {
			f.cond.Wait()
			continue
		}
		f.running = true
		f.mu.Unlock()
		// Let the callers woken with this one arrive first; whoever does
		// before start is taken shares this run.
		runtime.Gosched()
		start := time.Now()
		err := check()
		f.mu.Lock()
		f.running = false
		// Runs finish in the order they start: only one runs at a time.
		f.finished, f.lastStart, f.err = true, start, err
		f.cond.Broadcast()
	}
}
