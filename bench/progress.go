package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress prints a live status line to a terminal until stopped.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// snapshot is the counters at one tick, for rates over a sliding window.
type snapshot struct {
	at    time.Time
	ops   []int64
	bytes []int64
	objs  []int64
}

// startProgress starts the status line of one phase when the run has a
// Progress writer; total, when positive, is the operation count the phase
// ends at. The line is redrawn in place (\r, erase to end of line) with
// rates over the last second, and erased by stop.
func (r *run) startProgress(ctx context.Context, phase string, names []string, lives []*liveCounter, total int64) *progress {
	p := &progress{done: make(chan struct{})}
	w := r.cfg.Progress
	if w == nil {
		return p
	}
	interval := r.cfg.ProgressInterval
	window := max(1, int(time.Second/interval))
	p.wg.Go(func() {
		start := time.Now()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		var hist []snapshot
		for {
			select {
			case <-p.done:
				fmt.Fprint(w, "\r\x1b[K")
				return
			case <-ctx.Done():
				fmt.Fprint(w, "\r\x1b[K")
				return
			case now := <-ticker.C:
				s := snapshot{at: now}
				for _, l := range lives {
					s.ops = append(s.ops, l.ops.Load())
					s.bytes = append(s.bytes, l.bytes.Load())
					s.objs = append(s.objs, l.objects.Load())
				}
				hist = append(hist, s)
				if len(hist) > window+1 {
					hist = hist[1:]
				}
				writeProgress(w, phase, now.Sub(start), names, lives, hist, total)
			}
		}
	})
	return p
}

// writeProgress draws one status line.
func writeProgress(w io.Writer, phase string, elapsed time.Duration, names []string, lives []*liveCounter, hist []snapshot, total int64) {
	var b strings.Builder
	fmt.Fprintf(&b, "\r%s %5.1fs", phase, elapsed.Seconds())
	first, last := hist[0], hist[len(hist)-1]
	dt := last.at.Sub(first.at).Seconds()
	var errs, done int64
	for i, name := range names {
		ops := last.ops[i]
		if name != opPart { // parts are inside multipart operations
			done += ops + lives[i].errors.Load()
		}
		errs += lives[i].errors.Load()
		fmt.Fprintf(&b, "  %s %d", name, ops)
		if dt > 0 {
			rate := float64(ops-first.ops[i]) / dt
			mib := float64(last.bytes[i]-first.bytes[i]) / dt / (1 << 20)
			objs := float64(last.objs[i]-first.objs[i]) / dt
			fmt.Fprintf(&b, " (%.0f/s", rate)
			if last.bytes[i] > 0 {
				fmt.Fprintf(&b, ", %.1f MiB/s", mib)
			}
			if last.objs[i] > 0 {
				fmt.Fprintf(&b, ", %.0f objects/s", objs)
			}
			b.WriteString(")")
		}
	}
	if total > 0 {
		fmt.Fprintf(&b, "  [%d/%d]", min(done, total), total)
	}
	fmt.Fprintf(&b, "  errors %d\x1b[K", errs)
	_, _ = io.WriteString(w, b.String())
}

// stop ends the status line and waits until it is erased.
func (p *progress) stop() {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
}
