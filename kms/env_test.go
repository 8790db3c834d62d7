package kms_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/objstore/objstore/kms"
)

func TestKeyringFromEnv(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, 32)
	tests := []struct {
		name       string
		env        map[string]string
		passFile   string // written to a file named by OBJSTORE_KMS_PASSPHRASE_FILE
		wantPass   string
		wantRaw    []byte
		wantErr    string
		wantWarn   bool
		wantKeyGen bool
	}{
		{name: "Passphrase", env: map[string]string{kms.EnvPassphrase: "from the environment"}, wantPass: "from the environment"},
		{name: "PassphraseFile", passFile: "from a file\n", wantPass: "from a file"},
		{name: "PassphraseFileCRLF", passFile: "windows line\r\n", wantPass: "windows line"},
		{name: "PassphraseFileEmpty", passFile: "\n", wantErr: "is empty"},
		{name: "RawKey", env: map[string]string{kms.EnvKey: base64.StdEncoding.EncodeToString(raw)}, wantRaw: raw},
		{name: "RawKeyShort", env: map[string]string{kms.EnvKey: base64.StdEncoding.EncodeToString(raw[:16])}, wantErr: "decodes to 16 bytes"},
		{name: "RawKeyNotBase64", env: map[string]string{kms.EnvKey: "!!!"}, wantErr: "base64"},
		{name: "Two", env: map[string]string{kms.EnvPassphrase: "x", kms.EnvKey: "y"}, wantErr: "set one"},
		{name: "NoneGeneratesKeyFile", wantWarn: true, wantKeyGen: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []string{kms.EnvPassphrase, kms.EnvPassphraseFile, kms.EnvKey} {
				t.Setenv(n, tc.env[n])
			}
			dir := t.TempDir()
			if tc.passFile != "" {
				p := filepath.Join(dir, "pass")
				if err := os.WriteFile(p, []byte(tc.passFile), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv(kms.EnvPassphraseFile, p)
			}
			var logged bytes.Buffer
			cfg, err := kms.KeyringFromEnv(dir, slog.New(slog.NewTextHandler(&logged, nil)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Path != filepath.Join(dir, "kms", "keyring") {
				t.Errorf("Path = %s", cfg.Path)
			}
			if string(cfg.Passphrase) != tc.wantPass {
				t.Errorf("Passphrase = %q, want %q", cfg.Passphrase, tc.wantPass)
			}
			if tc.wantRaw != nil && !bytes.Equal(cfg.RawKey, tc.wantRaw) {
				t.Errorf("RawKey = %x", cfg.RawKey)
			}
			if got := strings.Contains(logged.String(), "STORED BESIDE THE DATA"); got != tc.wantWarn {
				t.Errorf("warning logged %v, want %v: %s", got, tc.wantWarn, logged.String())
			}
			if !tc.wantKeyGen {
				return
			}
			keyFile := filepath.Join(dir, "kms", "keyring.key")
			fi, err := os.Stat(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
			}
			if len(cfg.RawKey) != 32 {
				t.Fatalf("generated key of %d bytes", len(cfg.RawKey))
			}
			if strings.Contains(logged.String(), base64.StdEncoding.EncodeToString(cfg.RawKey)) {
				t.Error("the warning logs the key")
			}
			// A second start reads the same key and opens the keyring.
			k, err := kms.NewKeyring(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := k.CreateKey(context.Background(), "default"); err != nil {
				t.Fatal(err)
			}
			k.Close()
			cfg2, err := kms.KeyringFromEnv(dir, slog.New(slog.NewTextHandler(&logged, nil)))
			if err != nil || !bytes.Equal(cfg2.RawKey, cfg.RawKey) {
				t.Fatalf("second start: key differs or %v", err)
			}
			k, err = kms.NewKeyring(context.Background(), cfg2)
			if err != nil {
				t.Fatal(err)
			}
			k.Close()
			// A key file others can read is refused.
			if err := os.Chmod(keyFile, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := kms.KeyringFromEnv(dir, slog.New(slog.NewTextHandler(&logged, nil))); err == nil || !strings.Contains(err.Error(), "mode") {
				t.Errorf("world-readable key file: %v", err)
			}
		})
	}
}
