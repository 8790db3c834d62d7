package s3api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/xml"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/objstore/objstore/s3api/sigv4"
	"github.com/objstore/objstore/storage"
)

// newRegionEnv is a testEnv whose Handler was given region (Config.Region,
// "" for none), with a minio-go client signing for clientRegion.
func newRegionEnv(t *testing.T, region, clientRegion string) *testEnv {
	t.Helper()
	e := &testEnv{t: t, store: newFakeStore()}
	h, err := New(Config{
		Store:       e.store,
		Credentials: func(ak string) (string, bool) { return testSecretKey, ak == testAccessKey },
		Logger:      slog.New(slog.DiscardHandler),
		Region:      region,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.client, err = minio.New(e.srv.Listener.Addr().String(), &minio.Options{
		Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), Region: clientRegion, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sha256Hasher adapts crypto/sha256 to the md5simd.Hasher minio-go's
// streaming signer takes.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// regionRequest sends one request of style, signed for signRegion, to
// e's bucket "reg" (which holds "obj"), and returns the response.
func regionRequest(t *testing.T, e *testEnv, style, signRegion string) (*http.Response, []byte) {
	t.Helper()
	now := time.Now().UTC()
	var req *http.Request
	var err error
	switch style {
	case "header", "head":
		// GetObject, or HeadBucket, which reports the bucket's region.
		method, target := "GET", e.srv.URL+"/reg/obj"
		if style == "head" {
			method, target = "HEAD", e.srv.URL+"/reg"
		}
		req, err = http.NewRequest(method, target, nil)
		if err == nil {
			err = sigv4.SignRequest(req, testAccessKey, testSecretKey, signRegion, now, emptySHA256Hex)
		}
	case "presigned":
		var u *url.URL
		var s string
		if u, err = url.Parse(e.srv.URL + "/reg/obj"); err == nil {
			if s, err = sigv4.PresignURL("GET", u, testAccessKey, testSecretKey, signRegion, now, time.Hour); err == nil {
				req, err = http.NewRequest("GET", s, nil)
			}
		}
	case "streaming":
		data := []byte("streamed, chunk by signed chunk")
		if req, err = http.NewRequest("PUT", e.srv.URL+"/reg/streamed", bytes.NewReader(data)); err == nil {
			req = signer.StreamingSignV4(req, testAccessKey, testSecretKey, "", signRegion,
				int64(len(data)), now, sha256Hasher{sha256.New()})
		}
	case "form":
		f := postForm{fileName: "f", fileData: []byte("posted")}
		f.fields = append([][2]string{{"key", "posted"}},
			signedPostFieldsIn(t, signRegion, now.Add(time.Hour), []any{map[string]string{"bucket": "reg"}, []string{"eq", "$key", "posted"}}, testSecretKey)...)
		return e.post(t, "reg", f)
	default:
		t.Fatalf("unknown style %q", style)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const emptySHA256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// TestRegionScope: with a region named, every SigV4 style signed for
// another region is refused with AWS's code and message for that style,
// the expected region in the Error document's Region element and in
// x-amz-bucket-region; signed for the named region it is served. Without
// a region named, any region is served, as before.
func TestRegionScope(t *testing.T) {
	type want struct {
		status int
		code   string // "" for success
		msg    string
		arg    string // ArgumentName
	}
	ok := func(status int) want { return want{status: status} }
	tests := []struct {
		name, server, signed, style string
		want                        want
	}{
		{"default/header us-east-1", "", "us-east-1", "header", ok(200)},
		{"default/header any region", "", "eu-de-1", "header", ok(200)},
		{"default/header odd region", "", "moon_base-7", "header", ok(200)},
		{"default/presigned any region", "", "ap-south-9", "presigned", ok(200)},
		{"default/streaming any region", "", "ap-south-9", "streaming", ok(200)},
		{"default/form any region", "", "ap-south-9", "form", ok(204)},
		{"default/head any region", "", "ap-south-9", "head", ok(200)},

		{"named/header same region", "eu-de-1", "eu-de-1", "header", ok(200)},
		{"named/presigned same region", "eu-de-1", "eu-de-1", "presigned", ok(200)},
		{"named/streaming same region", "eu-de-1", "eu-de-1", "streaming", ok(200)},
		{"named/form same region", "eu-de-1", "eu-de-1", "form", ok(204)},
		{"named/head same region", "eu-de-1", "eu-de-1", "head", ok(200)},

		{"named/header other region", "eu-de-1", "us-east-1", "header", want{400, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-de-1'", ""}},
		{"named/header case differs", "eu-de-1", "EU-DE-1", "header", want{400, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region 'EU-DE-1' is wrong; expecting 'eu-de-1'", ""}},
		{"named/presigned other region", "eu-de-1", "us-east-1", "presigned", want{400, "AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'eu-de-1'", ""}},
		{"named/streaming other region", "eu-de-1", "eu-west-1", "streaming", want{400, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'eu-de-1'", ""}},
		{"named/form other region", "eu-de-1", "us-east-1", "form", want{400, "InvalidArgument",
			"the region 'us-east-1' is wrong; expecting 'eu-de-1'", "X-Amz-Credential"}},
		{"named/head other region", "eu-de-1", "us-east-1", "head", want{400, "", "", ""}},
		{"named us-east-1/header other region", "us-east-1", "eu-de-1", "header", want{400, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region 'eu-de-1' is wrong; expecting 'us-east-1'", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRegionEnv(t, tt.server, "")
			ctx := context.Background()
			if err := e.store.MakeBucket(ctx, "reg", ""); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.PutObject(ctx, "reg", "obj", strings.NewReader("x"), storage.PutOptions{Size: 1}); err != nil {
				t.Fatal(err)
			}
			resp, body := regionRequest(t, e, tt.style, tt.signed)
			if resp.StatusCode != tt.want.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.want.status, body)
			}
			if tt.want.status < 300 {
				if r := resp.Header.Get("x-amz-bucket-region"); tt.style == "head" && r != cmp(tt.server, "us-east-1") {
					t.Fatalf("x-amz-bucket-region %q", r)
				}
				return
			}
			if r := resp.Header.Get("x-amz-bucket-region"); r != tt.server {
				t.Fatalf("x-amz-bucket-region %q, want %q", r, tt.server)
			}
			if tt.want.code == "" { // HEAD: no document
				if len(body) != 0 {
					t.Fatalf("HEAD answered with a body %q", body)
				}
				return
			}
			var er errorResponse
			if err := xml.Unmarshal(body, &er); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if er.Code != tt.want.code || er.Message != tt.want.msg || er.Region != tt.server || er.ArgumentName != tt.want.arg {
				t.Fatalf("error %+v, want code %q message %q region %q argument %q", er, tt.want.code, tt.want.msg, tt.server, tt.want.arg)
			}
			if tt.style == "form" && !strings.Contains(er.ArgumentValue, "/"+tt.signed+"/s3/aws4_request") {
				t.Fatalf("ArgumentValue %q does not echo the credential", er.ArgumentValue)
			}
			if tt.style == "streaming" && e.store.buckets["reg"].objects["streamed"] != nil {
				t.Fatal("a refused streaming PUT stored its object")
			}
		})
	}
}

// cmp returns a, or b when a is empty.
func cmp(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// TestRegionSigV2: SigV2 requests name no region; they are served by a
// server with a region named, as before.
func TestRegionSigV2(t *testing.T) {
	e := newRegionEnv(t, "eu-de-1", "eu-de-1")
	ctx := context.Background()
	if err := e.client.MakeBucket(ctx, "v2-bucket", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(e.srv.Listener.Addr().String(), &minio.Options{
		Creds: credentials.NewStaticV2(testAccessKey, testSecretKey, ""), Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "v2-bucket", "k", strings.NewReader("v2 body"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("SigV2 PUT: %v", err)
	}
	if _, err := c.StatObject(ctx, "v2-bucket", "k", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("SigV2 HEAD: %v", err)
	}
}

// TestRegionLocationConstraint: with a region named, CreateBucket may
// name no LocationConstraint or that region; another is
// IllegalLocationConstraintException, as at AWS's regional endpoints.
// Without one, any valid location is taken, as before.
func TestRegionLocationConstraint(t *testing.T) {
	tests := []struct {
		name, server, location string
		code                   string // "" for success
		msg                    string
		reported               string // GetBucketLocation after success
	}{
		{"default/none", "", "", "", "", "us-east-1"},
		{"default/any", "", "eu-central-1", "", "", "eu-central-1"},
		{"default/private name", "", "zone_a", "", "", "zone_a"},
		{"default/invalid", "", "bad.loc", "InvalidLocationConstraint", "The specified location constraint is not valid.", ""},
		{"named/none", "eu-de-1", "", "", "", "eu-de-1"},
		{"named/same", "eu-de-1", "eu-de-1", "", "", "eu-de-1"},
		{"named/us-east-1", "eu-de-1", "us-east-1", "IllegalLocationConstraintException",
			"The us-east-1 location constraint is incompatible for the region specific endpoint this request was sent to.", ""},
		{"named/other", "eu-de-1", "eu-central-1", "IllegalLocationConstraintException",
			"The eu-central-1 location constraint is incompatible for the region specific endpoint this request was sent to.", ""},
		{"named/invalid first", "eu-de-1", "bad.loc", "InvalidLocationConstraint", "The specified location constraint is not valid.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The client signs for the server's region: only the
			// constraint is at stake.
			e := newRegionEnv(t, tt.server, cmp(tt.server, "us-east-1"))
			var body []byte
			if tt.location != "" {
				body = []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` +
					tt.location + `</LocationConstraint></CreateBucketConfiguration>`)
			}
			req, err := http.NewRequest("PUT", e.srv.URL+"/made", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(body)
			if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, cmp(tt.server, "us-east-1"), time.Now(), hexOf(sum[:])); err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.code != "" {
				wantErrorMessage(t, resp, b, 400, tt.code, tt.msg)
				if e.store.buckets["made"] != nil {
					t.Fatal("refused bucket was created")
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			// Asked of the server: minio-go with a region answers
			// GetBucketLocation itself.
			req, err = http.NewRequest("GET", e.srv.URL+"/made?location", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := sigv4.SignRequest(req, testAccessKey, testSecretKey, cmp(tt.server, "us-east-1"), time.Now(), emptySHA256Hex); err != nil {
				t.Fatal(err)
			}
			if resp, err = http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			var lc locationConstraint
			if err := xml.Unmarshal(b, &lc); err != nil || lc.Location != tt.reported {
				t.Fatalf("GetBucketLocation answered %q (%v); want %q", b, err, tt.reported)
			}
		})
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// TestRegionConfig: New refuses a region no AWS-style name could be, and
// without one reports us-east-1 and enforces nothing.
func TestRegionConfig(t *testing.T) {
	cfg := func(region string) Config {
		return Config{Store: newFakeStore(), Credentials: func(string) (string, bool) { return "", false }, Region: region}
	}
	for _, bad := range []string{"EU-DE-1", "eu_de_1", "eu.de", "-eu", "eu-", "1eu", "eu de", strings.Repeat("a", 64), "eu/de", "é"} {
		if _, err := New(cfg(bad)); err == nil || !strings.Contains(err.Error(), "Config.Region") {
			t.Errorf("New with Region %q: %v, want an error naming Config.Region", bad, err)
		}
	}
	for _, good := range []string{"eu-de-1", "us-east-1", "a", "local", strings.Repeat("a", 63), "x9"} {
		h, err := New(cfg(good))
		if err != nil {
			t.Errorf("New with Region %q: %v", good, err)
			continue
		}
		if h.region != good || h.verifier.Region != good {
			t.Errorf("Region %q: reported %q, enforced %q", good, h.region, h.verifier.Region)
		}
	}
	h, err := New(cfg(""))
	if err != nil {
		t.Fatal(err)
	}
	if h.region != "us-east-1" || h.verifier.Region != "" {
		t.Fatalf("no region: reported %q, enforced %q; want us-east-1 and none", h.region, h.verifier.Region)
	}
}
