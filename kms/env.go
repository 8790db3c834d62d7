package kms

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// The environment variables KeyringFromEnv reads; at most one may be set.
const (
	// EnvPassphrase holds the keyring passphrase itself.
	EnvPassphrase = "OBJSTORE_KMS_PASSPHRASE"
	// EnvPassphraseFile names a file holding the passphrase (one trailing
	// newline is ignored): the form for container secrets.
	EnvPassphraseFile = "OBJSTORE_KMS_PASSPHRASE_FILE"
	// EnvKey holds a raw 32-byte key, standard base64, for automation.
	EnvKey = "OBJSTORE_KMS_KEY"
)

// Where KeyringFromEnv puts the keyring and the generated key under a data
// directory.
const (
	KeyringDir     = "kms"
	KeyringFile    = "keyring"
	KeyringKeyFile = "keyring.key"
)

// KeyringFromEnv returns the keyring configuration for a server whose data
// lives in dataDir: the file dataDir/kms/keyring, and the secret from
// OBJSTORE_KMS_PASSPHRASE, OBJSTORE_KMS_PASSPHRASE_FILE or OBJSTORE_KMS_KEY.
//
// With none of them set it falls back to LoadOrCreateKeyFile: a raw key in
// dataDir/kms/keyring.key, generated on first start, and logs a warning on
// log (slog.Default() if nil) every time, because a key stored beside the
// data protects nothing against someone who copies the data directory.
// Operators should set a passphrase, and move an existing keyring to it
// with Keyring.Rekey.
func KeyringFromEnv(dataDir string, log *slog.Logger) (KeyringConfig, error) {
	if log == nil {
		log = slog.Default()
	}
	dir := filepath.Join(dataDir, KeyringDir)
	cfg := KeyringConfig{Path: filepath.Join(dir, KeyringFile)}
	var set []string
	for _, name := range []string{EnvPassphrase, EnvPassphraseFile, EnvKey} {
		if os.Getenv(name) != "" {
			set = append(set, name)
		}
	}
	if len(set) > 1 {
		return cfg, fmt.Errorf("kms: keyring: %s are all set; set one", strings.Join(set, ", "))
	}
	switch {
	case os.Getenv(EnvPassphrase) != "":
		cfg.Passphrase = []byte(os.Getenv(EnvPassphrase))
	case os.Getenv(EnvPassphraseFile) != "":
		p, err := readPassphraseFile(os.Getenv(EnvPassphraseFile))
		if err != nil {
			return cfg, err
		}
		cfg.Passphrase = p
	case os.Getenv(EnvKey) != "":
		k, err := decodeRawKey([]byte(os.Getenv(EnvKey)))
		if err != nil {
			return cfg, fmt.Errorf("kms: keyring: %s: %w", EnvKey, err)
		}
		cfg.RawKey = k
	default:
		path := filepath.Join(dir, KeyringKeyFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat(cfg.Path); err == nil {
				// A new key cannot open the keyring, and left beside it
				// would be mistaken for its key.
				return cfg, fmt.Errorf("kms: keyring: the keyring %s exists but its key file %s is missing: restore the key file, or set %s, %s or %s to the keyring's secret",
					cfg.Path, path, EnvPassphrase, EnvPassphraseFile, EnvKey)
			}
		}
		k, created, err := LoadOrCreateKeyFile(path)
		if err != nil {
			return cfg, err
		}
		cfg.RawKey = k
		log.Warn("kms: THE KEYRING KEY IS STORED BESIDE THE DATA: anyone who copies the data directory can decrypt every object. "+
			"Set "+EnvPassphrase+" or "+EnvPassphraseFile+" (or "+EnvKey+") and rekey the keyring.",
			slog.String("key_file", path), slog.Bool("generated_now", created))
	}
	return cfg, nil
}

func readPassphraseFile(path string) ([]byte, error) {
	p, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kms: keyring: %s: %w", EnvPassphraseFile, err)
	}
	p = bytes.TrimSuffix(p, []byte("\n"))
	p = bytes.TrimSuffix(p, []byte("\r"))
	if len(p) == 0 {
		return nil, fmt.Errorf("kms: keyring: %s: %s is empty", EnvPassphraseFile, path)
	}
	return p, nil
}

func decodeRawKey(text []byte) ([]byte, error) {
	text = bytes.TrimSpace(text)
	k := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(k, text)
	if err != nil {
		Wipe(k)
		return nil, errors.New("not valid standard base64")
	}
	if n != RawKeySize {
		Wipe(k)
		return nil, fmt.Errorf("decodes to %d bytes, want %d", n, RawKeySize)
	}
	return k[:n], nil
}

// LoadOrCreateKeyFile returns the raw keyring key stored (base64, one
// line) in path, generating it with mode 0600 if the file does not exist;
// created reports whether it did. A file readable by group or others is
// refused.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("kms: keyring key file: %w", err)
		}
		key = randomBytes(RawKeySize)
		line := make([]byte, base64.StdEncoding.EncodedLen(len(key)), base64.StdEncoding.EncodedLen(len(key))+1)
		base64.StdEncoding.Encode(line, key)
		line = append(line, '\n')
		defer Wipe(line)
		if err := writeFileAtomic(path, line, 0o600); err != nil {
			Wipe(key)
			return nil, false, fmt.Errorf("kms: keyring key file: %w", err)
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("kms: keyring key file: %w", err)
	}
	defer Wipe(text)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, fmt.Errorf("kms: keyring key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("kms: keyring key file %s has mode %v; want 0600", path, fi.Mode().Perm())
	}
	key, err = decodeRawKey(text)
	if err != nil {
		return nil, false, fmt.Errorf("kms: keyring key file %s: %w", path, err)
	}
	return key, false, nil
}
