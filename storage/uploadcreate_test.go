package storage

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/objstore/objstore/storage/drive"
)

// TestHealPassDropsUploadBeingCreated checks that a heal pass never
// rolls back an upload whose creation is still writing its records.
// NewMultipartUpload writes its upload record on every drive; a heal
// pass (the scanner, or the pass a returning drive starts) reads the
// upload's records while the creation has reached three of the six
// drives, which looks like "a creation that did not finish" (three
// holders, every drive answering: below the write quorum). The creation
// then reaches the other three and is acknowledged: the client's upload
// id must serve UploadPart, where a pass that deleted the record from
// those three drives would leave it answering NoSuchUpload for ever,
// three drives being fewer than a read quorum.
func TestHealPassDropsUploadBeingCreated(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	if err := s.MakeBucket(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	st := s.setFor("b", "k")
	isCreate := func(ops []drive.Op) bool {
		return len(ops) == 1 && !ops[0].Delete && len(ops[0].Key) > 0 && ops[0].Key[0] == prefixUpload
	}
	entered := make(chan int, 6)
	gate := make(chan struct{})
	for p, d := range st.drives() {
		st.replace(p, &applyGate{Drive: d, match: isCreate, gated: p >= 3, entered: entered, gate: gate, pos: p})
	}
	type created struct {
		id  string
		err error
	}
	done := make(chan created, 1)
	go func() {
		id, err := s.NewMultipartUpload(ctx, "b", "k", map[string]string{"content-type": "x/y"})
		done <- created{id, err}
	}()
	// Three drives applied the record, three are still syncing theirs.
	for range 6 {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the creation did not reach the drives")
		}
	}
	// A heal pass runs meanwhile.
	if _, err := s.Heal(ctx, HealOptions{}); err != nil {
		t.Logf("heal pass: %v", err)
	}
	close(gate)
	c := <-done
	if c.err != nil {
		t.Fatalf("create: %v", c.err)
	}
	s.settle()
	// The client uploads a part of the upload it was given.
	body := randBytes(3, 1000)
	_, err := s.PutObjectPart(ctx, "b", "k", c.id, 1, bytes.NewReader(body), PutOptions{
		Size: int64(len(body)), Finish: func() (string, map[string]string, error) { return md5hex(body), nil, nil },
	})
	if err != nil {
		t.Fatalf("upload part of the acknowledged upload %s: %v", c.id, err)
	}
}
