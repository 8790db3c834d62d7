package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

var (
	long       = flag.Bool("crash.long", false, "run the long crash soak (OBJSTORE_SOAK=1 does too)")
	killRounds = flag.Int("crash.rounds", 0, "random kills of TestCrashRandomKills (0: 3, or 60 in the long soak)")
)

// binary is the objstore binary built with the crashpoints tag.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "crashtest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "objstore")
	if err := build(binary); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./cmd/objstore of this module with the crashpoints tag.
func build(out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	mod, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(mod)))
	cmd := exec.Command(goTool, "build", "-tags", "crashpoints", "-o", out, "./cmd/objstore")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, b)
	}
	return nil
}

func soak() bool { return *long || os.Getenv("OBJSTORE_SOAK") == "1" }

const (
	rootUser   = "crashtest"
	rootSecret = "crashtest-secret-key"
	bucket     = "crash"
)

// server is one run of the binary.
type server struct {
	cmd    *exec.Cmd
	addr   string
	log    *syncBuffer
	exited chan struct{} // closed when the process ended
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the server's warnings and errors and the last n bytes of
// its log, for failure messages; the whole log goes to a file whose name
// is given.
func (b *syncBuffer) tail(n int) string {
	s := b.String()
	var sb strings.Builder
	if f, err := os.CreateTemp("", "crashtest-server-*.log"); err == nil {
		f.WriteString(s)
		f.Close()
		fmt.Fprintf(&sb, "(whole server log in %s)\n", f.Name())
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			sb.WriteString(line + "\n")
		}
	}
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	sb.WriteString(s)
	return sb.String()
}

// start runs the binary over dataDir with extra environment and waits for
// its endpoint line.
func start(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, "server", "--address", "127.0.0.1:0", "--data", dataDir, "--scan-interval", "2s")
	cmd.Env = append(os.Environ(), "OBJSTORE_ROOT_USER="+rootUser, "OBJSTORE_ROOT_PASSWORD="+rootSecret)
	cmd.Env = append(cmd.Env, env...)
	s := &server{cmd: cmd, log: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "objstore: S3 endpoint http://"); ok {
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.addr = <-addr:
	case <-s.exited:
		t.Fatalf("server exited at start: %v\n%s", cmd.ProcessState, s.log.tail(4000))
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not start\n%s", s.log.tail(4000))
	}
	return s
}

// kill sends SIGKILL and waits for the process to end.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// stop shuts the server down gracefully.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
		t.Fatalf("server did not stop\n%s", s.log.tail(4000))
	}
}

func (s *server) client(t *testing.T) *minio.Client {
	t.Helper()
	c, err := newClient(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newClient makes a client that never retries: a retried write after a
// kill would blur what was acknowledged.
func newClient(s *server) (*minio.Client, error) {
	return minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(rootUser, rootSecret, ""), Region: "us-east-1", MaxRetries: 1})
}

// state is what one key holds.
type state struct {
	exists    bool
	md5       string
	size      int64
	multipart bool
}

func (s state) String() string {
	if !s.exists {
		return "absent"
	}
	return fmt.Sprintf("%d bytes md5 %s", s.size, s.md5)
}

// keyModel is a key's last acknowledged state and the target of the
// operation in flight on it, whose outcome the client never learnt.
type keyModel struct {
	acked   state
	pending *state
}

// model is what the store must hold. Each worker owns its keys, so at
// most one operation per key is ever in flight.
type model struct {
	mu   sync.Mutex
	keys map[string]*keyModel
}

func (m *model) get(k string) *keyModel {
	m.mu.Lock()
	defer m.mu.Unlock()
	km := m.keys[k]
	if km == nil {
		km = &keyModel{}
		m.keys[k] = km
	}
	return km
}

// mix is the share of each operation, in percent: small inline PUTs,
// large PUTs (1 in 8 of them single PUTs of 17-21 MiB), huge single PUTs
// of 17-41 MiB, two-part multipart uploads, copies and deletes.
type mix struct{ small, large, huge, multipart, copy, delete int }

var defaultMix = mix{small: 40, large: 25, multipart: 8, copy: 12, delete: 15}

// stats counts what a load did.
type stats struct {
	mu               sync.Mutex
	ops, acked, lost int
}

// load runs workers against c until ctx ends or the server dies; each
// worker stops at its first error (whose outcome stays pending).
func load(ctx context.Context, c *minio.Client, m *model, workers, keysPerWorker int, mx mix, seed uint64, st *stats) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				key := fmt.Sprintf("w%d/k%d", w, rng.IntN(keysPerWorker))
				if err := oneOp(ctx, c, m, w, key, keysPerWorker, mx, rng); err != nil {
					st.mu.Lock()
					st.ops++
					st.lost++
					st.mu.Unlock()
					return
				}
				st.mu.Lock()
				st.ops++
				st.acked++
				st.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func body(rng *rand.Rand, size int) []byte {
	b := make([]byte, size)
	for i := 0; i < size; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < size; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func md5hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

// oneOp runs one random operation on key and updates the model.
func oneOp(ctx context.Context, c *minio.Client, m *model, w int, key string, keysPerWorker int, mx mix, rng *rand.Rand) error {
	km := m.get(key)
	puts := mx.small + mx.large + mx.huge + mx.multipart
	roll := rng.IntN(puts + mx.copy + mx.delete)
	var target state
	var do func() error
	switch {
	case roll < puts:
		size := 1 + rng.IntN(100<<10) // inline
		opts := minio.PutObjectOptions{}
		switch {
		case roll >= mx.small+mx.large+mx.huge:
			size = 5<<20 + 1 + rng.IntN(1<<20) // two parts
			opts.PartSize = 5 << 20
		case roll >= mx.small+mx.large:
			// A lone writer's (writeLoad.alone, the lone rounds of
			// TestCrashRandomKills): shards of 4.25-10.25 MiB get a
			// background sync at each 4 MiB written (one every 16 MiB
			// of body) besides the commit's, so a kill can land while
			// one is in flight.
			size = 17<<20 + rng.IntN(24<<20)
			opts.DisableMultipart = true
		case roll >= mx.small && rng.IntN(8) == 0:
			// Shards over drive.stagingSyncEvery (4 MiB), which the
			// store syncs only at their commit beside other writers.
			size = 17<<20 + rng.IntN(4<<20)
			opts.DisableMultipart = true
		case roll >= mx.small:
			size = 200<<10 + rng.IntN(3<<20)
		}
		b := body(rng, size)
		sum := md5hex(b)
		opts.UserMetadata = map[string]string{"md5": sum}
		target = state{exists: true, md5: sum, size: int64(size), multipart: opts.PartSize != 0}
		do = func() error {
			_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(b), int64(size), opts)
			return err
		}
	case roll < puts+mx.copy:
		src := fmt.Sprintf("w%d/k%d", w, rng.IntN(keysPerWorker))
		sk := m.get(src)
		if src == key || !sk.acked.exists || sk.pending != nil {
			return nil
		}
		target = sk.acked
		target.multipart = false // a copy is one PUT: its ETag is the MD5
		do = func() error {
			_, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: key}, minio.CopySrcOptions{Bucket: bucket, Object: src})
			return err
		}
	default:
		target = state{}
		do = func() error { return c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}) }
	}
	if km.pending != nil {
		// An operation whose outcome no restart settled: overwriting it
		// would make the model forget a write that may exist.
		panic(fmt.Sprintf("crashtest: %s still has an unsettled operation (%s); verify after every cut", key, km.pending))
	}
	km.pending = &target
	if err := do(); err != nil {
		return err
	}
	km.acked, km.pending = target, nil
	return nil
}

// observe reads key back and checks that body, ETag and metadata agree.
func observe(ctx context.Context, c *minio.Client, key string) (state, error) {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return state{}, err
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("read %s: %w", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		return state{}, fmt.Errorf("stat %s: %w", key, err)
	}
	sum := md5hex(b)
	if got := info.UserMetadata["Md5"]; got != sum {
		return state{}, fmt.Errorf("%s: body md5 %s but metadata says %q: mismatched metadata", key, sum, got)
	}
	multipart := strings.Contains(info.ETag, "-")
	if !multipart && info.ETag != sum {
		return state{}, fmt.Errorf("%s: body md5 %s but ETag %s", key, sum, info.ETag)
	}
	return state{exists: true, md5: sum, size: int64(len(b)), multipart: multipart}, nil
}

func same(a, b state) bool { return a.exists == b.exists && a.md5 == b.md5 && a.size == b.size }

// verify checks every key against the model after a restart: the state
// must be the acknowledged one or, for a key with an operation in flight
// at the kill, that operation's target. The state seen becomes the
// acknowledged one (a restart leaves a write visible or not for good).
func verify(t *testing.T, s *server, m *model) (settledNew int) {
	t.Helper()
	ctx := context.Background()
	c := s.client(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, km := range m.keys {
		got, err := observe(ctx, c, key)
		if err != nil {
			t.Fatalf("verify %s: %v\n%s", key, err, s.log.tail(4000))
		}
		switch {
		case same(got, km.acked):
		case km.pending != nil && same(got, *km.pending):
			settledNew++
		default:
			pending := "none"
			if km.pending != nil {
				pending = km.pending.String()
			}
			t.Fatalf("verify %s: holds %s; acknowledged %s, in flight %s\n%s", key, got, km.acked, pending, s.log.tail(4000))
		}
		km.acked, km.pending = got, nil
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list: %v", o.Err)
		}
		km := m.keys[o.Key]
		if km == nil || !km.acked.exists || km.acked.size != o.Size {
			t.Fatalf("list shows %s (%d bytes), which the model does not hold", o.Key, o.Size)
		}
	}
	return settledNew
}

// checkStaging fails if a drive's staging area holds anything but the
// drive's own short-lived probe files: a restart empties it.
func checkStaging(t *testing.T, dataDir string) {
	t.Helper()
	tmps, _ := filepath.Glob(filepath.Join(dataDir, "drive*", "tmp"))
	if len(tmps) == 0 {
		t.Fatalf("no drive folders in %s", dataDir)
	}
	for _, tmp := range tmps {
		entries, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "check-") {
				t.Errorf("%s holds %s after the restart", tmp, e.Name())
			}
		}
	}
}

// makeBucket creates the test bucket on a fresh data folder.
func makeBucket(t *testing.T, s *server) {
	t.Helper()
	if err := s.client(t).MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
}

// corruptShards flips a byte in every shard file of one drive, so that
// a heal has something to repair whichever object it visits first (some
// files may belong to writes the restart rolls back).
func corruptShards(t *testing.T, dataDir string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "drive1", "data", "*", "*", "part.1"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || len(b) < 100 {
			continue
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n > 0
}

// waitExit waits for the server to die by itself (a crash point).
func (s *server) waitExit(d time.Duration) error {
	select {
	case <-s.exited:
		return nil
	case <-time.After(d):
		return errors.New("still running")
	}
}
