package server

import (
	"context"

	"github.com/objstore/objstore/kms"
)

// operatorKeys hands iam and audit data keys sealed by the KMS's default
// master key: iam seals iam.json with them, audit MACs its anchors.
// Neither package imports kms; both declare the two methods they need.
type operatorKeys struct {
	kms kms.KMS
	id  kms.KeyID
}

// operatorKeySource returns the server's operatorKeys, or nil without a
// KMS (the server always has one; tests of other layers may not).
func (s *Server) operatorKeySource() *operatorKeys {
	if s.kms == nil {
		return nil
	}
	return &operatorKeys{kms: s.kms, id: kms.DefaultKeyID}
}

// GenerateDataKey returns a fresh data key and its sealed form.
func (o *operatorKeys) GenerateDataKey(ctx context.Context, associated []byte) (plaintext, sealed []byte, err error) {
	dk, err := o.kms.GenerateDataKey(ctx, o.id, associated)
	if err != nil {
		return nil, nil, err
	}
	return dk.Plaintext, dk.Sealed, nil
}

// UnsealDataKey opens a sealed data key; the blob names its master key
// and version, so keys sealed before a rotation keep opening.
func (o *operatorKeys) UnsealDataKey(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	return o.kms.Unseal(ctx, sealed, associated)
}
