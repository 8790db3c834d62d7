//go:build !cgo

package pkcs11

import (
	"os"
	"testing"
)

// TestNeedsCgo makes a cgo-less test run visible: the PKCS#11 tests need
// cgo (and a C compiler) to load SoftHSM2.
func TestNeedsCgo(t *testing.T) {
	msg := "SKIPPING PKCS#11 TESTS: built without cgo (CGO_ENABLED=0 or no C compiler); PKCS#11 modules are C libraries"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so this is a failure")
	}
	t.Skip(msg)
}
