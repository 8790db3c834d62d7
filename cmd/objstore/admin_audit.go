package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/objstore/objstore/admin"
	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/kms/kmip"
	"github.com/objstore/objstore/kms/pkcs11"
	"github.com/objstore/objstore/server"
)

// verifyOffline checks the log files in dir directly, without a server
// (the server may be stopped, or not trusted). The anchor is checked
// with the server's KMS, opened read only the way the server opens it
// (--kms, the OBJSTORE_KMS_* environment, the keyring under the data
// folder, by default dir's parent or --data); without it the chain is
// still checked and the output says the anchor was not.
func (c *adminCLI) verifyOffline(ctx context.Context, dir string, flags map[string][]string) error {
	opts := audit.VerifyOptions{}
	if flag1(flags, "no-anchor") != "true" {
		data := flag1(flags, "data")
		if data == "" {
			data = filepath.Dir(filepath.Clean(dir))
		}
		k, err := openOfflineKMS(ctx, flag1(flags, "kms"), data)
		if err != nil {
			fmt.Fprintf(c.stderr, "anchor not checked: %v\n", err)
		} else {
			defer k.Close()
			opts.AnchorKeys = &server.KMSKeySource{KMS: k, Key: kms.DefaultKeyID}
		}
	}
	rep, err := audit.Verify(ctx, dir, opts)
	if err != nil {
		return fmt.Errorf("admin: verify: %w", err)
	}
	return c.verifyResult(admin.VerificationOf(rep))
}

// openOfflineKMS opens the KMS of the server whose data folder is data.
// It never creates anything: a keyring must exist, with its secret in
// the environment or its key file beside it.
func openOfflineKMS(ctx context.Context, backend, data string) (kms.KMS, error) {
	quiet := slog.New(slog.DiscardHandler)
	switch backend {
	case "", server.KMSKeyring:
		dir := filepath.Join(data, kms.KeyringDir)
		if _, err := os.Stat(filepath.Join(dir, kms.KeyringFile)); err != nil {
			return nil, fmt.Errorf("no keyring in %s (use --data or --kms): %w", dir, err)
		}
		secretSet := os.Getenv(kms.EnvPassphrase) != "" || os.Getenv(kms.EnvPassphraseFile) != "" || os.Getenv(kms.EnvKey) != ""
		if _, err := os.Stat(filepath.Join(dir, kms.KeyringKeyFile)); !secretSet && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the keyring's secret is not set (%s, %s or %s)", kms.EnvPassphrase, kms.EnvPassphraseFile, kms.EnvKey)
		}
		kc, err := kms.KeyringFromEnv(data, quiet)
		if err != nil {
			return nil, err
		}
		return kms.NewKeyring(ctx, kc)
	case server.KMSPKCS11, server.KMSKMIP:
		var cfg server.Config
		if err := kmsConfig(&cfg, backend, false); err != nil {
			return nil, err
		}
		if backend == server.KMSPKCS11 {
			return pkcs11.Open(ctx, cfg.PKCS11)
		}
		return kmip.Open(ctx, cfg.KMIP)
	}
	return nil, fmt.Errorf("unknown KMS backend %q (want keyring, pkcs11 or kmip)", backend)
}
