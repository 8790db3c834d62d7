// Package kmstest is the conformance suite every kms backend runs: one set
// of table-driven tests (create, generate, unseal, associated data,
// tampering, unknown keys, rotation and rewrap, persistence across a
// reopen, listing, concurrency) and the GenerateDataKey/Unseal benchmarks,
// so that the keyring, PKCS#11 and KMIP backends are held to the same
// contract. It is imported by tests only.
package kmstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/objstore/objstore/kms"
)

// Harness describes the backend under test.
type Harness struct {
	// Backend is the backend's name, as KeyStatus.Backend reports it.
	Backend string
	// Open opens a KMS over the backend's storage (keyring file, token,
	// server). Every call opens the same storage: keys created through one
	// KMS are visible through the next. The suite closes what it opens.
	Open func(t testing.TB) kms.KMS
	// Restart, if set, restarts the backend's server between a Close and
	// the next Open in the persistence test.
	Restart func(t testing.TB)
}

// uniqueID returns a key id no other test of this run uses: all subtests
// share the backend's storage.
func uniqueID(prefix string) kms.KeyID {
	return kms.KeyID(fmt.Sprintf("%s-%08x", prefix, rand.Uint32()))
}

// expectKind asserts err is an *kms.Error for key id matching want.
func expectKind(t testing.TB, err error, want error, id kms.KeyID, backend string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	var kerr *kms.Error
	if !errors.As(err, &kerr) {
		t.Fatalf("error %v (%T) is not a *kms.Error", err, err)
	}
	if id != "" && kerr.Key != id {
		t.Errorf("error names key %q, want %q: %v", kerr.Key, id, err)
	}
	if kerr.Backend != backend {
		t.Errorf("error names backend %q, want %q: %v", kerr.Backend, backend, err)
	}
	n := 0
	for _, s := range []error{kms.ErrInvalidKeyID, kms.ErrKeyNotFound, kms.ErrKeyExists, kms.ErrSealed, kms.ErrBackend, kms.ErrKeyDisabled} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %v matches %d sentinels, want exactly 1", err, n)
	}
}

func mustCreate(t testing.TB, k kms.KMS, id kms.KeyID) {
	t.Helper()
	if err := k.CreateKey(context.Background(), id); err != nil {
		t.Fatalf("CreateKey(%s): %v", id, err)
	}
}

func mustGenerate(t testing.TB, k kms.KMS, id kms.KeyID, assoc string) kms.DataKey {
	t.Helper()
	dk, err := k.GenerateDataKey(context.Background(), id, []byte(assoc))
	if err != nil {
		t.Fatalf("GenerateDataKey(%s): %v", id, err)
	}
	return dk
}

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	k := h.Open(t)
	defer k.Close()
	ctx := context.Background()

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"CreateAndStatus", func(t *testing.T) {
			id := uniqueID("create")
			before := time.Now().Add(-24 * time.Hour) // PKCS#11 stores dates only
			mustCreate(t, k, id)
			st, err := k.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.ID != id || st.Backend != h.Backend || st.Version != 1 || !st.Enabled {
				t.Errorf("Status = %+v, want id %s, backend %s, version 1, enabled", st, id, h.Backend)
			}
			if st.Created.Before(before) || st.Created.After(time.Now().Add(time.Minute)) {
				t.Errorf("Created = %v, want about now", st.Created)
			}
			expectKind(t, k.CreateKey(ctx, id), kms.ErrKeyExists, id, h.Backend)
		}},
		{"InvalidKeyID", func(t *testing.T) {
			for _, id := range []kms.KeyID{"", "a/b", "bad id", kms.KeyID(bytes.Repeat([]byte("x"), 65)), "ключ"} {
				expectKind(t, k.CreateKey(ctx, id), kms.ErrInvalidKeyID, id, h.Backend)
				_, err := k.GenerateDataKey(ctx, id, nil)
				expectKind(t, err, kms.ErrInvalidKeyID, id, h.Backend)
			}
		}},
		{"GenerateUnseal", func(t *testing.T) {
			id := uniqueID("gen")
			mustCreate(t, k, id)
			seen := map[string]bool{}
			for i, assoc := range []string{"bucket/photos", "", "bucket/a\x00b", string(bytes.Repeat([]byte("z"), 3000))} {
				dk := mustGenerate(t, k, id, assoc)
				if len(dk.Plaintext) != kms.DataKeySize || bytes.Equal(dk.Plaintext, make([]byte, kms.DataKeySize)) {
					t.Fatalf("plaintext of %d bytes: %x", len(dk.Plaintext), dk.Plaintext)
				}
				if seen[string(dk.Plaintext)] || seen[string(dk.Sealed)] {
					t.Fatalf("generate %d repeated a key or a sealed blob", i)
				}
				seen[string(dk.Plaintext)], seen[string(dk.Sealed)] = true, true
				if bytes.Contains(dk.Sealed, dk.Plaintext) {
					t.Fatal("sealed blob contains the plaintext")
				}
				s, err := kms.ParseSealed(dk.Sealed)
				if err != nil {
					t.Fatal(err)
				}
				if s.Key != id || s.Version != 1 || s.Backend.String() != h.Backend {
					t.Errorf("sealed names %s/%s v%d, want %s/%s v1", s.Backend, s.Key, s.Version, h.Backend, id)
				}
				pt, err := k.Unseal(ctx, dk.Sealed, []byte(assoc))
				if err != nil {
					t.Fatalf("Unseal: %v", err)
				}
				if !bytes.Equal(pt, dk.Plaintext) {
					t.Fatalf("Unseal = %x, want %x", pt, dk.Plaintext)
				}
			}
		}},
		{"WrongAssociatedData", func(t *testing.T) {
			id := uniqueID("assoc")
			mustCreate(t, k, id)
			dk := mustGenerate(t, k, id, "bucket/photos")
			for _, other := range []string{"bucket/photo", "bucket/photos\x00", "", "bucket/other"} {
				pt, err := k.Unseal(ctx, dk.Sealed, []byte(other))
				if pt != nil {
					t.Fatalf("associated %q: plaintext returned", other)
				}
				expectKind(t, err, kms.ErrSealed, id, h.Backend)
			}
		}},
		{"Tampered", func(t *testing.T) {
			id := uniqueID("tamper")
			mustCreate(t, k, id)
			dk := mustGenerate(t, k, id, "bucket/photos")
			check := func(what string, b []byte) {
				t.Helper()
				pt, err := k.Unseal(ctx, b, []byte("bucket/photos"))
				if err == nil || pt != nil {
					t.Fatalf("%s: unsealed (err %v)", what, err)
				}
				// A flipped key id or version byte may name a key
				// that does not exist; anything else is ErrSealed.
				if !errors.Is(err, kms.ErrSealed) && !errors.Is(err, kms.ErrKeyNotFound) {
					t.Fatalf("%s: error %v, want ErrSealed or ErrKeyNotFound", what, err)
				}
			}
			for i := range dk.Sealed {
				b := bytes.Clone(dk.Sealed)
				b[i] ^= 1 << (i % 8)
				check(fmt.Sprintf("bit flipped in byte %d", i), b)
			}
			for _, n := range []int{0, 1, 7, len(dk.Sealed) / 2, len(dk.Sealed) - 16, len(dk.Sealed) - 1} {
				check(fmt.Sprintf("truncated to %d", n), dk.Sealed[:n])
			}
			check("byte appended", append(bytes.Clone(dk.Sealed), 0))
			s, _ := kms.ParseSealed(dk.Sealed)
			s.Ciphertext = s.Ciphertext[:len(s.Ciphertext)-1]
			shortTag, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			check("tag shortened", shortTag)
		}},
		{"UnknownKey", func(t *testing.T) {
			id := uniqueID("missing")
			_, err := k.GenerateDataKey(ctx, id, nil)
			expectKind(t, err, kms.ErrKeyNotFound, id, h.Backend)
			_, err = k.Status(ctx, id)
			expectKind(t, err, kms.ErrKeyNotFound, id, h.Backend)
			expectKind(t, k.RotateKey(ctx, id), kms.ErrKeyNotFound, id, h.Backend)

			real := uniqueID("real")
			mustCreate(t, k, real)
			dk := mustGenerate(t, k, real, "a")
			for _, c := range []struct {
				key     kms.KeyID
				version int
			}{{id, 1}, {real, 2}, {real, 1 << 30}} {
				s, _ := kms.ParseSealed(dk.Sealed)
				s.Key, s.Version = c.key, c.version
				b, err := s.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				_, err = k.Unseal(ctx, b, []byte("a"))
				expectKind(t, err, kms.ErrKeyNotFound, c.key, h.Backend)
				var kerr *kms.Error
				if errors.As(err, &kerr) && kerr.Version != c.version {
					t.Errorf("error names version %d, want %d", kerr.Version, c.version)
				}
			}
		}},
		{"RotateRewrap", func(t *testing.T) {
			id := uniqueID("rotate")
			mustCreate(t, k, id)
			dk1 := mustGenerate(t, k, id, "bucket/photos")
			if err := k.RotateKey(ctx, id); err != nil {
				t.Fatal(err)
			}
			st, err := k.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Version != 2 || st.Rotated.Before(st.Created) {
				t.Errorf("after rotation Status = %+v, want version 2, rotated >= created", st)
			}
			pt, err := k.Unseal(ctx, dk1.Sealed, []byte("bucket/photos"))
			if err != nil || !bytes.Equal(pt, dk1.Plaintext) {
				t.Fatalf("v1 blob after rotation: %v", err)
			}
			dk2 := mustGenerate(t, k, id, "bucket/photos")
			if s, _ := kms.ParseSealed(dk2.Sealed); s.Version != 2 {
				t.Errorf("new data key sealed under v%d, want v2", s.Version)
			}
			re, err := k.Rewrap(ctx, dk1.Sealed, []byte("bucket/photos"))
			if err != nil {
				t.Fatal(err)
			}
			if s, _ := kms.ParseSealed(re); s.Version != 2 || s.Key != id {
				t.Errorf("rewrapped blob names %s v%d, want %s v2", s.Key, s.Version, id)
			}
			pt, err = k.Unseal(ctx, re, []byte("bucket/photos"))
			if err != nil || !bytes.Equal(pt, dk1.Plaintext) {
				t.Fatalf("rewrapped blob: %v", err)
			}
			_, err = k.Unseal(ctx, re, []byte("bucket/other"))
			expectKind(t, err, kms.ErrSealed, id, h.Backend)
			_, err = k.Rewrap(ctx, dk1.Sealed, []byte("bucket/other"))
			expectKind(t, err, kms.ErrSealed, id, h.Backend)
			if err := k.RotateKey(ctx, id); err != nil {
				t.Fatal(err)
			}
			if st, _ := k.Status(ctx, id); st.Version != 3 {
				t.Errorf("after second rotation version %d, want 3", st.Version)
			}
			for _, b := range [][]byte{dk1.Sealed, dk2.Sealed, re} {
				if _, err := k.Unseal(ctx, b, []byte("bucket/photos")); err != nil {
					t.Errorf("old blob after second rotation: %v", err)
				}
			}
		}},
		{"List", func(t *testing.T) {
			ids := []kms.KeyID{uniqueID("list-b"), uniqueID("list-a"), uniqueID("list-c")}
			for _, id := range ids {
				mustCreate(t, k, id)
			}
			if err := k.RotateKey(ctx, ids[1]); err != nil {
				t.Fatal(err)
			}
			all, err := k.ListKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.IsSortedFunc(all, func(a, b kms.KeyStatus) int { return cmpID(a.ID, b.ID) }) {
				t.Errorf("ListKeys not sorted: %v", all)
			}
			for i, id := range ids {
				j := slices.IndexFunc(all, func(s kms.KeyStatus) bool { return s.ID == id })
				if j < 0 {
					t.Fatalf("ListKeys lacks %s", id)
				}
				want := 1
				if i == 1 {
					want = 2
				}
				if all[j].Version != want || all[j].Backend != h.Backend || !all[j].Enabled {
					t.Errorf("ListKeys[%s] = %+v, want version %d", id, all[j], want)
				}
			}
		}},
		{"Concurrent", func(t *testing.T) {
			id := uniqueID("conc")
			mustCreate(t, k, id)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := range 4 {
				wg.Go(func() {
					for i := range 10 {
						assoc := []byte(fmt.Sprintf("g%d/%d", g, i))
						dk, err := k.GenerateDataKey(ctx, id, assoc)
						if err != nil {
							errs <- err
							return
						}
						pt, err := k.Unseal(ctx, dk.Sealed, assoc)
						if err != nil || !bytes.Equal(pt, dk.Plaintext) {
							errs <- fmt.Errorf("unseal: %v", err)
							return
						}
					}
				})
			}
			wg.Go(func() {
				for range 2 {
					if err := k.RotateKey(ctx, id); err != nil {
						errs <- err
					}
				}
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}},
		{"CanceledContext", func(t *testing.T) {
			id := uniqueID("ctx")
			mustCreate(t, k, id)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := k.GenerateDataKey(cctx, id, nil)
			expectKind(t, err, kms.ErrBackend, id, h.Backend)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
	// Persistence runs alone, with no other KMS open on the backend, so
	// that a reopen really reads the storage (a PKCS#11 module is
	// finalised and loaded again).
	if err := k.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Run("Persistence", func(t *testing.T) { persistence(t, h) })
}

func persistence(t *testing.T, h Harness) {
	ctx := context.Background()
	k1 := h.Open(t)
	t.Cleanup(func() { _ = k1.Close() }) // on failure; Close is idempotent
	id := uniqueID("persist")
	mustCreate(t, k1, id)
	dk1 := mustGenerate(t, k1, id, "bucket/p")
	if err := k1.RotateKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	dk2 := mustGenerate(t, k1, id, "bucket/p")
	if err := k1.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := k1.GenerateDataKey(ctx, id, nil)
	expectKind(t, err, kms.ErrBackend, id, h.Backend)
	if h.Restart != nil {
		h.Restart(t)
	}
	k2 := h.Open(t)
	t.Cleanup(func() { _ = k2.Close() })
	for _, dk := range []kms.DataKey{dk1, dk2} {
		pt, err := k2.Unseal(ctx, dk.Sealed, []byte("bucket/p"))
		if err != nil || !bytes.Equal(pt, dk.Plaintext) {
			t.Fatalf("after reopen: %v", err)
		}
	}
	st, err := k2.Status(ctx, id)
	if err != nil || st.Version != 2 {
		t.Fatalf("after reopen Status = %+v, %v; want version 2", st, err)
	}
	dk3 := mustGenerate(t, k2, id, "bucket/p")
	if s, _ := kms.ParseSealed(dk3.Sealed); s.Version != 2 {
		t.Errorf("after reopen sealed under v%d, want v2", s.Version)
	}
	expectKind(t, k2.CreateKey(ctx, id), kms.ErrKeyExists, id, h.Backend)
}

func cmpID(a, b kms.KeyID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Bench runs the GenerateDataKey and Unseal benchmarks against the KMS
// open returns; the ops/s metric is what matters (a data key is 32 bytes).
func Bench(b *testing.B, open func(tb testing.TB) kms.KMS) {
	k := open(b)
	defer k.Close()
	ctx := context.Background()
	id := uniqueID("bench")
	mustCreate(b, k, id)
	assoc := []byte("bucket/bench")
	b.Run("GenerateDataKey", func(b *testing.B) {
		b.SetBytes(kms.DataKeySize)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.GenerateDataKey(ctx, id, assoc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("Unseal", func(b *testing.B) {
		dk := mustGenerate(b, k, id, string(assoc))
		b.SetBytes(kms.DataKeySize)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Unseal(ctx, dk.Sealed, assoc); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
