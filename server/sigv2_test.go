package server

import (
	"context"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestSigV2Switch: SigV2 clients work by default and are refused with
// InvalidRequest when the server is started with DisableSigV2
// (objstore server --no-sigv2); SigV4 works either way.
func TestSigV2Switch(t *testing.T) {
	ctx := context.Background()
	for _, disabled := range []bool{false, true} {
		srv, v4 := startServerWith(t, Config{DisableSigV2: disabled})
		user, secret := srv.Credentials()
		v2, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV2(user, secret, ""), Region: "us-east-1", MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		err = v2.MakeBucket(ctx, "v2bucket", minio.MakeBucketOptions{})
		switch {
		case !disabled && err != nil:
			t.Errorf("SigV2 enabled: %v", err)
		case disabled && errCode(err) != "InvalidRequest":
			t.Errorf("SigV2 disabled: %v, want InvalidRequest", err)
		}
		if err := v4.MakeBucket(ctx, "v4bucket", minio.MakeBucketOptions{}); err != nil {
			t.Errorf("SigV4 with SigV2 disabled=%t: %v", disabled, err)
		}
	}
}
