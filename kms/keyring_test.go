package kms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/kms/kmstest"
)

// fastArgon keeps passphrase tests quick; one test uses the defaults.
var fastArgon = kms.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

func openKeyring(t testing.TB, cfg kms.KeyringConfig) *kms.Keyring {
	t.Helper()
	k, err := kms.NewKeyring(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func TestKeyringSuite(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  func(path string) kms.KeyringConfig
	}{
		{"RawKey", func(p string) kms.KeyringConfig {
			return kms.KeyringConfig{Path: p, RawKey: bytes.Repeat([]byte{7}, 32)}
		}},
		{"Passphrase", func(p string) kms.KeyringConfig {
			return kms.KeyringConfig{Path: p, Passphrase: []byte("correct horse battery staple"), Argon2: fastArgon}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kms", "keyring")
			kmstest.Run(t, kmstest.Harness{
				Backend: "keyring",
				Open:    func(t testing.TB) kms.KMS { return openKeyring(t, c.cfg(path)) },
			})
		})
	}
}

func TestKeyringFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "keyring")
	pass := []byte("a passphrase of some length")
	k := openKeyring(t, kms.KeyringConfig{Path: path, Passphrase: pass, Argon2: fastArgon})
	if err := k.CreateKey(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	dk, err := k.GenerateDataKey(ctx, "default", []byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("keyring directory mode %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("keyring directory holds %d entries, want only the keyring (temporary files left?)", len(entries))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("OSKEYRNG\x01\x01")) {
		t.Errorf("file starts %q", data[:10])
	}
	if bytes.Contains(data, []byte("default")) {
		t.Error("key id in clear in the keyring file")
	}

	tests := []struct {
		name string
		cfg  kms.KeyringConfig
		data []byte // file contents to write first, if set
		want error
	}{
		{"WrongPassphrase", kms.KeyringConfig{Path: path, Passphrase: []byte("not the passphrase")}, nil, kms.ErrSealed},
		{"RawKeyForPassphraseFile", kms.KeyringConfig{Path: path, RawKey: make([]byte, 32)}, nil, kms.ErrSealed},
		{"TamperedHeaderSalt", kms.KeyringConfig{Path: path, Passphrase: pass}, flip(data, 25), kms.ErrSealed},
		{"TamperedBody", kms.KeyringConfig{Path: path, Passphrase: pass}, flip(data, len(data)-20), kms.ErrSealed},
		{"TamperedArgonTime", kms.KeyringConfig{Path: path, Passphrase: pass}, flip(data, 13), kms.ErrSealed},
		{"Truncated", kms.KeyringConfig{Path: path, Passphrase: pass}, data[:len(data)-1], kms.ErrSealed},
		{"NotAKeyring", kms.KeyringConfig{Path: path, Passphrase: pass}, []byte("hello world, not a keyring at all"), kms.ErrBackend},
		{"HugeArgonMemory", kms.KeyringConfig{Path: path, Passphrase: pass}, setByte(data, 14, 0xff), kms.ErrBackend},
		{"ShortPassphrase", kms.KeyringConfig{Path: path, Passphrase: []byte("short")}, nil, kms.ErrBackend},
		{"BothSecrets", kms.KeyringConfig{Path: path, Passphrase: pass, RawKey: make([]byte, 32)}, nil, kms.ErrBackend},
		{"NoSecret", kms.KeyringConfig{Path: path}, nil, kms.ErrBackend},
		{"RawKeyLength", kms.KeyringConfig{Path: path, RawKey: make([]byte, 16)}, nil, kms.ErrBackend},
		{"NoPath", kms.KeyringConfig{Passphrase: pass}, nil, kms.ErrBackend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.data != nil {
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
				defer os.WriteFile(path, data, 0o600)
			}
			k, err := kms.NewKeyring(ctx, tc.cfg)
			if err == nil {
				k.Close()
				t.Fatal("NewKeyring succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var kerr *kms.Error
			if !errors.As(err, &kerr) || kerr.Backend != "keyring" || kerr.Op != "open" {
				t.Errorf("error %#v does not name the keyring backend and open", err)
			}
			if strings.Contains(err.Error(), string(pass)) {
				t.Error("error text holds the passphrase")
			}
		})
	}

	k = openKeyring(t, kms.KeyringConfig{Path: path, Passphrase: pass})
	defer k.Close()
	pt, err := k.Unseal(ctx, dk.Sealed, []byte("b"))
	if err != nil || !bytes.Equal(pt, dk.Plaintext) {
		t.Fatalf("reopen: %v", err)
	}
}

// TestKeyringDefaultArgon2 creates a keyring with the default parameters
// and checks they are what the header records.
func TestKeyringDefaultArgon2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring")
	cfg := kms.KeyringConfig{Path: path, Passphrase: []byte("default parameters")}
	openKeyring(t, cfg).Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 3, 0, 1, 0, 0, 2, 16} // t=3, 65536 KiB, 2 lanes, 16-byte salt
	if !bytes.Equal(data[10:20], want) {
		t.Errorf("header parameters %x, want %x", data[10:20], want)
	}
	openKeyring(t, cfg).Close()
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x10
	return c
}

func setByte(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

func TestKeyringRekey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyring")
	raw := bytes.Repeat([]byte{1}, 32)
	k := openKeyring(t, kms.KeyringConfig{Path: path, RawKey: raw, Argon2: fastArgon})
	if err := k.CreateKey(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	dk, _ := k.GenerateDataKey(ctx, "default", nil)
	pass := []byte("new operator passphrase")
	if err := k.Rekey(ctx, pass, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Rekey(ctx, []byte("short"), nil); !errors.Is(err, kms.ErrBackend) {
		t.Errorf("Rekey with a short passphrase: %v", err)
	}
	// The running keyring keeps working and writes under the new secret.
	if err := k.RotateKey(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	k.Close()
	if _, err := kms.NewKeyring(ctx, kms.KeyringConfig{Path: path, RawKey: raw}); !errors.Is(err, kms.ErrSealed) {
		t.Fatalf("old raw key after Rekey: %v, want ErrSealed", err)
	}
	k = openKeyring(t, kms.KeyringConfig{Path: path, Passphrase: pass})
	defer k.Close()
	if pt, err := k.Unseal(ctx, dk.Sealed, nil); err != nil || !bytes.Equal(pt, dk.Plaintext) {
		t.Fatalf("after Rekey: %v", err)
	}
	if st, _ := k.Status(ctx, "default"); st.Version != 2 {
		t.Errorf("version %d after Rekey and rotation, want 2", st.Version)
	}
}

// TestKeyringForeignBlob: a blob sealed by another keyring, or naming
// another backend, does not open.
func TestKeyringForeignBlob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openKeyring(t, kms.KeyringConfig{Path: filepath.Join(dir, "a"), RawKey: bytes.Repeat([]byte{1}, 32)})
	b := openKeyring(t, kms.KeyringConfig{Path: filepath.Join(dir, "b"), RawKey: bytes.Repeat([]byte{1}, 32)})
	defer a.Close()
	defer b.Close()
	for _, k := range []*kms.Keyring{a, b} {
		if err := k.CreateKey(ctx, "default"); err != nil {
			t.Fatal(err)
		}
	}
	dk, _ := a.GenerateDataKey(ctx, "default", nil)
	if _, err := b.Unseal(ctx, dk.Sealed, nil); !errors.Is(err, kms.ErrSealed) {
		t.Errorf("blob of another keyring: %v, want ErrSealed", err)
	}
	s, _ := kms.ParseSealed(dk.Sealed)
	s.Backend = kms.BackendKMIP
	other, _ := s.Marshal()
	_, err := a.Unseal(ctx, other, nil)
	if !errors.Is(err, kms.ErrSealed) || !strings.Contains(err.Error(), "kmip") {
		t.Errorf("blob naming the kmip backend: %v", err)
	}
}

func TestRedaction(t *testing.T) {
	secret := []byte("SECRET-PASSPHRASE-xyz")
	rawKey := bytes.Repeat([]byte("K"), 32)
	dk := kms.DataKey{Plaintext: bytes.Repeat([]byte("P"), 32), Sealed: []byte{1, 2, 3}}
	cfg := kms.KeyringConfig{Path: "/x", Passphrase: secret, RawKey: rawKey}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	log.Info("x", "dk", dk, "cfg", cfg)
	log.Info("y", slog.Any("dk", &dk))
	texts := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		texts = append(texts, fmt.Sprintf(verb, dk), fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, &dk))
	}
	for _, s := range texts {
		for _, bad := range []string{"PPPP", "KKKK", string(secret), "50505050", "4b4b4b4b"} {
			if strings.Contains(s, bad) {
				t.Errorf("output leaks a secret: %s", s)
			}
		}
	}
	if !strings.Contains(logged.String(), "redacted") {
		t.Errorf("log does not say redacted: %s", logged.String())
	}
	dk.Wipe()
	if !bytes.Equal(dk.Plaintext, make([]byte, 32)) {
		t.Error("Wipe left bytes")
	}
}

func TestKeyIDValidate(t *testing.T) {
	for _, c := range []struct {
		id kms.KeyID
		ok bool
	}{
		{"default", true}, {"finance-2026", true}, {"a.b_c-D9", true}, {kms.KeyID(strings.Repeat("x", 64)), true},
		{"", false}, {kms.KeyID(strings.Repeat("x", 65)), false}, {"a/b", false}, {"a b", false},
		{"ключ", false}, {"a\x00", false}, {"..", true},
	} {
		t.Run(string(c.id), func(t *testing.T) {
			err := c.id.Validate()
			if (err == nil) != c.ok {
				t.Fatalf("Validate(%q) = %v, want ok %v", c.id, err, c.ok)
			}
			if err != nil && !errors.Is(err, kms.ErrInvalidKeyID) {
				t.Fatalf("error %v does not match ErrInvalidKeyID", err)
			}
		})
	}
}

func TestEnsureKey(t *testing.T) {
	ctx := context.Background()
	k := openKeyring(t, kms.KeyringConfig{Path: filepath.Join(t.TempDir(), "k"), RawKey: make([]byte, 32)})
	defer k.Close()
	for range 2 {
		if err := kms.EnsureKey(ctx, k, kms.DefaultKeyID); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := k.Status(ctx, kms.DefaultKeyID); err != nil || st.Version != 1 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if err := kms.EnsureKey(ctx, k, "bad/id"); !errors.Is(err, kms.ErrInvalidKeyID) {
		t.Errorf("EnsureKey(bad id) = %v", err)
	}
}

func BenchmarkKeyring(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keyring")
	kmstest.Bench(b, func(tb testing.TB) kms.KMS {
		return openKeyring(tb, kms.KeyringConfig{Path: path, RawKey: make([]byte, 32)})
	})
}

func BenchmarkArgon2Open(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keyring")
	cfg := kms.KeyringConfig{Path: path, Passphrase: []byte("benchmark passphrase")}
	openKeyring(b, cfg).Close()
	b.ReportAllocs()
	for b.Loop() {
		openKeyring(b, cfg).Close()
	}
}
