package iam

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKMS seals data keys with AES-GCM under a master key: the shape of
// the server's adapter over kms.KMS.
type fakeKMS struct {
	master [32]byte
	down   atomic.Bool // every call fails
	calls  atomic.Int64
}

func newFakeKMS(t testing.TB) *fakeKMS {
	k := &fakeKMS{}
	if _, err := rand.Read(k.master[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

var errKMSDown = errors.New("fake kms: unreachable")

func (k *fakeKMS) aead() cipher.AEAD {
	b, _ := aes.NewCipher(k.master[:])
	a, _ := cipher.NewGCM(b)
	return a
}

func (k *fakeKMS) GenerateDataKey(_ context.Context, associated []byte) ([]byte, []byte, error) {
	k.calls.Add(1)
	if k.down.Load() {
		return nil, nil, errKMSDown
	}
	key := make([]byte, 32)
	nonce := make([]byte, 12)
	rand.Read(key)
	rand.Read(nonce)
	return key, k.aead().Seal(nonce, nonce, key, associated), nil
}

func (k *fakeKMS) UnsealDataKey(_ context.Context, sealed, associated []byte) ([]byte, error) {
	k.calls.Add(1)
	if k.down.Load() {
		return nil, errKMSDown
	}
	if len(sealed) < 12 {
		return nil, errors.New("fake kms: short blob")
	}
	return k.aead().Open(nil, sealed[:12], sealed[12:], associated)
}

// secretPolicy holds strings that must never be readable in the file.
const secretPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"PayrollOnly","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::payroll-2026/*"}]}`

// fillStore creates a policy, a user, an access key and a token, and
// returns the strings that must not appear in a sealed file.
func fillStore(t *testing.T, s *Store) (secret, keyID, token string, needles []string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.PutPolicy(ctx, "payroll-readers", []byte(secretPolicy)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "carol.accounting", "payroll-readers"); err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAccessKey(ctx, "carol.accounting", AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok, info, err := s.MintToken(ctx, TokenOptions{Name: "deploy-bot", Scopes: []string{ScopeStatusRead}, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	st := s.snap.Load()
	return k.Secret, k.ID, tok, []string{k.Secret, k.ID, "carol.accounting", "payroll-readers", "PayrollOnly",
		"payroll-2026", "s3:GetObject", "deploy-bot", info.ID, st.tokens[info.ID].SHA256, "secretKey", "sha256", "accessKeys"}
}

func storeBytes(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkNoNeedles(t *testing.T, b []byte, needles []string) {
	t.Helper()
	for _, n := range needles {
		if bytes.Contains(b, []byte(n)) || bytes.Contains(b, []byte(hex.EncodeToString([]byte(n)))) {
			t.Errorf("the sealed store file contains %q", n)
		}
	}
}

// checkContents: a store opened from the file serves what fillStore
// made.
func checkContents(t *testing.T, s *Store, secret, keyID, token string) {
	t.Helper()
	if got, user, ok := s.Secret(keyID); !ok || got != secret || user != "carol.accounting" {
		t.Fatalf("Secret(%s): ok=%v user=%q (secret matches: %v)", keyID, ok, user, got == secret)
	}
	if p, err := s.Policy("payroll-readers"); err != nil || !bytes.Contains(p.Document, []byte("payroll-2026")) {
		t.Fatalf("policy: %v", err)
	}
	if _, err := s.CheckToken(token, ScopeStatusRead); err != nil {
		t.Fatalf("token: %v", err)
	}
}

func TestSealedStore(t *testing.T) {
	dir := t.TempDir()
	k := newFakeKMS(t)
	s, err := Open(dir, Options{Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	secret, keyID, token, needles := fillStore(t, s)
	if !s.Sealed() {
		t.Fatal("Sealed() = false")
	}
	b := storeBytes(t, dir)
	if !bytes.HasPrefix(b, []byte(sealMagic)) {
		t.Fatalf("file starts %q", b[:min(len(b), 16)])
	}
	checkNoNeedles(t, b, needles)
	s.Close()

	t.Run("restart reads it back", func(t *testing.T) {
		s, err := Open(dir, Options{Keys: k})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkContents(t, s, secret, keyID, token)
	})
	t.Run("every write takes a fresh data key", func(t *testing.T) {
		s, err := Open(dir, Options{Keys: k})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		before := storeBytes(t, dir)
		if err := s.SetUserEnabled(context.Background(), "carol.accounting", true); err != nil {
			t.Fatal(err)
		}
		after := storeBytes(t, dir)
		_, k1, _, _, _ := sealedParts(before)
		_, k2, _, _, _ := sealedParts(after)
		if bytes.Equal(k1, k2) {
			t.Fatal("two writes sealed under the same data key")
		}
	})
	t.Run("refused without the KMS", func(t *testing.T) {
		if _, err := Open(dir, Options{}); !errors.Is(err, ErrStoreSealed) {
			t.Fatalf("Open without keys: %v", err)
		}
	})
	t.Run("refused by another KMS", func(t *testing.T) {
		if _, err := Open(dir, Options{Keys: newFakeKMS(t)}); !errors.Is(err, ErrStoreSealed) {
			t.Fatalf("Open with another master key: %v", err)
		}
	})
	t.Run("errors hold no secret", func(t *testing.T) {
		_, err := Open(dir, Options{Keys: newFakeKMS(t)})
		for _, n := range needles {
			if bytes.Contains([]byte(err.Error()), []byte(n)) {
				t.Fatalf("error %q holds %q", err, n)
			}
		}
	})
}

// TestSealedStoreMigration: a plaintext store (before sealing) opens
// with Keys and is sealed at once.
func TestSealedStoreMigration(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret, keyID, token, needles := fillStore(t, s)
	s.Close()
	if b := storeBytes(t, dir); !bytes.Contains(b, []byte(secret)) || b[0] != '{' {
		t.Fatal("the store without Keys is not the plaintext document this test migrates")
	}
	k := newFakeKMS(t)
	s, err = Open(dir, Options{Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, s, secret, keyID, token)
	s.Close()
	b := storeBytes(t, dir)
	if !isSealed(b) {
		t.Fatal("Open with Keys left the store in plaintext")
	}
	checkNoNeedles(t, b, needles)
	leftovers, _ := filepath.Glob(filepath.Join(dir, StoreFile+".tmp-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	s, err = Open(dir, Options{Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkContents(t, s, secret, keyID, token)
}

// TestSealedStoreTamper: a change anywhere in the file, or a cut, is
// refused at Open.
func TestSealedStoreTamper(t *testing.T) {
	dir := t.TempDir()
	k := newFakeKMS(t)
	s, err := Open(dir, Options{Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	fillStore(t, s)
	s.Close()
	orig := storeBytes(t, dir)
	ad, sealedKey, _, _, err := sealedParts(orig)
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]int{
		"magic":      0,
		"version":    len(sealMagic),
		"key length": len(sealMagic) + 2,
		"sealed key": sealHeaderSize + len(sealedKey)/2,
		"nonce":      len(ad) + 3,
		"ciphertext": len(ad) + sealNonceSize + 10,
		"tag":        len(orig) - 1,
	}
	path := filepath.Join(dir, StoreFile)
	for name, i := range at {
		t.Run("flip "+name, func(t *testing.T) {
			b := bytes.Clone(orig)
			b[i] ^= 0x40
			os.WriteFile(path, b, 0o600)
			_, err := Open(dir, Options{Keys: k})
			if !errors.Is(err, ErrStoreSealed) && !errors.Is(err, ErrStoreFormat) {
				t.Fatalf("tampered %s: %v", name, err)
			}
		})
	}
	for _, n := range []int{len(orig) - 1, len(ad) + 5, sealHeaderSize + 1, 5} {
		os.WriteFile(path, orig[:n], 0o600)
		if _, err := Open(dir, Options{Keys: k}); !errors.Is(err, ErrStoreSealed) && !errors.Is(err, ErrStoreFormat) {
			t.Fatalf("cut to %d bytes: %v", n, err)
		}
	}
}

// TestSealedStoreKMSDown: a change the KMS cannot seal fails and leaves
// both the file and the served snapshot as they were.
func TestSealedStoreKMSDown(t *testing.T) {
	dir := t.TempDir()
	k := newFakeKMS(t)
	s, err := Open(dir, Options{Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fillStore(t, s)
	before := storeBytes(t, dir)
	k.down.Store(true)
	if _, err := s.CreateUser(context.Background(), "dave"); !errors.Is(err, errKMSDown) {
		t.Fatalf("CreateUser with the KMS down: %v", err)
	}
	if _, err := s.User("dave"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("a change that was not written is served: %v", err)
	}
	if !bytes.Equal(before, storeBytes(t, dir)) {
		t.Fatal("the file changed")
	}
	k.down.Store(false)
	if _, err := s.CreateUser(context.Background(), "dave"); err != nil {
		t.Fatal(err)
	}
}

// FuzzSealedStore: any bytes given as a sealed store file are refused
// with ErrStoreFormat or ErrStoreSealed, or open; never a panic.
func FuzzSealedStore(f *testing.F) {
	k := newFakeKMS(f)
	doc := []byte(`{"version":1,"users":{},"accessKeys":{},"policies":{},"tokens":{}}`)
	sealed, err := sealStore(context.Background(), k, doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte(sealMagic))
	f.Add(append([]byte(sealMagic), 1, 0xff, 0xff))
	f.Add(append([]byte(sealMagic), 2, 0, 1, 0))
	f.Add(sealed[:len(sealed)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := openStore(context.Background(), k, b)
		if err != nil {
			if !errors.Is(err, ErrStoreFormat) && !errors.Is(err, ErrStoreSealed) {
				t.Fatalf("error %v matches neither sentinel", err)
			}
			return
		}
		if !bytes.Equal(out, doc) {
			t.Fatalf("a forged file opened: %q", out)
		}
	})
}
