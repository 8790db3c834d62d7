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
	"sort"
	"sync"
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

	locks [256]sync.Mutex // per-key commit locks, striped

	codecMu sync.Mutex
	codecs  map[[3]int]*erasure.Codec

	bucketMu sync.RWMutex
	buckets  map[string]bucketRecord

	pool     sync.Pool // read-ahead buffers of BlockSize
	poolOnce sync.Once

	trackMu sync.Mutex
	tracked map[string]bool // data ids written since start, while the orphan scan runs

	bg     sync.WaitGroup
	cancel context.CancelFunc
}

// set is one erasure set: n drives, each holding one shard of every
// object placed on the set.
type set struct {
	index  int
	drives []Drive
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
	clusterVotes := map[string]int{}
	for i, dc := range cfg.Drives {
		f, err := drive.ReadFormat(dc.Path)
		switch {
		case err == nil:
			formats[i] = &f
			clusterVotes[f.ClusterID]++
		case errors.Is(err, drive.ErrUnformatted):
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
	for i, dc := range cfg.Drives {
		want := drive.Format{Version: 1, ClusterID: clusterID, Set: i / n, Position: i % n, Zone: dc.Zone}
		var d Drive
		if _, err := os.Stat(dc.Path); err != nil && !fresh {
			cfg.Logger.Error("storage: drive folder missing; treating it as offline", "path", dc.Path)
			d = offlineDrive{info: drive.Info{Path: dc.Path, Format: want}}
		} else {
			if formats[i] == nil && !fresh {
				cfg.Logger.Warn("storage: empty drive folder takes the place of a failed drive", "path", dc.Path, "set", want.Set, "position", want.Position)
			}
			dd, err := drive.Open(dc.Path, want, drive.Options{Logger: cfg.Logger})
			if err != nil {
				cfg.Logger.Error("storage: drive refused; treating it as offline", "path", dc.Path, "err", err)
				d = offlineDrive{info: drive.Info{Path: dc.Path, Format: want}}
			} else {
				d = dd
			}
		}
		sets[i/n] = append(sets[i/n], d)
	}
	s, err := New(cfg, sets)
	if err != nil {
		for _, ds := range sets {
			for _, d := range ds {
				d.Close()
			}
		}
		return nil, err
	}
	return s, nil
}

// New returns a Store over already opened drives, one slice per erasure
// set, each of DataShards+ParityShards drives in position order. Tests use
// it with fault-injecting drives.
func New(cfg Config, sets [][]Drive) (*Store, error) {
	cfg.ensureDefaults()
	n := cfg.DataShards + cfg.ParityShards
	if cfg.DataShards < 1 || cfg.ParityShards < 1 || n > 256 || len(sets) == 0 {
		return nil, fmt.Errorf("storage: invalid layout %d+%d over %d sets", cfg.DataShards, cfg.ParityShards, len(sets))
	}
	s := &Store{cfg: cfg, log: cfg.Logger, codecs: map[[3]int]*erasure.Codec{}, buckets: map[string]bucketRecord{}, tracked: map[string]bool{}}
	for i, ds := range sets {
		if len(ds) != n {
			return nil, fmt.Errorf("storage: set %d has %d drives, want %d", i, len(ds), n)
		}
		s.sets = append(s.sets, &set{index: i, drives: ds})
		s.checkZones(i, ds)
	}
	if _, err := s.codec(cfg.DataShards, cfg.ParityShards, cfg.BlockSize); err != nil {
		return nil, err
	}
	if err := s.loadBuckets(context.Background()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.removeOrphans(ctx)
	}()
	return s, nil
}

// checkZones warns when a zone holds more shards of a set than parity
// can replace: losing that zone would lose data.
func (s *Store) checkZones(index int, ds []Drive) {
	perZone := map[string]int{}
	for _, d := range ds {
		perZone[d.Info().Format.Zone]++
	}
	for zone, c := range perZone {
		if c > s.cfg.ParityShards && len(perZone) > 1 {
			s.log.Warn("storage: a zone holds more shards of a set than parity covers", "set", index, "zone", zone, "shards", c, "parity", s.cfg.ParityShards)
		}
	}
}

// Close stops background work, then closes the drives. In-flight calls
// must have returned before Close is called.
func (s *Store) Close() error {
	s.cancel()
	s.bg.Wait()
	var errs []error
	for _, st := range s.sets {
		for _, d := range st.drives {
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

// lock takes the commit lock of one object key.
func (s *Store) lock(bucket, key string) func() {
	h := fnv.New32a()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	mu := &s.locks[h.Sum32()%uint32(len(s.locks))]
	mu.Lock()
	return mu.Unlock
}

// Sets returns, per erasure set, the drives' info (for health and
// placement reports).
func (s *Store) Sets() [][]drive.Info {
	out := make([][]drive.Info, len(s.sets))
	for i, st := range s.sets {
		for _, d := range st.drives {
			out[i] = append(out[i], d.Info())
		}
	}
	return out
}

// Ready reports whether every set has its write quorum of usable drives.
func (s *Store) Ready(ctx context.Context) error {
	for _, st := range s.sets {
		errs := st.each(ctx, func(_ int, d Drive) error { return d.Check(ctx) })
		if ok := countNil(errs); ok < s.writeQuorum() {
			return fmt.Errorf("%w: set %d has %d usable drives, needs %d", ErrWriteQuorum, st.index, ok, s.writeQuorum())
		}
	}
	return nil
}

// each runs fn for every drive of the set in parallel and returns the
// errors by position.
func (st *set) each(ctx context.Context, fn func(i int, d Drive) error) []error {
	errs := make([]error, len(st.drives))
	var wg sync.WaitGroup
	for i, d := range st.drives {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, d)
		}()
	}
	wg.Wait()
	return errs
}

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
	for i, e := range errs {
		if e != nil {
			causes = append(causes, fmt.Errorf("drive %d: %w", i, e))
		}
	}
	return fmt.Errorf("%w (%d of %d drives ok, need %d): %w", sentinel, countNil(errs), len(errs), quorum, errors.Join(causes...))
}

// newID returns 32 random hex characters.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("storage: crypto/rand failed: %v", err)) // the OS RNG never fails on supported systems
	}
	return hex.EncodeToString(b[:])
}

// loadBuckets reads the bucket records: a bucket exists when a read
// quorum of every set holds it.
func (s *Store) loadBuckets(ctx context.Context) error {
	counts := map[string]int{}
	recs := map[string]bucketRecord{}
	for _, st := range s.sets {
		seen := make([]map[string]bucketRecord, len(st.drives))
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
			s.log.Error("storage: cannot read buckets of a set", "set", st.index, "err", err)
		}
		setCounts := map[string]int{}
		for _, m := range seen {
			for name, r := range m {
				setCounts[name]++
				if old, ok := recs[name]; !ok || r.Created < old.Created {
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
	for name, c := range counts {
		if c == len(s.sets) {
			s.buckets[name] = recs[name]
		}
	}
	return nil
}

// removeOrphans deletes data directories no metadata refers to: what a
// crash left between a write's data and its metadata. It runs once, in
// the background from start; directories of writes this process started
// are tracked meanwhile and never taken for orphans.
func (s *Store) removeOrphans(ctx context.Context) {
	defer func() {
		s.trackMu.Lock()
		s.tracked = nil
		s.trackMu.Unlock()
	}()
	for _, st := range s.sets {
		for _, d := range st.drives {
			if ctx.Err() != nil {
				return
			}
			if err := s.removeDriveOrphans(ctx, d); err != nil && ctx.Err() == nil {
				s.log.Warn("storage: orphan scan failed", "drive", d.Info().Path, "err", err)
			}
		}
	}
}

func (s *Store) removeDriveOrphans(ctx context.Context, d Drive) error {
	if err := d.Check(ctx); err != nil {
		return nil
	}
	used := map[string]bool{}
	it, err := d.NewIter(ctx, []byte{prefixObject}, []byte{prefixObject + 1})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		rec, err := decodeObject(it.Value(), false)
		if err != nil {
			continue
		}
		for _, v := range rec.Versions {
			for _, id := range v.dataIDs() {
				used[id] = true
			}
		}
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	it, err = d.NewIter(ctx, []byte{prefixPart}, []byte{prefixPart + 1})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if p, err := decodePart(it.Value()); err == nil {
			used[p.DataID] = true
		}
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	var orphans []string
	err = d.WalkData(ctx, func(id string) error {
		if !used[id] {
			orphans = append(orphans, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(orphans)
	for _, id := range orphans {
		// Re-check under the rule that a write in flight commits its data
		// before its metadata: skip any id that gained a record since.
		if s.dataReferenced(ctx, d, id) {
			continue
		}
		if err := d.RemoveData(ctx, id); err != nil {
			return err
		}
		s.log.Info("storage: removed orphaned data", "drive", d.Info().Path, "data", id)
	}
	return nil
}

// dataReferenced tells the orphan scan that a data id belongs to a
// write this process started: such writes commit data before metadata,
// so their directories may lawfully have no record yet.
func (s *Store) dataReferenced(_ context.Context, _ Drive, id string) bool {
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
type offlineDrive struct{ info drive.Info }

func (o offlineDrive) err() error                                  { return fmt.Errorf("%s: %w", o.info.Path, drive.ErrOffline) }
func (o offlineDrive) Get(context.Context, []byte) ([]byte, error) { return nil, o.err() }
func (o offlineDrive) Apply(context.Context, []drive.Op) error     { return o.err() }
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
func (o offlineDrive) Check(context.Context) error { return o.err() }
func (o offlineDrive) Info() drive.Info            { return o.info }
func (o offlineDrive) Close() error                { return nil }
