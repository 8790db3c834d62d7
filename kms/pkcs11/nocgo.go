//go:build !cgo

package pkcs11

import (
	"context"
	"errors"

	"github.com/objstore/objstore/kms"
)

// HSM is the PKCS#11 backend. This build has no cgo, so Open always fails.
type HSM struct {
	*kms.Manager
}

// Open fails: PKCS#11 modules are C libraries, loaded through cgo, and
// this binary was built with CGO_ENABLED=0.
func Open(ctx context.Context, cfg Config) (*HSM, error) {
	return nil, newError("open", errors.New("objstore was built without cgo; PKCS#11 needs it"))
}
