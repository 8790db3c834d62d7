package kms_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/objstore/objstore/kms"
)

// A bucket key's life: generated under the default master key, stored
// sealed, unsealed when the bucket is used, rewrapped after a rotation.
func ExampleNewKeyring() {
	dir, _ := os.MkdirTemp("", "kms-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// A server would use kms.KeyringFromEnv(dataDir, logger) instead.
	k, err := kms.NewKeyring(ctx, kms.KeyringConfig{
		Path:   filepath.Join(dir, "keyring"),
		RawKey: bytes.Repeat([]byte{0x42}, kms.RawKeySize),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer k.Close()
	if err := kms.EnsureKey(ctx, k, kms.DefaultKeyID); err != nil {
		fmt.Println(err)
		return
	}

	bucket := []byte("bucket/photos")
	dk, _ := k.GenerateDataKey(ctx, kms.DefaultKeyID, bucket)
	defer dk.Wipe()
	// Keep dk.Sealed with the bucket; use dk.Plaintext, then wipe it.

	pt, _ := k.Unseal(ctx, dk.Sealed, bucket)
	fmt.Println("unsealed the same key:", bytes.Equal(pt, dk.Plaintext))
	_, err = k.Unseal(ctx, dk.Sealed, []byte("bucket/other"))
	fmt.Println(err)

	_ = k.RotateKey(ctx, kms.DefaultKeyID)
	rewrapped, _ := k.Rewrap(ctx, dk.Sealed, bucket)
	s, _ := kms.ParseSealed(rewrapped)
	fmt.Printf("rewrapped under %s v%d\n", s.Key, s.Version)
	// Output:
	// unsealed the same key: true
	// kms: keyring: unseal key "default" v1: sealed data does not authenticate (wrong key, tampered, or wrong associated data)
	// rewrapped under default v2
}
