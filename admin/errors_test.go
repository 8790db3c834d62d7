package admin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/storage"
)

// TestErrorFor: failures an operator can retry answer 503, refusals a
// retry cannot mend 4xx, and only the unexpected 500.
func TestErrorFor(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("admin: rotate KMS key: %w", fmt.Errorf("%w: dial tcp: refused", kms.ErrBackend)), 503, "KMSUnavailable"},
		{fmt.Errorf("admin: rotate KMS key: %w", kms.ErrKeyDisabled), 409, "KeyDisabled"},
		{storage.ErrWriteQuorum, 503, "Unavailable"},
		{errors.New("boom"), 500, "InternalError"},
	} {
		if e := errorFor(tc.err); e.Status != tc.status || e.Code != tc.code {
			t.Errorf("errorFor(%v) = %d %s, want %d %s", tc.err, e.Status, e.Code, tc.status, tc.code)
		}
	}
}
