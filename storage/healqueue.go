package storage

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// healQueue holds the objects reads found damaged, for the healer
// goroutine. It is bounded and de-duplicated: an object read a thousand
// times while damaged is queued once, and when the queue is full further
// objects are dropped (and counted) for the scanner to find on its next
// pass, so a storm of degraded reads never grows memory.
type healQueue struct {
	mu      sync.Mutex
	limit   int
	order   []healItem
	pending map[healItem]bool // queued items; true asks for a deep heal
	busy    bool
	wake    chan struct{}
	idle    *sync.Cond

	healed, failed, dropped int64
}

// healItem names one object.
type healItem struct{ bucket, key string }

func newHealQueue(limit int) *healQueue {
	q := &healQueue{limit: limit, pending: map[healItem]bool{}, wake: make(chan struct{}, 1)}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// push queues bucket/key; deep asks for every shard to be verified, not
// only the records. It never blocks.
func (q *healQueue) push(bucket, key string, deep bool) {
	it := healItem{bucket, key}
	q.mu.Lock()
	if d, ok := q.pending[it]; ok {
		q.pending[it] = d || deep
		q.mu.Unlock()
		return
	}
	if len(q.order) >= q.limit {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.pending[it] = deep
	q.order = append(q.order, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest item; ok is false when the queue is empty.
func (q *healQueue) pop() (it healItem, deep, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		q.busy = false
		q.idle.Broadcast()
		return healItem{}, false, false
	}
	it = q.order[0]
	q.order[0] = healItem{}
	q.order = q.order[1:]
	deep = q.pending[it]
	delete(q.pending, it)
	q.busy = true
	return it, deep, true
}

func (q *healQueue) done(failed bool) {
	q.mu.Lock()
	if failed {
		q.failed++
	} else {
		q.healed++
	}
	q.mu.Unlock()
}

// wait blocks until the queue is empty and no heal runs (tests).
func (q *healQueue) wait() {
	q.mu.Lock()
	for len(q.order) > 0 || q.busy {
		q.idle.Wait()
	}
	q.mu.Unlock()
}

func (q *healQueue) stats() (queued int, healed, failed, dropped int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order), q.healed, q.failed, q.dropped
}

// queueHeal asks the healer to look at bucket/key.
func (s *Store) queueHeal(bucket, key string, deep bool) {
	s.healq.push(bucket, key, deep)
}

// healTimeout bounds one heal from the queue: a hung drive must not stop
// the healer for good.
const healTimeout = 10 * time.Minute

// runHealer drains the heal queue until ctx ends, one object at a time:
// repairs are background work and must not compete with the requests
// that found the damage.
func (s *Store) runHealer(ctx context.Context) {
	for {
		it, deep, ok := s.healq.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.healq.wake:
				continue
			}
		}
		hctx, cancel := context.WithTimeout(ctx, healTimeout)
		st := s.setFor(it.bucket, it.key)
		res, err := s.healObject(hctx, st, it.bucket, it.key, deep, nil)
		cancel()
		// A heal from the queue during a pass counts toward the pass:
		// what it left a drive short of (a rolled-back completion's part
		// records given without their shards, say) must keep that
		// drive's rebuild from ending with the pass.
		s.scan.mu.Lock()
		if s.scan.status.Running {
			s.noteShort(st, res.short, err)
		}
		s.scan.mu.Unlock()
		switch {
		case err != nil && ctx.Err() != nil:
			s.healq.done(false)
			// Shutting down: drain without healing.
		case err != nil:
			s.healq.done(true)
			s.logHealFailure(it.bucket, it.key, err)
		default:
			s.healq.done(false)
			if res.Healed() {
				s.log.Info("storage: healed", "bucket", it.bucket, "key", it.key,
					"records", res.RecordsHealed, "rolled_back", res.RolledBack, "shards", res.ShardsHealed, "degraded", res.Degraded)
			}
		}
	}
}

// onlyOffline reports whether every error in errs is nil, a drive that
// is offline or the read's own cancellation: nothing a heal can repair
// now, so not worth queueing.
func onlyOffline(errs []error) bool {
	for _, e := range errs {
		if e != nil && !errors.Is(e, drive.ErrOffline) && !errors.Is(e, context.Canceled) && !errors.Is(e, context.DeadlineExceeded) {
			return false
		}
	}
	return true
}

// recordsDisagree reports whether the drives that answered hold
// different copies of a record, counting a drive without it as
// different from one with it.
func recordsDisagree(raw [][]byte, errs []error) bool {
	first := -1
	for p := range raw {
		if errs[p] != nil && !errors.Is(errs[p], drive.ErrNotFound) {
			continue
		}
		if first < 0 {
			first = p
			continue
		}
		if (raw[p] == nil) != (raw[first] == nil) || !bytes.Equal(raw[p], raw[first]) {
			return true
		}
	}
	return false
}

// logHealFailure logs a failed heal: at error when the object's data is
// lost (fewer good shards than a read needs), since nothing will bring it
// back and an operator must restore it; at warn otherwise (a drive
// silent, a passing error), which a later heal may mend.
func (s *Store) logHealFailure(bucket, key string, err error) {
	if errors.Is(err, ErrDataCorrupt) {
		s.log.Error("storage: object lost: fewer good shards than a read needs", "bucket", bucket, "key", key, "err", err)
		return
	}
	s.log.Warn("storage: heal failed", "bucket", bucket, "key", key, "err", err)
}
