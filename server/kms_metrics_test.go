package server

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/objstore/objstore/kms/kmip"
)

// TestKMSCallsCounted: every call to the KMS is counted in
// objstore_kms_calls_total by backend, operation and outcome, from the
// first call at start-up. Before, the series was declared and nothing
// fed it, so a KMS outage showed only as 503s.
func TestKMSCallsCounted(t *testing.T) {
	ctx := context.Background()
	srv, c := startServerWith(t, Config{})
	count := func(op, result string) int {
		t.Helper()
		resp, body := scrape(t, srv, "GET", basicAuth(srv.Credentials()))
		if resp.StatusCode != 200 {
			t.Fatalf("scrape: %d", resp.StatusCode)
		}
		re := regexp.MustCompile(`(?m)^objstore_kms_calls_total\{backend="keyring",op="` + op + `",result="` + result + `"\} (\d+)$`)
		m := re.FindStringSubmatch(body)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if n := count("status", "ok") + count("create", "ok"); n == 0 {
		t.Errorf("start-up's check of the default key not counted")
	}
	generated := count("generate", "ok")
	if err := c.MakeBucket(ctx, "counted", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := []byte("a new bucket's first object needs a bucket key")
	if _, err := c.PutObject(ctx, "counted", "a", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := count("generate", "ok"); n <= generated {
		t.Errorf("generate ok: %d after a new bucket's first PUT, %d before", n, generated)
	}
	failed := count("generate", "error") + count("status", "error")
	sse, _ := encrypt.NewSSEKMS("no-such-key", nil)
	if _, err := c.PutObject(ctx, "counted", "b", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: sse}); err == nil {
		t.Fatal("PUT naming a master key that does not exist succeeded")
	}
	if n := count("generate", "error") + count("status", "error"); n <= failed {
		t.Errorf("a call for a missing master key not counted as an error (%d, %d before)", n, failed)
	}
}

// TestSharedCallTimeout: a shared bucket-key call outlasts the KMIP
// timeout the operator set (three calls' worth), and never drops under
// 30 s.
func TestSharedCallTimeout(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want time.Duration
	}{
		{"keyring", Config{}, 30 * time.Second},
		{"kmip default", Config{KMSBackend: KMSKMIP}, 30 * time.Second},
		{"kmip 5s", Config{KMSBackend: KMSKMIP, KMIP: kmip.Config{Timeout: 5 * time.Second}}, 30 * time.Second},
		{"kmip 1m", Config{KMSBackend: KMSKMIP, KMIP: kmip.Config{Timeout: time.Minute}}, 3 * time.Minute},
		{"pkcs11", Config{KMSBackend: KMSPKCS11}, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := sharedCallTimeout(tt.cfg); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
