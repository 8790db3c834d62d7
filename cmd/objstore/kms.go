package main

import (
	"fmt"
	"os"
	"time"

	"github.com/objstore/objstore/kms/kmip"
	"github.com/objstore/objstore/kms/pkcs11"
	"github.com/objstore/objstore/server"
)

// kmsConfig fills the KMS settings of cfg from the --kms and
// --insecure-sse-c flags and the OBJSTORE_KMS_* environment. The keyring
// backend reads its own variables (kms.KeyringFromEnv) at start.
func kmsConfig(cfg *server.Config, backend string, insecureSSEC bool) error {
	cfg.KMSBackend = backend
	cfg.InsecureSSEC = insecureSSEC
	switch backend {
	case server.KMSPKCS11:
		cfg.PKCS11 = pkcs11.Config{
			Module:     os.Getenv("OBJSTORE_KMS_PKCS11_MODULE"),
			TokenLabel: os.Getenv("OBJSTORE_KMS_PKCS11_TOKEN"),
			PIN:        os.Getenv("OBJSTORE_KMS_PKCS11_PIN"),
		}
	case server.KMSKMIP:
		cfg.KMIP = kmip.Config{
			Endpoint: os.Getenv("OBJSTORE_KMS_KMIP_ENDPOINT"),
			CAFile:   os.Getenv("OBJSTORE_KMS_KMIP_CA"),
			CertFile: os.Getenv("OBJSTORE_KMS_KMIP_CERT"),
			KeyFile:  os.Getenv("OBJSTORE_KMS_KMIP_KEY"),
		}
		if v := os.Getenv("OBJSTORE_KMS_KMIP_TIMEOUT"); v != "" {
			// A KMIP server in front of a slow HSM may need more than
			// the default 10 s; a tight one fails over sooner.
			d, err := time.ParseDuration(v)
			if err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
				return fmt.Errorf("OBJSTORE_KMS_KMIP_TIMEOUT=%q: want a duration from 100ms to 5m, such as 10s", v)
			}
			cfg.KMIP.Timeout = d
		}
	}
	return nil
}
