package encryption

import (
	"context"
	"testing"

	"github.com/objstore/objstore/kms"
)

// gateKMS lets a data key be generated, then holds its caller until
// released: the time a first writer spends between the KMS and the
// bucket's lock.
type gateKMS struct {
	kms.KMS
	generated, release chan struct{}
}

func (g *gateKMS) GenerateDataKey(ctx context.Context, id kms.KeyID, aad []byte) (kms.DataKey, error) {
	dk, err := g.KMS.GenerateDataKey(ctx, id, aad)
	close(g.generated)
	<-g.release
	return dk, err
}

// TestRotateDuringFirstWrite: a rotation that completes while a
// first writer holds a data key generated under the old version must
// not leave the bucket's key sealed under the old version (which the
// rotation report says is no longer needed).
func TestRotateDuringFirstWrite(t *testing.T) {
	ctx := context.Background()
	_, st, k := newTestKeys(t)
	g := &gateKMS{KMS: k, generated: make(chan struct{}), release: make(chan struct{})}
	keys, err := New(g, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := keys.BucketKey(ctx, "a", ""); done <- err }()
	<-g.generated
	rep, err := keys.RotateMasterKey(ctx, kms.DefaultKeyID)
	if err != nil || len(rep.Failed) > 0 || rep.Version != 2 {
		t.Fatalf("rotate: %+v %v", rep, err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	info, _ := st.BucketInfo(ctx, "a")
	_, sealed, err := parseEntry(info.Metadata[mdKeyPrefix+string(kms.DefaultKeyID)])
	if err != nil {
		t.Fatal(err)
	}
	s, err := kms.ParseSealed(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 2 {
		t.Fatalf("bucket key stored after a completed rotation is sealed under version %d, not %d", s.Version, rep.Version)
	}
}
