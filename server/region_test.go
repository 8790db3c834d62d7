package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/objstore/objstore/s3api/sigv4"
)

// regionClient is a minio-go client of srv's root credentials configured
// for region ("" for none: it discovers regions itself). It keeps
// minio-go's default retries: a client without a region retries a
// refused ListBuckets in the region the refusal names through them.
func regionClient(t *testing.T, srv *Server, region string) *minio.Client {
	t.Helper()
	user, secret := srv.Credentials()
	c, err := minio.New(srv.Addr(), &minio.Options{Creds: credentials.NewStaticV4(user, secret, ""), Region: region})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip writes, reads, lists and presigns through c in bucket, and
// posts a form c signed: every SigV4 style c has.
func roundTrip(t *testing.T, c *minio.Client, bucket string) {
	t.Helper()
	ctx := context.Background()
	data := randBody(7, 100<<10)
	// Over HTTP, minio-go signs PUT bodies aws-chunked (streaming).
	if _, err := c.PutObject(ctx, bucket, "obj", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got, err := getAll(t, c, bucket, "obj", minio.GetObjectOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetObject: %v (%d bytes)", err, len(got))
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatalf("ListObjects: %v", o.Err)
		}
	}
	if _, err := c.ListBuckets(ctx); err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	u, err := c.PresignedGetObject(ctx, bucket, "obj", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := fetch(t, u); status != 200 || !bytes.Equal(body, data) {
		t.Fatalf("presigned GET: %d %.200s", status, body)
	}
	if status, body := signedForm(t, c, bucket, "posted"); status != http.StatusNoContent {
		t.Fatalf("POST form: %d %.300s", status, body)
	}
}

func fetch(t *testing.T, u *url.URL) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// signedForm uploads key to bucket through a form c's
// PresignedPostPolicy signed (postForm, in sigv2_test.go, sends it).
func signedForm(t *testing.T, c *minio.Client, bucket, key string) (int, string) {
	t.Helper()
	p := minio.NewPostPolicy()
	p.SetBucket(bucket)
	p.SetKey(key)
	p.SetExpires(time.Now().Add(time.Hour))
	u, fields, err := c.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return postForm(t, u, fields, key, []byte("posted"))
}

// TestRegionNamed: a server started with a region serves minio-go
// configured for it, and minio-go configured with no region, which
// learns the region from the refusals' Region element (its own region
// discovery) and recovers by itself. A client configured for another
// region is refused with AWS's answer, which minio-go does not retry
// (it retries only clients without a region), except for MakeBucket.
func TestRegionNamed(t *testing.T) {
	srv, _ := startServerWith(t, Config{Region: "eu-de-1"})
	ctx := context.Background()

	t.Run("right region", func(t *testing.T) {
		c := regionClient(t, srv, "eu-de-1")
		if err := c.MakeBucket(ctx, "right", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if loc, err := c.GetBucketLocation(ctx, "right"); err != nil || loc != "eu-de-1" {
			t.Fatalf("GetBucketLocation %q, %v", loc, err)
		}
		roundTrip(t, c, "right")
	})

	t.Run("no region recovers", func(t *testing.T) {
		// Every first request is signed for us-east-1 (minio-go's
		// default), refused, and retried for the region the refusal
		// names: MakeBucket, the GetBucketLocation behind every bucket
		// request, ListBuckets.
		c := regionClient(t, srv, "")
		if err := c.MakeBucket(ctx, "discovered", minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket: %v", err)
		}
		if loc, err := c.GetBucketLocation(ctx, "discovered"); err != nil || loc != "eu-de-1" {
			t.Fatalf("GetBucketLocation %q, %v", loc, err)
		}
		roundTrip(t, c, "discovered")
		// A fresh client on an existing bucket, starting with a read.
		c = regionClient(t, srv, "")
		if _, err := c.StatObject(ctx, "right", "obj", minio.StatObjectOptions{}); err != nil {
			t.Fatalf("StatObject: %v", err)
		}
	})

	t.Run("wrong region refused", func(t *testing.T) {
		c := regionClient(t, srv, "us-east-1")
		_, err := c.PutObject(ctx, "right", "wrong", strings.NewReader("x"), 1, minio.PutObjectOptions{})
		er := minio.ToErrorResponse(err)
		if er.Code != "AuthorizationHeaderMalformed" || er.StatusCode != 400 || er.Region != "eu-de-1" ||
			er.Message != "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-de-1'" {
			t.Fatalf("PutObject signed for us-east-1: %+v", er)
		}
		if _, err := c.ListBuckets(ctx); minio.ToErrorResponse(err).Code != "AuthorizationHeaderMalformed" {
			t.Fatalf("ListBuckets signed for us-east-1: %v", err)
		}
		u, err := c.PresignedGetObject(ctx, "right", "obj", time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := fetch(t, u); status != 400 || !bytes.Contains(body, []byte("<Code>AuthorizationQueryParametersError</Code>")) ||
			!bytes.Contains(body, []byte("<Region>eu-de-1</Region>")) {
			t.Fatalf("presigned for us-east-1: %d %s", status, body)
		}
		if status, body := signedForm(t, c, "right", "posted-wrong"); status != 400 || !strings.Contains(body, "<Code>InvalidArgument</Code>") ||
			!strings.Contains(body, "<Region>eu-de-1</Region>") {
			t.Fatalf("form signed for us-east-1: %d %s", status, body)
		}
		// MakeBucket without a location is retried by minio-go in the
		// region the refusal names, whatever the client's region.
		if err := c.MakeBucket(ctx, "made-anyway", minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket: %v", err)
		}
		if loc, err := regionClient(t, srv, "").GetBucketLocation(ctx, "made-anyway"); err != nil || loc != "eu-de-1" {
			t.Fatalf("GetBucketLocation %q, %v", loc, err)
		}
	})

	t.Run("other location refused", func(t *testing.T) {
		// minio-go signs a CreateBucket for the location it names, so
		// the scope is refused before the body is read.
		c := regionClient(t, srv, "eu-de-1")
		err := c.MakeBucket(ctx, "elsewhere", minio.MakeBucketOptions{Region: "eu-central-1"})
		if er := minio.ToErrorResponse(err); er.Code != "AuthorizationHeaderMalformed" || er.Region != "eu-de-1" {
			t.Fatalf("MakeBucket in eu-central-1: %+v", er)
		}
		// Signed for the server's region (as the aws cli signs with
		// --region eu-de-1), the body's location is refused.
		body := `<CreateBucketConfiguration><LocationConstraint>eu-central-1</LocationConstraint></CreateBucketConfiguration>`
		req, err := http.NewRequest("PUT", "http://"+srv.Addr()+"/elsewhere", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		user, secret := srv.Credentials()
		sum := sha256.Sum256([]byte(body))
		if err := sigv4.SignRequest(req, user, secret, "eu-de-1", time.Now(), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !bytes.Contains(b, []byte("<Code>IllegalLocationConstraintException</Code>")) ||
			!bytes.Contains(b, []byte("The eu-central-1 location constraint is incompatible for the region specific endpoint this request was sent to.")) {
			t.Fatalf("CreateBucket in eu-central-1: %d %s", resp.StatusCode, b)
		}
		if ok, err := c.BucketExists(ctx, "elsewhere"); ok || err != nil {
			t.Fatalf("BucketExists after the refusal: %t, %v", ok, err)
		}
		// minio-go asked for us-east-1 (its default location) retries in
		// the region the refusal names.
		if err := c.MakeBucket(ctx, "asked-us-east-1", minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
			t.Fatalf("MakeBucket in us-east-1: %v", err)
		}
	})
}

// TestRegionDefault: a server started without a region accepts requests
// signed for any region, and buckets without a location report
// us-east-1, as before --region existed.
func TestRegionDefault(t *testing.T) {
	srv, _ := startServerWith(t, Config{})
	ctx := context.Background()
	for i, region := range []string{"us-east-1", "eu-de-1", "ap-south-9", ""} {
		c := regionClient(t, srv, region)
		bucket := "any-" + string(rune('a'+i))
		// minio-go sends its region as the LocationConstraint.
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("region %q: MakeBucket: %v", region, err)
		}
		roundTrip(t, c, bucket)
	}
	if loc, err := regionClient(t, srv, "").GetBucketLocation(ctx, "any-d"); err != nil || loc != "us-east-1" {
		t.Fatalf("GetBucketLocation of a bucket without a location: %q, %v", loc, err)
	}
	// A client of one region works in a bucket of another.
	roundTrip(t, regionClient(t, srv, "eu-de-1"), "any-c")
}

// TestRegionInvalid: a region no AWS-style name could be stops the start.
func TestRegionInvalid(t *testing.T) {
	for _, bad := range []string{"EU-DE-1", "eu_de_1", "eu-", "-eu", "eu.de", strings.Repeat("a", 64)} {
		if _, err := Start(context.Background(), Config{DataDir: t.TempDir(), Address: "127.0.0.1:0", Region: bad}); err == nil ||
			!strings.Contains(err.Error(), "Region") {
			t.Errorf("Start with Region %q: %v", bad, err)
		}
	}
}
