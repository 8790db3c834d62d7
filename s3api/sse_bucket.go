package s3api

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/objstore/objstore/encryption"
)

// maxEncryptionConfigBody bounds a PutBucketEncryption body.
const maxEncryptionConfigBody = 64 << 10

// sseConfiguration is the ServerSideEncryptionConfiguration document of
// PutBucketEncryption and GetBucketEncryption.
type sseConfiguration struct {
	XMLName xml.Name  `xml:"ServerSideEncryptionConfiguration"`
	Xmlns   string    `xml:"xmlns,attr,omitempty"`
	Rules   []sseRule `xml:"Rule"`
}

type sseRule struct {
	Default struct {
		SSEAlgorithm   string `xml:"SSEAlgorithm"`
		KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
	} `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled bool `xml:"BucketKeyEnabled"`
}

// parseEncryptionConfig checks a PutBucketEncryption body: exactly one
// rule, AES256 or aws:kms (dual-layer aws:kms:dsse is not implemented).
func parseEncryptionConfig(b []byte) (encryption.BucketConfig, error) {
	var doc sseConfiguration
	if err := decodeXML(b, &doc); err != nil {
		return encryption.BucketConfig{}, err
	}
	if len(doc.Rules) != 1 {
		return encryption.BucketConfig{}, withMessage(errMalformedXML, "The configuration must hold exactly one Rule.")
	}
	r := doc.Rules[0]
	cfg := encryption.BucketConfig{Algorithm: strings.TrimSpace(r.Default.SSEAlgorithm), BucketKeyEnabled: r.BucketKeyEnabled}
	switch cfg.Algorithm {
	case encryption.AlgorithmAES256:
		if r.Default.KMSMasterKeyID != "" {
			return cfg, withMessage(errInvalidArgument, "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms")
		}
	case encryption.AlgorithmKMS:
		if v := strings.TrimSpace(r.Default.KMSMasterKeyID); v != "" {
			cfg.KeyID = kmsKeyID(v)
		}
	case "aws:kms:dsse":
		return cfg, withMessage(errNotImplemented, "Dual-layer server-side encryption is not implemented.")
	default:
		return cfg, withMessage(errMalformedXML, "The SSEAlgorithm must be AES256 or aws:kms.")
	}
	return cfg, nil
}

// putBucketEncryption answers PUT /<bucket>?encryption.
func (h *Handler) putBucketEncryption(rq *request) error {
	if h.keys == nil {
		return withMessage(errNotImplemented, "Server-side encryption is not configured on this server.")
	}
	b, err := rq.readBody(maxEncryptionConfigBody)
	if err != nil {
		return err
	}
	if err := verifyOptionalDigest(rq, b, false); err != nil {
		return err
	}
	cfg, err := parseEncryptionConfig(b)
	if err != nil {
		return err
	}
	// A default key is used for every writer of the bucket, none of whom
	// is asked for a grant on it (authorizeKMSKey): whoever sets it must
	// be allowed to use it.
	if cfg.KeyID != "" {
		if err := h.authorizeKMSKey(rq, cfg.KeyID); err != nil {
			return err
		}
	}
	if err := h.keys.SetConfig(rq.ctx, rq.bucket, &cfg); err != nil {
		return fmt.Errorf("s3api: put bucket encryption: %w", err)
	}
	return rq.writeEmpty(http.StatusOK)
}

// getBucketEncryption answers GET /<bucket>?encryption. Every bucket is
// encrypted: one without a configuration reports SSE-S3, as AWS does
// since it made SSE-S3 the default.
func (h *Handler) getBucketEncryption(rq *request) error {
	if h.keys == nil {
		return fmt.Errorf("s3api: %s: %w", rq.bucket, errNoEncryptionConfig)
	}
	cfg, ok, err := h.keys.Config(rq.ctx, rq.bucket)
	if err != nil {
		return fmt.Errorf("s3api: get bucket encryption: %w", err)
	}
	if !ok {
		cfg = encryption.BucketConfig{Algorithm: encryption.AlgorithmAES256}
	}
	var r sseRule
	r.Default.SSEAlgorithm = cfg.Algorithm
	r.Default.KMSMasterKeyID = string(cfg.KeyID)
	// SSE-KMS objects are always sealed under the bucket key (their
	// responses say x-amz-server-side-encryption-bucket-key-enabled:
	// true), whatever the configuration asked for; say the same here.
	r.BucketKeyEnabled = cfg.BucketKeyEnabled || cfg.Algorithm == encryption.AlgorithmKMS
	return rq.writeXML(http.StatusOK, sseConfiguration{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Rules: []sseRule{r}})
}

// deleteBucketEncryption answers DELETE /<bucket>?encryption: the bucket
// returns to the SSE-S3 default (objects stay encrypted as they are).
func (h *Handler) deleteBucketEncryption(rq *request) error {
	if h.keys == nil {
		return withMessage(errNotImplemented, "Server-side encryption is not configured on this server.")
	}
	if err := h.keys.SetConfig(rq.ctx, rq.bucket, nil); err != nil {
		return fmt.Errorf("s3api: delete bucket encryption: %w", err)
	}
	return rq.writeEmpty(http.StatusNoContent)
}

// bucketEncryptionOp names the operation of a request with ?encryption.
func bucketEncryptionOp(method, bucket, key string) (string, error) {
	if bucket == "" || key != "" {
		return "", fmt.Errorf("%w: encryption sub-resource of an object", errNotImplemented)
	}
	switch method {
	case http.MethodGet:
		return "GetBucketEncryption", nil
	case http.MethodPut:
		return "PutBucketEncryption", nil
	case http.MethodDelete:
		return "DeleteBucketEncryption", nil
	}
	return "", fmt.Errorf("%w: %s", errMethodNotAllowed, method)
}

// registerEncryptionOps adds the bucket encryption operations.
func (h *Handler) registerEncryptionOps() {
	h.ops["GetBucketEncryption"] = h.getBucketEncryption
	h.ops["PutBucketEncryption"] = h.putBucketEncryption
	h.ops["DeleteBucketEncryption"] = h.deleteBucketEncryption
}
