package storage

import "sync"

// readPins counts the reads in flight of each object key, from
// OpenObject to the reader's Close, so that the data of a version an
// overwrite or a delete replaced is removed only once no read that may
// have begun before the change remains. A GET opens a multipart
// object's parts one after another, and must still find the last part
// of the version it began with after an overwrite committed.
//
// A read registers before it reads the object's record. A removal runs
// after the change reached its write quorum, so a read that registers
// after the removal looked finds the new record (a read quorum and a
// write quorum share a drive that has it); one that registered before
// holds the removal back until it is done. Removals held back are lost
// in a crash: the data is then an orphan, which the start-up scan (and
// the scanner, after OrphanGrace) removes.
type readPins struct {
	mu      sync.Mutex
	readers map[string]int      // key: reads in flight
	later   map[string][]func() // key: removals waiting for its reads
	waiting map[string]int      // data id: removals of it waiting (the scanner leaves these alone)
}

func pinKey(bucket, key string) string { return bucket + "\x00" + key }

// acquire registers a read of bucket/key.
func (p *readPins) acquire(bucket, key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readers == nil {
		p.readers = map[string]int{}
	}
	p.readers[pinKey(bucket, key)]++
}

// release ends a read of bucket/key; the last read of a key runs the
// removals that waited for it, in the background.
func (p *readPins) release(bucket, key string) {
	k := pinKey(bucket, key)
	p.mu.Lock()
	p.readers[k]--
	if p.readers[k] > 0 {
		p.mu.Unlock()
		return
	}
	delete(p.readers, k)
	run := p.later[k]
	delete(p.later, k)
	p.mu.Unlock()
	if len(run) > 0 {
		go func() {
			for _, fn := range run {
				fn()
			}
		}()
	}
}

// removeAfterReads runs remove now if no read of bucket/key is in
// flight, else once the last of them ends. ids are the data ids remove
// deletes, which the scanner must not take for orphans meanwhile.
func (p *readPins) removeAfterReads(bucket, key string, ids []string, remove func()) {
	k := pinKey(bucket, key)
	p.mu.Lock()
	if p.readers[k] == 0 {
		p.mu.Unlock()
		remove()
		return
	}
	if p.later == nil {
		p.later, p.waiting = map[string][]func(){}, map[string]int{}
	}
	for _, id := range ids {
		p.waiting[id]++
	}
	p.later[k] = append(p.later[k], func() {
		remove()
		p.mu.Lock()
		for _, id := range ids {
			if p.waiting[id]--; p.waiting[id] <= 0 {
				delete(p.waiting, id)
			}
		}
		p.mu.Unlock()
	})
	p.mu.Unlock()
}

// busy reports whether a read of bucket/key is in flight.
func (p *readPins) busy(bucket, key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readers[pinKey(bucket, key)] > 0
}

// held reports whether the removal of data id waits for reads.
func (p *readPins) held(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting[id] > 0
}
