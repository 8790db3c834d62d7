package server

import (
	"context"

	"github.com/objstore/objstore/kms"
)

// KMSKeySource hands out data keys sealed by one master key of a KMS: the
// iam.KeySource that seals iam.json and the audit.KeySource that MACs the
// audit log's anchors (neither package imports kms; both declare the two
// methods they need). The server uses kms.DefaultKeyID; operator tools
// use it to check anchors offline.
type KMSKeySource struct {
	KMS kms.KMS
	Key kms.KeyID
}

// operatorKeySource returns the server's key source, or nil without a
// KMS (the server always has one; tests of other layers may not).
func (s *Server) operatorKeySource() *KMSKeySource {
	if s.kms == nil {
		return nil
	}
	return &KMSKeySource{KMS: s.kms, Key: kms.DefaultKeyID}
}

// GenerateDataKey returns a fresh data key and its sealed form.
func (o *KMSKeySource) GenerateDataKey(ctx context.Context, associated []byte) (plaintext, sealed []byte, err error) {
	dk, err := o.KMS.GenerateDataKey(ctx, o.Key, associated)
	if err != nil {
		return nil, nil, err
	}
	return dk.Plaintext, dk.Sealed, nil
}

// UnsealDataKey opens a sealed data key; the blob names its master key
// and version, so keys sealed before a rotation keep opening.
func (o *KMSKeySource) UnsealDataKey(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	return o.KMS.Unseal(ctx, sealed, associated)
}
