package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/storage"
)

// TestCrashRandomKills kills the server with SIGKILL at random moments of
// a concurrent load (every third round, of one writer's huge PUTs),
// restarts it and checks every key.
func TestCrashRandomKills(t *testing.T) {
	rounds := 3
	if soak() {
		rounds = 60
	}
	if *killRounds > 0 {
		rounds = *killRounds
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d rounds", seed, rounds)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	s := start(t, dir)
	makeBucket(t, s)
	m := &model{keys: map[string]*keyModel{}}
	var total stats
	for r := range rounds {
		workers, mx, kind := 4, defaultMix, "mixed"
		if r%3 == 2 {
			// One writer of huge single PUTs: the store syncs their
			// staging files as they are written (writeLoad.alone),
			// so this kill may land while such a sync is in flight.
			workers, mx, kind = 1, mix{huge: 100}, "lone huge PUTs"
		}
		ctx, cancel := context.WithCancel(context.Background())
		var st stats
		done := make(chan struct{})
		go func() {
			load(ctx, s.client(t), m, workers, 8, mx, seed+uint64(r), &st)
			close(done)
		}()
		time.Sleep(200*time.Millisecond + time.Duration(rng.IntN(1300))*time.Millisecond)
		s.kill()
		cancel()
		<-done
		s = start(t, dir)
		checkStaging(t, dir)
		settled := verify(t, s, m)
		t.Logf("round %d (%s): %d operations acknowledged, %d cut by the kill (%d of those took effect)", r, kind, st.acked, st.lost, settled)
		total.acked += st.acked
		total.lost += st.lost
	}
	s.stop(t)
	t.Logf("%d kills, %d acknowledged operations verified, %d in flight at kills", rounds, total.acked, total.lost)
	healInProcess(t, dir)
}

// crashPoint is one deterministic kill: the binary kills itself the
// after-th time it reaches point.
type crashPoint struct {
	point string
	after int
	mix   mix
	heal  bool // the point is in a heal: damage a shard first
}

// TestCrashPoints kills the server at each crash point (between shard
// commits, between metadata commits on different drives, after a commit
// before the replaced data goes, in the middle of a heal) and checks
// every key after the restart.
func TestCrashPoints(t *testing.T) {
	overwrite := mix{small: 45, large: 45, delete: 10}
	deletes := mix{small: 30, delete: 70}
	parts := mix{small: 10, multipart: 90}
	points := []crashPoint{
		{point: "after-data", after: 3, mix: defaultMix},
		{point: "data-commits:2", after: 3, mix: overwrite},
		{point: "data-commits:5", after: 2, mix: overwrite},
		{point: "meta-commits:1", after: 4, mix: defaultMix},
		{point: "meta-commits:3", after: 4, mix: defaultMix},
		{point: "meta-commits:5", after: 3, mix: overwrite},
		{point: "before-drop", after: 3, mix: overwrite},
		{point: "delete-commits:2", after: 2, mix: deletes},
		{point: "part-commits:3", after: 1, mix: parts},
		{point: "heal-swap", after: 1, heal: true},
	}
	if soak() {
		var more []crashPoint
		for _, p := range points {
			if p.heal {
				continue // one damaged shard: one swap
			}
			for _, after := range []int{1, 5, 20} {
				q := p
				q.after = after
				more = append(more, q)
			}
		}
		points = append(points, more...)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d crash points", seed, len(points))
	dir := t.TempDir()
	s := start(t, dir)
	makeBucket(t, s)
	m := &model{keys: map[string]*keyModel{}}
	// Something to overwrite, copy, delete and heal from the start.
	var st stats
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	load(ctx, s.client(t), m, 4, 8, mix{small: 50, large: 50}, seed, &st)
	cancel()
	// The cancel cut some PUTs whose bodies had all arrived: the server
	// may still commit them. Settle those in the model (restart, then
	// verify) before any crash point, or a later operation on the key
	// would overwrite the only record that the write might exist.
	s.stop(t)
	s = start(t, dir)
	verify(t, s, m)
	s.stop(t)
	for i, p := range points {
		env := []string{"OBJSTORE_CRASH_POINT=" + p.point, fmt.Sprintf("OBJSTORE_CRASH_AFTER=%d", p.after)}
		if p.heal && !corruptShards(t, dir) {
			t.Fatalf("%s: no shard file to damage", p.point)
		}
		s = start(t, dir, env...)
		ctx, cancel := context.WithCancel(context.Background())
		var st stats
		done := make(chan struct{})
		go func() {
			if p.heal {
				// Reads find the damage and queue the heal; the
				// scanner's pass finds it too.
				for ctx.Err() == nil {
					verifyQuietly(ctx, s, m)
					time.Sleep(100 * time.Millisecond)
				}
			} else {
				load(ctx, s.client(t), m, 4, 8, p.mix, seed+uint64(i)+1, &st)
			}
			close(done)
		}()
		err := s.waitExit(45 * time.Second)
		cancel()
		if err != nil {
			s.kill()
			<-done
			t.Fatalf("crash point %s (hit %d) never reached\n%s", p.point, p.after, s.log.tail(3000))
		}
		<-done
		if !strings.Contains(s.log.String(), "crash point "+strings.SplitN(p.point, ":", 2)[0]+" reached") {
			t.Fatalf("%s: the server died, but not at its crash point\n%s", p.point, s.log.tail(3000))
		}
		s = start(t, dir)
		checkStaging(t, dir)
		settled := verify(t, s, m)
		s.stop(t)
		t.Logf("%s (hit %d): %d operations acknowledged before the kill, %d cut (%d took effect)", p.point, p.after, st.acked, st.lost, settled)
	}
	healInProcess(t, dir)
}

// verifyQuietly reads every key, ignoring the results: it only makes the
// server read (and so heal) while a crash point waits in the heal path.
func verifyQuietly(ctx context.Context, s *server, m *model) {
	m.mu.Lock()
	keys := make([]string, 0, len(m.keys))
	for k := range m.keys {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	c, err := newClient(s)
	if err != nil {
		return
	}
	for _, k := range keys {
		if ctx.Err() != nil {
			return
		}
		observe(ctx, c, k)
	}
}

// healInProcess opens the data folder with the storage layer directly
// and runs two heal passes: the first repairs what the kills left (its
// counts are logged), the second must find nothing at all, orphans
// included.
func healInProcess(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	var drives []storage.DriveConfig
	for i := range 6 {
		drives = append(drives, storage.DriveConfig{Path: filepath.Join(dir, fmt.Sprintf("drive%d", i+1)), Zone: fmt.Sprintf("zone-%c", 'a'+i/2)})
	}
	s, err := storage.Open(ctx, storage.Config{Drives: drives, DataShards: 4, ParityShards: 2,
		ScanInterval: -1, ScanObjectsPerSecond: -1, ScanBytesPerSecond: -1, OrphanGrace: time.Nanosecond, DriveCheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := s.Heal(ctx, storage.HealOptions{})
	if err != nil {
		t.Fatalf("first heal pass: %v", err)
	}
	t.Logf("first heal pass after the crashes: %d objects, %d healed, %d uploads, %d orphans removed",
		first.ObjectsScanned, first.ObjectsHealed, first.UploadsScanned, first.OrphansRemoved)
	second, err := s.Heal(ctx, storage.HealOptions{})
	if err != nil || second.ObjectsHealed+second.ObjectsFailed+second.ObjectsDegraded+second.OrphansRemoved != 0 {
		t.Fatalf("second heal pass still found work: %+v %v", second, err)
	}
}
