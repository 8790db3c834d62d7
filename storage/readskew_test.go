package storage

import (
	"bytes"
	"context"
	"testing"
	"time"
)

type slowReadKey struct{}

// slowGetDrive delays, on the drives at positions >= slowFrom, the
// record reads of a context marked with slowReadKey until gate
// closes: a read of the set whose drives answer at different times.
type slowGetDrive struct {
	Drive
	pos, slowFrom int
	entered       chan<- int
	gate          <-chan struct{}
}

func (g *slowGetDrive) Get(ctx context.Context, key []byte) ([]byte, error) {
	if ctx.Value(slowReadKey{}) == nil || len(key) == 0 || key[0] == prefixInline {
		return g.Drive.Get(ctx, key)
	}
	if g.pos >= g.slowFrom {
		g.entered <- g.pos
		<-g.gate
		return g.Drive.Get(ctx, key)
	}
	v, err := g.Drive.Get(ctx, key)
	g.entered <- g.pos
	return v, err
}

// TestReadSpanningTwoOverwritesNotFound checks that a GET whose record
// reads span two overwrites still finds the key. It reads the object's
// record from the six drives in parallel; three answer at once (version
// A), three answer late, after two overwrites (A->B, B->C) have each
// committed on every drive (version C). Every version is then held by
// three drives, below the read quorum; C vouches for B (its Replaces),
// which none of the drives the read saw holds, and nothing vouches for
// A, so those records settle on no version. The key existed throughout:
// the GET must read again and return A or C whole, not NoSuchKey. Slow
// drives (a cold read, a stalled disk, a scheduler delay under load)
// while a key is overwritten twice in quick succession are enough.
func TestReadSpanningTwoOverwritesNotFound(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	a, b, c := randBytes(1, 1000), randBytes(2, 1000), randBytes(3, 1000)
	if _, err := tryPut(ctx, s, "k", a, nil); err != nil {
		t.Fatal(err)
	}
	s.settle()
	st := s.setFor("b", "k")
	entered := make(chan int, 6)
	gate := make(chan struct{})
	for p, d := range st.drives() {
		st.replace(p, &slowGetDrive{Drive: d, pos: p, slowFrom: 3, entered: entered, gate: gate})
	}
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		rctx := context.WithValue(ctx, slowReadKey{}, true)
		r, err := s.OpenObject(rctx, "b", "k", GetOptions{})
		if err != nil {
			done <- result{nil, err}
			return
		}
		var buf bytes.Buffer
		err = r.WriteRange(ctx, &buf, 0, r.Info().Size)
		r.Close() // before the result: the test closes the store once it has it
		done <- result{buf.Bytes(), err}
	}()
	for range 6 {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the read did not reach the drives")
		}
	}
	for _, body := range [][]byte{b, c} {
		if _, err := tryPut(ctx, s, "k", body, nil); err != nil {
			t.Fatal(err)
		}
		s.settle()
	}
	close(gate)
	res := <-done
	if res.err != nil {
		t.Fatalf("GET of a key that existed throughout two overwrites: %v (want version A or C whole)", res.err)
	}
	if !bytes.Equal(res.body, a) && !bytes.Equal(res.body, c) {
		t.Fatalf("GET returned %d bytes that are neither A nor C", len(res.body))
	}
}
