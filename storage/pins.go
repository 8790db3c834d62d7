package storage

import "sync"

// readPins tracks the reads in flight of each object key, from
// OpenObject to the reader's Close, so that the data of a version an
// overwrite or a delete replaced is removed only once every read that
// may have begun before the change is done. A GET opens a multipart
// object's parts one after another, and must still find the last part
// of the version it began with after an overwrite committed.
//
// A read registers before it reads the object's record. A removal runs
// after the change reached its write quorum, so a read that registers
// after the removal looked finds the new record (a read quorum and a
// write quorum share a drive that has it); the reads registered before
// hold the removal back. Reads are counted by epoch, and a removal
// starts a new one, so later reads of a key read all the time do not
// hold it back for ever. Removals held back are lost in a crash: the
// data is then an orphan, which the start-up scan (and the scanner,
// after OrphanGrace) removes.
type readPins struct {
	mu      sync.Mutex
	keys    map[pinKey]*keyReads
	waiting map[string]int // data id: removals of it held back (the scanner leaves these alone)
}

type pinKey struct{ bucket, key string }

// keyReads are the reads in flight of one key and the removals they
// hold back.
type keyReads struct {
	epoch   uint64         // the epoch new reads join
	reads   map[uint64]int // epoch: reads in flight
	pending []heldRemoval  // by epoch, oldest first
}

// heldRemoval waits for the reads of epochs up to before.
type heldRemoval struct {
	before uint64
	ids    []string
	run    func()
}

// acquire registers a read of bucket/key and returns its epoch, for
// release.
func (p *readPins) acquire(bucket, key string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := pinKey{bucket, key}
	kr := p.keys[k]
	if kr == nil {
		if p.keys == nil {
			p.keys = map[pinKey]*keyReads{}
		}
		kr = &keyReads{reads: map[uint64]int{}}
		p.keys[k] = kr
	}
	kr.reads[kr.epoch]++
	return kr.epoch
}

// release ends a read of bucket/key that acquire registered in epoch,
// and returns the removals no read holds back any more, for the caller
// to run.
func (p *readPins) release(bucket, key string, epoch uint64) []func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := pinKey{bucket, key}
	kr := p.keys[k]
	if kr.reads[epoch]--; kr.reads[epoch] == 0 {
		delete(kr.reads, epoch)
	}
	oldest, reading := uint64(0), false
	for e := range kr.reads {
		if !reading || e < oldest {
			oldest, reading = e, true
		}
	}
	var run []func()
	for len(kr.pending) > 0 && (!reading || oldest > kr.pending[0].before) {
		hr := kr.pending[0]
		kr.pending = kr.pending[1:]
		for _, id := range hr.ids {
			if p.waiting[id]--; p.waiting[id] <= 0 {
				delete(p.waiting, id)
			}
		}
		run = append(run, hr.run)
	}
	if !reading && len(kr.pending) == 0 {
		delete(p.keys, k)
	}
	return run
}

// removeAfterReads runs remove now if no read of bucket/key is in
// flight, else once the reads in flight now have ended (release returns
// it then). ids are the data ids remove deletes, which the scanner must
// not take for orphans meanwhile.
func (p *readPins) removeAfterReads(bucket, key string, ids []string, remove func()) {
	p.mu.Lock()
	kr := p.keys[pinKey{bucket, key}]
	if kr == nil || len(kr.reads) == 0 {
		p.mu.Unlock()
		remove()
		return
	}
	if p.waiting == nil {
		p.waiting = map[string]int{}
	}
	for _, id := range ids {
		p.waiting[id]++
	}
	kr.pending = append(kr.pending, heldRemoval{before: kr.epoch, ids: ids, run: remove})
	kr.epoch++
	p.mu.Unlock()
}

// held reports whether the removal of data id waits for reads.
func (p *readPins) held(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting[id] > 0
}
