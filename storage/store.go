package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/objstore/objstore/erasure"
	"github.com/objstore/objstore/storage/drive"
)

// DriveConfig names one local drive folder and the zone it lies in.
type DriveConfig struct {
	Path string
	Zone string
}

// Config configures a Store over local drive folders.
type Config struct {
	// Drives are grouped into erasure sets of DataShards+ParityShards in
	// order; len(Drives) must be a multiple of that.
	Drives []DriveConfig
	// DataShards and ParityShards: the erasure layout of new objects.
	DataShards   int
	ParityShards int
	// BlockSize is the erasure block, in bytes of body; default 1 MiB.
	BlockSize int
	// InlineLimit: bodies up to this size are kept in the drives'
	// metadata instead of files; default 128 KiB, negative disables.
	InlineLimit int
	// Logger receives the layer's events; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// ScanInterval is how soon a new full heal pass starts after the
	// last one ended; 0 means DefaultScanInterval (24h), negative
	// disables periodic passes (StartHeal and Heal still run one).
	ScanInterval time.Duration
	// ScanObjectsPerSecond and ScanBytesPerSecond bound a pass: objects
	// checked and shard bytes read per second. 0 means the defaults (100
	// and 50 MiB), negative unbounded.
	ScanObjectsPerSecond float64
	ScanBytesPerSecond   float64
	// OrphanGrace: data directories and staging files no metadata names
	// are removed by a pass only once they are older than this, so that
	// writes in flight are never taken for leftovers; default 1h.
	OrphanGrace time.Duration
	// DriveCheckInterval is how often drives that are offline are looked
	// at, to bring them back or format an empty folder put in their
	// place; default 5s, negative disables. Only a Store made by Open
	// replaces drives.
	DriveCheckInterval time.Duration
	// HealQueueSize bounds the queue of objects reads found damaged;
	// default 10,000. When it is full, the next pass finds the rest.
	HealQueueSize int
}

func (c *Config) ensureDefaults() {
	if c.BlockSize == 0 {
		c.BlockSize = 1 << 20
	}
	if c.InlineLimit == 0 {
		c.InlineLimit = 128 << 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ScanInterval == 0 {
		c.ScanInterval = DefaultScanInterval
	}
	if c.ScanObjectsPerSecond == 0 {
		c.ScanObjectsPerSecond = DefaultScanObjectsPerSecond
	}
	if c.ScanBytesPerSecond == 0 {
		c.ScanBytesPerSecond = DefaultScanBytesPerSecond
	}
	if c.OrphanGrace <= 0 {
		c.OrphanGrace = DefaultOrphanGrace
	}
	if c.DriveCheckInterval == 0 {
		c.DriveCheckInterval = DefaultDriveCheckInterval
	}
	if c.HealQueueSize <= 0 {
		c.HealQueueSize = DefaultHealQueueSize
	}
}

// Validate reports the first bad field.
func (c *Config) Validate() error {
	n := c.DataShards + c.ParityShards
	switch {
	case c.DataShards < 1:
		return fmt.Errorf("storage: config: DataShards %d must be at least 1", c.DataShards)
	case c.ParityShards < 1:
		return fmt.Errorf("storage: config: ParityShards %d must be at least 1", c.ParityShards)
	case n > 256:
		return fmt.Errorf("storage: config: DataShards+ParityShards %d exceeds 256", n)
	case c.ParityShards > c.DataShards:
		// A write needs k drives (k+1 when k == m) and a read k: with
		// m > k, k drives that took a write and k others that a read
		// asks need not meet, and the read misses the acknowledged write.
		return fmt.Errorf("storage: config: ParityShards %d exceeds DataShards %d: a write quorum would not meet every read quorum", c.ParityShards, c.DataShards)
	case len(c.Drives) == 0 || len(c.Drives)%n != 0:
		return fmt.Errorf("storage: config: %d drives is not a multiple of the set size %d", len(c.Drives), n)
	case c.BlockSize < c.DataShards:
		return fmt.Errorf("storage: config: BlockSize %d smaller than DataShards", c.BlockSize)
	case c.InlineLimit > 1<<20:
		return fmt.Errorf("storage: config: InlineLimit %d exceeds 1 MiB", c.InlineLimit)
	}
	seen := make(map[string]bool)
	for i, d := range c.Drives {
		if d.Path == "" {
			return fmt.Errorf("storage: config: Drives[%d].Path is empty", i)
		}
		if seen[d.Path] {
			return fmt.Errorf("storage: config: Drives[%d].Path %q listed twice", i, d.Path)
		}
		seen[d.Path] = true
	}
	return nil
}

// Store is the object layer: buckets, objects, versions and multipart
// uploads over erasure sets of drives. It is safe for concurrent use.
type Store struct {
	cfg  Config
	log  *slog.Logger
	sets []*set

	locks [lockStripes]sync.Mutex // per-key commit locks, striped (lockStripe)
	// bucketRecLocks make the writes of one bucket's record (create,
	// delete, settings, heal) run one after another; bucketLocks keep
	// the writes that create something in a bucket (shared) from
	// overlapping its deletion (exclusive). Both are striped by bucket
	// name (bucketStripe) and taken in that order, before any commit
	// lock, never under one.
	bucketRecLocks [lockStripes]sync.Mutex
	bucketLocks    [lockStripes]sync.RWMutex
	// creating holds the ids of the uploads whose creation is writing
	// its records (NewMultipartUpload), changed under the object's
	// commit lock: a heal leaves them alone.
	creatingMu sync.Mutex
	creating   map[string]bool
	// healLocks make the heals of one key (the queue's, a pass's, an
	// admin's) run one after another, end to end, striped like locks.
	healLocks [lockStripes]chan struct{}

	codecMu sync.Mutex
	codecs  map[[3]int]*erasure.Codec

	bucketMu sync.RWMutex
	buckets  map[string]bucketRecord
	// bucketsPartial is set while some set's bucket records could not be
	// read (fewer drives than a read quorum answered, at start: disks
	// not mounted yet): buckets may then exist that are not in buckets,
	// so a name not found is unknown, not missing. The drive watcher
	// reads them again until they are whole (reloadBuckets).
	bucketsPartial atomic.Bool
	// bucketGen counts the changes of buckets' membership (MakeBucket,
	// DeleteBucket), so that a reload does not bring back a bucket
	// deleted while it read.
	bucketGen uint64 // under bucketMu

	pool     sync.Pool // read-ahead buffers of BlockSize
	poolOnce sync.Once

	trackMu sync.Mutex
	tracked map[string]bool // data ids written since start, while the orphan scan runs
	pins    readPins        // reads in flight, which replaced data waits for

	healq *healQueue
	scan  scanState
	crash crashPoints // test builds only (tag crashpoints); empty otherwise
	// healHook, when set (tests only), is called at named points of a
	// heal: "shards-rebuilt" before the commit lock, "shard-removed"
	// between a single-file shard's removal and its replacement's commit.
	healHook func(point string)
	// completeHook, when set (tests only), is called at named points of
	// a CompleteMultipartUpload: "parts-read" once per attempt, the
	// parts read and checked against the client's list, before the
	// commit lock.
	completeHook func(point string)

	// Drive replacement, for a Store made by Open: the cluster's id and
	// each drive's expected identity, by set and position.
	clusterID string
	expect    [][]drive.Format
	replacing bool
	refused   map[string]string // path -> last refusal logged
	// reopen opens a drive folder for the watcher: openDrive; tests
	// wrap what it opens.
	reopen func(path string, want drive.Format, opts drive.Options) (Drive, error)
	down   map[string]bool        // paths of open drives that failed their last check
	empty  map[string]os.FileInfo // empty folders seen at the last check
	flaps  map[string]*flapState  // drives that failed soon after coming back

	load *writeLoad // client writes in progress: the drives' sync delay and sync-ahead

	bg     sync.WaitGroup
	rounds sync.WaitGroup // commits whose last drives are still answering (afterRound)
	bgCtx  context.Context
	cancel context.CancelFunc
}

// set is one erasure set: n drives, each holding one shard of every
// object placed on the set.
type set struct {
	index int
	// current holds the drive of each position. Replacing a drive at run
	// time stores a new slice (copy on write), so a caller that took the
	// slice keeps a consistent view; positions never move.
	current atomic.Pointer[[]Drive]
	swapMu  sync.Mutex // serialises replacements
}

func newSet(index int, ds []Drive) *set {
	st := &set{index: index}
	cp := append([]Drive(nil), ds...)
	st.current.Store(&cp)
	return st
}

// drives returns the set's drives by position. The slice is never
// modified; do not modify it.
func (st *set) drives() []Drive { return *st.current.Load() }

// replace puts d at position p and returns the drive it replaced.
func (st *set) replace(p int, d Drive) Drive {
	st.swapMu.Lock()
	defer st.swapMu.Unlock()
	cp := append([]Drive(nil), st.drives()...)
	old := cp[p]
	cp[p] = d
	st.current.Store(&cp)
	return old
}

// Open opens (formatting on first use) the drive folders of cfg and
// returns a Store over them. A folder that is missing while others are
// formatted is treated as offline, never created: it may be an unmounted
// disk. An existing empty folder takes the place of a failed drive.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.ensureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.DataShards + cfg.ParityShards
	formats := make([]*drive.Format, len(cfg.Drives))
	unformatted := make([]bool, len(cfg.Drives)) // no format.json, unlike an unreadable one
	load := &writeLoad{}
	clusterVotes := map[string]int{}
	for i, dc := range cfg.Drives {
		f, err := drive.ReadFormat(dc.Path)
		switch {
		case err == nil:
			formats[i] = &f
			clusterVotes[f.ClusterID]++
		case errors.Is(err, drive.ErrUnformatted):
			unformatted[i] = true
		default:
			cfg.Logger.Error("storage: drive unreadable", "path", dc.Path, "err", err)
		}
	}
	clusterID := ""
	for id, votes := range clusterVotes {
		if clusterID == "" || votes > clusterVotes[clusterID] || (votes == clusterVotes[clusterID] && id < clusterID) {
			clusterID = id
		}
	}
	fresh := clusterID == ""
	if fresh {
		clusterID = newID()
		cfg.Logger.Info("storage: formatting new cluster", "cluster", clusterID, "drives", len(cfg.Drives))
	}
	sets := make([][]Drive, len(cfg.Drives)/n)
	// held counts, per set, the drives that hold its data: an empty
	// folder takes a failed drive's place only while a read quorum of
	// them is there to rebuild it (see holdersBesides).
	held := make([]int, len(sets))
	var replaced []string // formatted in place of failed drives, now or before a restart
	ds := make([]Drive, len(cfg.Drives))
	wantFormat := func(i int) drive.Format {
		return drive.Format{Version: 1, ClusterID: clusterID, Set: i / n, Position: i % n, Zone: cfg.Drives[i].Zone}
	}
	offline := func(i int, why string) {
		ds[i] = offlineDrive{info: drive.Info{Path: cfg.Drives[i].Path, Format: wantFormat(i)}, why: why}
	}
	// The formatted drives first: only those that open count as holding
	// their set's data, so that a drive refused at open (another
	// position's disk on this mount point, a metadata store that will
	// not open) does not let an empty folder beside it be formatted.
	for i, dc := range cfg.Drives {
		if formats[i] == nil && !fresh {
			continue // an empty (or unreadable) folder: decided below
		}
		if _, err := os.Stat(dc.Path); err != nil && !fresh {
			cfg.Logger.Error("storage: drive folder missing; treating it as offline", "path", dc.Path)
			offline(i, "drive folder missing")
			continue
		}
		dd, err := drive.Open(dc.Path, wantFormat(i), driveOptions(cfg.Logger, load))
		if err != nil {
			cfg.Logger.Error("storage: drive refused; treating it as offline", "path", dc.Path, "err", err)
			offline(i, fmt.Sprintf("drive refused: %v", err))
			continue
		}
		ds[i] = dd
		switch {
		case fresh:
		case isRebuilding(dc.Path):
			replaced = append(replaced, dc.Path)
		default:
			held[i/n]++
		}
	}
	for i, dc := range cfg.Drives {
		if ds[i] != nil {
			continue
		}
		want := wantFormat(i)
		_, statErr := os.Stat(dc.Path)
		_, empty := emptyFolder(dc.Path)
		switch {
		case statErr != nil:
			cfg.Logger.Error("storage: drive folder missing; treating it as offline", "path", dc.Path)
			offline(i, "drive folder missing")
			continue
		case held[i/n] < cfg.DataShards:
			cfg.Logger.Error("storage: "+errTooFewHolders+"; treating it as offline",
				"path", dc.Path, "set", want.Set, "position", want.Position, "holding", held[i/n], "needed", cfg.DataShards)
			offline(i, errTooFewHolders)
			continue
		case unformatted[i] && !empty:
			// As the watcher refuses it: files but no format is a used
			// drive that lost its format.json, or a folder being
			// deleted, not a replacement.
			cfg.Logger.Error("storage: drive folder holds files but no format; treating it as offline", "path", dc.Path)
			offline(i, "drive folder holds files but no format")
			continue
		}
		var err error
		if unformatted[i] {
			cfg.Logger.Warn("storage: empty drive folder takes the place of a failed drive", "path", dc.Path, "set", want.Set, "position", want.Position)
			// Marked before it is formatted (see reopenDrive).
			err = writeSynced(filepath.Join(dc.Path, rebuildingFile))
		}
		var dd *drive.Drive
		if err == nil {
			dd, err = drive.Open(dc.Path, want, driveOptions(cfg.Logger, load))
		}
		if err != nil {
			cfg.Logger.Error("storage: drive refused; treating it as offline", "path", dc.Path, "err", err)
			offline(i, fmt.Sprintf("drive refused: %v", err))
			continue
		}
		ds[i] = dd
		replaced = append(replaced, dc.Path)
	}
	for i, d := range ds {
		sets[i/n] = append(sets[i/n], d)
	}
	s, err := newStore(cfg, sets, clusterID, load)
	if err != nil {
		for _, ds := range sets {
			for _, d := range ds {
				d.Close()
			}
		}
		return nil, err
	}
	if len(replaced) > 0 {
		for _, path := range replaced {
			s.markRebuilding(path)
		}
		s.requestPass() // the new drives hold nothing yet
	}
	return s, nil
}

// New returns a Store over already opened drives, one slice per erasure
// set, each of DataShards+ParityShards drives in position order. Tests use
// it with fault-injecting drives.
func New(cfg Config, sets [][]Drive) (*Store, error) {
	return newStore(cfg, sets, "", &writeLoad{})
}

// newStore makes the Store; a non-empty clusterID (from Open) lets it
// re-open and replace the drives of cfg.Drives at run time.
func newStore(cfg Config, sets [][]Drive, clusterID string, load *writeLoad) (*Store, error) {
	cfg.ensureDefaults()
	n := cfg.DataShards + cfg.ParityShards
	if cfg.DataShards < 1 || cfg.ParityShards < 1 || n > 256 || len(sets) == 0 {
		return nil, fmt.Errorf("storage: invalid layout %d+%d over %d sets", cfg.DataShards, cfg.ParityShards, len(sets))
	}
	s := &Store{cfg: cfg, log: cfg.Logger, codecs: map[[3]int]*erasure.Codec{}, buckets: map[string]bucketRecord{}, tracked: map[string]bool{},
		healq: newHealQueue(cfg.HealQueueSize), crash: newCrashPoints(cfg.Logger), clusterID: clusterID, load: load, refused: map[string]string{}, down: map[string]bool{}, empty: map[string]os.FileInfo{}, flaps: map[string]*flapState{}}
	s.scan.trigger = make(chan passRequest, 1)
	for i := range s.healLocks {
		s.healLocks[i] = make(chan struct{}, 1)
	}
	s.reopen = openDrive
	for i, ds := range sets {
		if len(ds) != n {
			return nil, fmt.Errorf("storage: set %d has %d drives, want %d", i, len(ds), n)
		}
		s.sets = append(s.sets, newSet(i, ds))
		s.checkZones(i, ds)
	}
	if _, err := s.codec(cfg.DataShards, cfg.ParityShards, cfg.BlockSize); err != nil {
		return nil, err
	}
	if clusterID != "" && len(cfg.Drives) == len(sets)*n {
		s.replacing = true
		for i := range sets {
			var fs []drive.Format
			for p := range n {
				// The zone the drive in this place has on disk, over the
				// configured one: a drive formatted in its place later must
				// join the zone the set was laid out with, even if the
				// server now runs with other --zones.
				zone := cfg.Drives[i*n+p].Zone
				if z := sets[i][p].Info().Format.Zone; z != "" {
					zone = z
				}
				fs = append(fs, drive.Format{Version: 1, ClusterID: clusterID, Set: i, Position: p, Zone: zone})
			}
			s.expect = append(s.expect, fs)
		}
	}
	found, whole := s.readBuckets(context.Background())
	s.buckets = found
	s.bucketsPartial.Store(!whole)
	s.bgCtx, s.cancel = context.WithCancel(context.Background())
	// Drives that missed bucket records (replaced while the server was
	// down) get them before the first request.
	if err := s.healBuckets(s.bgCtx); err != nil {
		s.log.Warn("storage: heal bucket records", "err", err)
	}
	s.loadScanState(s.bgCtx)
	s.goBackground(s.removeOrphans)
	s.goBackground(s.runHealer)
	s.goBackground(s.runScanner)
	if s.replacing && cfg.DriveCheckInterval > 0 {
		s.goBackground(s.watchDrives)
	}
	return s, nil
}

// openDrive is drive.Open as a Drive (a nil *drive.Drive must not
// become a non-nil interface).
func openDrive(path string, want drive.Format, opts drive.Options) (Drive, error) {
	d, err := drive.Open(path, want, opts)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// goBackground runs fn until Close.
func (s *Store) goBackground(fn func(context.Context)) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn(s.bgCtx)
	}()
}

// checkZones warns when a zone holds more shards of a set than parity
// can replace: losing that zone would lose data. It runs at start and
// after a drive is replaced; a single-zone layout is warned of too.
func (s *Store) checkZones(index int, ds []Drive) {
	perZone := map[string]int{}
	for _, d := range ds {
		perZone[d.Info().Format.Zone]++
	}
	for zone, c := range perZone {
		if c > s.cfg.ParityShards {
			s.log.Warn("storage: a zone holds more shards of a set than parity covers", "set", index, "zone", zone, "shards", c, "parity", s.cfg.ParityShards)
		}
	}
}

// ClusterID returns the random id the drives' format.json files share,
// "" for a Store not made by Open. It is stable for the cluster's life,
// so names derived from it (the S3 owner id) do not change.
func (s *Store) ClusterID() string { return s.clusterID }

// Close stops background work, then closes the drives. In-flight calls
// must have returned before Close is called.
func (s *Store) Close() error {
	s.settle()
	s.cancel()
	s.bg.Wait()
	var errs []error
	for _, st := range s.sets {
		st.swapMu.Lock() // no replacement after this
		defer st.swapMu.Unlock()
		for _, d := range st.drives() {
			if err := d.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// codec returns the shared codec for a layout.
func (s *Store) codec(k, m, block int) (*erasure.Codec, error) {
	s.codecMu.Lock()
	defer s.codecMu.Unlock()
	key := [3]int{k, m, block}
	if c, ok := s.codecs[key]; ok {
		return c, nil
	}
	c, err := erasure.New(k, m, block)
	if err != nil {
		return nil, fmt.Errorf("storage: codec %d+%d/%d: %w", k, m, block, err)
	}
	s.codecs[key] = c
	return c, nil
}

func (s *Store) readQuorum() int { return s.cfg.DataShards }

func (s *Store) writeQuorum() int {
	if s.cfg.DataShards == s.cfg.ParityShards {
		return s.cfg.DataShards + 1
	}
	return s.cfg.DataShards
}

// setFor places an object: a hash of bucket and key over the sets.
func (s *Store) setFor(bucket, key string) *set {
	if len(s.sets) == 1 {
		return s.sets[0]
	}
	h := fnv.New64a()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return s.sets[h.Sum64()%uint64(len(s.sets))]
}

// lockStripes is how many locks of each kind (commit, heal) the object
// keys share.
const lockStripes = 256

// lockStripe is the stripe of an object key's locks.
func lockStripe(bucket, key string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum32() % lockStripes
}

// lock takes the commit lock of one object key.
func (s *Store) lock(bucket, key string) func() {
	mu := &s.locks[lockStripe(bucket, key)]
	mu.Lock()
	return mu.Unlock
}

// bucketStripe is the stripe of a bucket's lock.
func bucketStripe(bucket string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(bucket))
	return h.Sum32() % lockStripes
}

// lockBucketRecord takes the lock of a bucket's record, for its writers
// (MakeBucket, DeleteBucket, UpdateBucketMetadata, healBucket). It does
// not wait for the writes in the bucket: a heal pass settles bucket
// records while objects are being written.
func (s *Store) lockBucketRecord(bucket string) func() {
	mu := &s.bucketRecLocks[bucketStripe(bucket)]
	mu.Lock()
	return mu.Unlock
}

// lockBucket takes a bucket's lock exclusively, under its record's lock,
// for DeleteBucket: no object or upload is being created in the bucket
// meanwhile, so a bucket found empty is deleted empty. Commit locks may
// be taken under it (DeleteBucket's aborts), a bucket lock not: the
// stripes are not reentrant, and an RWMutex with a writer waiting lets no
// new reader in.
func (s *Store) lockBucket(bucket string) func() {
	mu := &s.bucketLocks[bucketStripe(bucket)]
	mu.Lock()
	return mu.Unlock
}

// shareBucket takes a bucket's lock shared, for a write that creates
// something in the bucket (an object's version, an upload), around its
// check that the bucket exists and its commit. It comes before the
// object's commit lock.
func (s *Store) shareBucket(bucket string) func() {
	mu := &s.bucketLocks[bucketStripe(bucket)]
	mu.RLock()
	return mu.RUnlock
}

// healLock takes the heal lock of one object key, or returns ctx's error.
// A heal rebuilds shards outside the commit lock: without it, a second
// heal could commit the shards the first rebuilt already, and in doing so
// remove a good one it found missing before the first committed.
func (s *Store) healLock(ctx context.Context, bucket, key string) (func(), error) {
	c := s.healLocks[lockStripe(bucket, key)]
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Sets returns, per erasure set, the drives' info (for health and
// placement reports).
func (s *Store) Sets() [][]drive.Info {
	out := make([][]drive.Info, len(s.sets))
	for i, st := range s.sets {
		for _, d := range st.drives() {
			out[i] = append(out[i], d.Info())
		}
	}
	return out
}

// Drive states, as DriveState.State reports them.
const (
	DriveOnline     = "online"     // usable, and counted as holding the set's data
	DriveRebuilding = "rebuilding" // formatted in place of a failed drive; a heal pass is filling it
	DriveFull       = "full"       // below its space reserve: serves reads and deletes, takes no new data
	DriveFaulty     = "faulty"     // open, but failing its check (I/O errors, format.json gone or replaced, metadata store stopped)
	DriveOffline    = "offline"    // not opened: folder missing or refused; retried every DriveCheckInterval
)

// errTooFewHolders is why an empty folder is left offline.
const errTooFewHolders = "empty drive folder not formatted: too few of the set's other drives hold its data to rebuild it (a disk that is not mounted shows as an empty folder)"

// DriveState is one drive as the store counts it now.
type DriveState struct {
	drive.Info
	// State is one of DriveOnline, DriveRebuilding, DriveFull,
	// DriveFaulty and DriveOffline.
	State string
	// Reason says why a drive is not online; "" when it is.
	Reason string
}

// DriveStates checks every drive now, as Ready does, and reports each
// one's state, per erasure set in position order.
func (s *Store) DriveStates(ctx context.Context) [][]DriveState {
	out := make([][]DriveState, len(s.sets))
	for i, st := range s.sets {
		// One snapshot for the checks and the report: the watcher may
		// replace a drive meanwhile.
		ds := st.drives()
		out[i] = make([]DriveState, len(ds))
		errs := make([]error, len(ds))
		var wg sync.WaitGroup
		for p, d := range ds {
			wg.Go(func() { errs[p] = d.Check(ctx) })
		}
		wg.Wait()
		for p, d := range ds {
			state := DriveState{Info: d.Info(), State: DriveOnline}
			_, offline := d.(offlineDrive)
			switch err := errs[p]; {
			case offline:
				state.State, state.Reason = DriveOffline, d.(offlineDrive).err().Error()
			case errors.Is(err, drive.ErrDiskFull):
				state.State, state.Reason = DriveFull, err.Error()
			case err != nil:
				state.State, state.Reason = DriveFaulty, err.Error()
			case s.beingRebuilt(state.Path):
				state.State, state.Reason = DriveRebuilding, "formatted in place of a failed drive; not counted as holding data until a heal pass has filled it"
			}
			out[i][p] = state
		}
	}
	return out
}

// Ready reports whether every set has its write quorum of usable drives.
func (s *Store) Ready(ctx context.Context) error {
	for _, st := range s.sets {
		errs := st.each(ctx, func(_ int, d Drive) error {
			if err := d.Check(ctx); err != nil && !errors.Is(err, drive.ErrDiskFull) {
				return err
			}
			// A full drive still serves reads and the deletes that free
			// it: not being ready would take those away too.
			return nil
		})
		if ok := countNil(errs); ok < s.writeQuorum() {
			return fmt.Errorf("%w: set %d has %d usable drives, needs %d", ErrWriteQuorum, st.index, ok, s.writeQuorum())
		}
	}
	return nil
}

// each runs fn for every drive of the set in parallel and returns the
// errors by position.
func (st *set) each(ctx context.Context, fn func(i int, d Drive) error) []error {
	errs := make([]error, len(st.drives()))
	var wg sync.WaitGroup
	for i, d := range st.drives() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, d)
		}()
	}
	wg.Wait()
	return errs
}

// errNotYet stands, in the errors eachUntilQuorum returns early, for a
// drive whose call has not finished.
var errNotYet = errors.New("storage: drive has not answered yet")

// commitRound is a call sent to every drive of a set whose caller waits
// only for a quorum of successes.
type commitRound struct {
	// errs has one entry per drive when eachUntilQuorum returned:
	// errNotYet for a drive still working.
	errs []error
	// all is closed once every drive answered; final then holds every
	// drive's result.
	all   chan struct{}
	final []error
}

// pending reports whether some drive has not answered yet.
func (r *commitRound) pending() bool {
	select {
	case <-r.all:
		return false
	default:
		return true
	}
}

// eachUntilQuorum calls fn on every drive in parallel, like each, but
// returns as soon as quorum of them succeeded: a commit is durable once
// its quorum is, and waiting for the slowest drive would put the slowest
// fsync of six into every write's latency. When the quorum is not
// reached it waits for every drive, so the caller can undo with every
// result known. The calls go on after it returned; fn must not use a
// context that ends with the request.
func (st *set) eachUntilQuorum(quorum int, fn func(i int, d Drive) error) *commitRound {
	ds := st.drives()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(ds))
	for i, d := range ds {
		go func() { results <- result{i, fn(i, d)} }()
	}
	r := &commitRound{errs: make([]error, len(ds)), all: make(chan struct{}), final: make([]error, len(ds))}
	for i := range r.errs {
		r.errs[i] = errNotYet
	}
	ok, got := 0, 0
	for got < len(ds) {
		res := <-results
		got++
		r.errs[res.i], r.final[res.i] = res.err, res.err
		if res.err == nil {
			ok++
		}
		if ok >= quorum && got < len(ds) {
			go func() {
				for ; got < len(ds); got++ {
					res := <-results
					r.final[res.i] = res.err
				}
				close(r.all)
			}()
			return r
		}
	}
	close(r.all)
	return r
}

// afterRound runs then once every drive of r answered, in the
// background (Close waits for it), or now when they all have.
func (s *Store) afterRound(r *commitRound, then func(final []error)) {
	if !r.pending() {
		then(r.final)
		return
	}
	s.rounds.Add(1)
	go func() {
		defer s.rounds.Done()
		<-r.all
		then(r.final)
	}()
}

// settle waits until the drives past the quorum of every commit so far
// have answered. Close does it; tests that go to the drives directly
// after a write do it first.
func (s *Store) settle() { s.rounds.Wait() }

func countNil(errs []error) int {
	n := 0
	for _, e := range errs {
		if e == nil {
			n++
		}
	}
	return n
}

// quorumError turns per-drive errors into the layer's error when fewer
// than quorum succeeded, keeping the first cause for the log.
func quorumError(sentinel error, errs []error, quorum int) error {
	if countNil(errs) >= quorum {
		return nil
	}
	var causes []error
	full := 0
	for i, e := range errs {
		if e != nil {
			causes = append(causes, fmt.Errorf("drive %d: %w", i, e))
		}
		if errors.Is(e, drive.ErrDiskFull) {
			full++
		}
	}
	err := fmt.Errorf("%w (%d of %d drives ok, need %d): %w", sentinel, countNil(errs), len(errs), quorum, errors.Join(causes...))
	if sentinel == ErrWriteQuorum && full > 0 && countNil(errs)+full == len(errs) {
		// Every drive that failed is out of room: no retry helps until
		// space is freed. (With a drive offline too, a retry may.)
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	return err
}

// newID returns 32 random hex characters.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("storage: crypto/rand failed: %v", err)) // the OS RNG never fails on supported systems
	}
	return hex.EncodeToString(b[:])
}

// readBuckets reads the bucket records: a bucket exists when a read
// quorum of every set holds it. whole is false when some set's records
// could not be read from a read quorum of its drives: the buckets found
// are then only some of them.
func (s *Store) readBuckets(ctx context.Context) (found map[string]bucketRecord, whole bool) {
	whole = true
	counts := map[string]int{}
	recs := map[string]bucketRecord{}
	for _, st := range s.sets {
		seen := make([]map[string]bucketRecord, len(st.drives()))
		errs := st.each(ctx, func(i int, d Drive) error {
			m := map[string]bucketRecord{}
			it, err := d.NewIter(ctx, []byte{prefixBucket}, []byte{prefixBucket + 1})
			if err != nil {
				return err
			}
			defer it.Close()
			for ok := it.First(); ok; ok = it.Next() {
				r, err := decodeBucket(it.Value())
				if err != nil {
					s.log.Error("storage: bad bucket record", "drive", d.Info().Path, "err", err)
					continue
				}
				m[r.Name] = r
			}
			seen[i] = m
			return it.Err()
		})
		if err := quorumError(ErrReadQuorum, errs, s.readQuorum()); err != nil {
			if !s.bucketsPartial.Load() {
				s.log.Error("storage: cannot read buckets of a set; requests to buckets are refused (503) until enough of its drives answer", "set", st.index, "err", err)
			}
			whole = false
		}
		setCounts := map[string]int{}
		for _, m := range seen {
			for name, r := range m {
				setCounts[name]++
				if old, ok := recs[name]; !ok || r.Updated > old.Updated || (r.Updated == old.Updated && r.Created < old.Created) {
					recs[name] = r
				}
			}
		}
		for name, c := range setCounts {
			if c >= s.readQuorum() {
				counts[name]++
			}
		}
	}
	found = map[string]bucketRecord{}
	for name, c := range counts {
		if c == len(s.sets) {
			found[name] = recs[name]
		}
	}
	return found, whole
}

// reloadBuckets reads the bucket records again while the list is
// partial, adding the buckets found: the drives that were missing at
// start may have come back. A bucket created or deleted meanwhile is
// already right in memory; a change during the read makes it read again.
func (s *Store) reloadBuckets(ctx context.Context) {
	for range 3 {
		if !s.bucketsPartial.Load() || ctx.Err() != nil {
			return
		}
		s.bucketMu.RLock()
		gen := s.bucketGen
		s.bucketMu.RUnlock()
		found, whole := s.readBuckets(ctx)
		s.bucketMu.Lock()
		if s.bucketGen != gen {
			s.bucketMu.Unlock()
			continue
		}
		added := 0
		for name, rec := range found {
			if _, ok := s.buckets[name]; !ok {
				s.buckets[name] = rec
				added++
			}
		}
		s.bucketsPartial.Store(!whole)
		s.bucketMu.Unlock()
		if whole {
			s.log.Warn("storage: bucket records read from enough drives again; buckets are served", "buckets_added", added)
		}
		return
	}
}

// removeOrphans deletes data directories no metadata refers to: what a
// crash left between a write's data and its metadata. It runs once, in
// the background from start, without a grace period: directories of
// writes this process started are tracked meanwhile and never taken for
// orphans, and every other one is older than this process. Later
// passes of the scanner use the grace period instead.
func (s *Store) removeOrphans(ctx context.Context) {
	defer func() {
		s.trackMu.Lock()
		s.tracked = nil
		s.trackMu.Unlock()
	}()
	for _, st := range s.sets {
		if ctx.Err() != nil {
			return
		}
		n, err := s.removeSetOrphans(ctx, st, 0)
		s.countOrphans(n)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("storage: orphan scan failed", "set", st.index, "err", err)
		}
	}
}

// isTracked reports whether a data id belongs to a write this process
// started while the start-up orphan scan runs: such writes commit data
// before metadata, so their directories may lawfully have no record yet.
func (s *Store) isTracked(id string) bool {
	s.trackMu.Lock()
	defer s.trackMu.Unlock()
	return s.tracked[id]
}

// track records a data id a write is about to create, while the orphan
// scan runs (afterwards nothing needs it).
func (s *Store) track(id string) {
	s.trackMu.Lock()
	if s.tracked != nil {
		s.tracked[id] = true
	}
	s.trackMu.Unlock()
}

// offlineDrive stands in for a drive that could not be opened.
type offlineDrive struct {
	info drive.Info
	why  string // why it was not opened, for operators
}

func (o offlineDrive) err() error {
	if o.why != "" {
		return fmt.Errorf("%s: %w: %s", o.info.Path, drive.ErrOffline, o.why)
	}
	return fmt.Errorf("%s: %w", o.info.Path, drive.ErrOffline)
}

func (o offlineDrive) Get(context.Context, []byte) ([]byte, error)   { return nil, o.err() }
func (o offlineDrive) Apply(context.Context, []drive.Op) error       { return o.err() }
func (o offlineDrive) ApplyLazy(context.Context, []drive.Op) error   { return o.err() }
func (o offlineDrive) Compact(context.Context, []byte, []byte) error { return o.err() }
func (o offlineDrive) NewIter(context.Context, []byte, []byte) (drive.Iter, error) {
	return nil, o.err()
}
func (o offlineDrive) CreateStaging(context.Context) (drive.StagingFile, error) { return nil, o.err() }
func (o offlineDrive) OpenData(context.Context, string, string) (drive.DataFile, error) {
	return nil, o.err()
}
func (o offlineDrive) RemoveData(context.Context, string) error { return o.err() }
func (o offlineDrive) WalkData(context.Context, func(string) error) error {
	return o.err()
}
func (o offlineDrive) DataModTime(context.Context, string) (time.Time, error) {
	return time.Time{}, o.err()
}
func (o offlineDrive) CleanStaging(context.Context, time.Time) (int, error) { return 0, o.err() }
func (o offlineDrive) Check(context.Context) error                          { return o.err() }
func (o offlineDrive) Info() drive.Info                                     { return o.info }
func (o offlineDrive) Close() error                                         { return nil }
