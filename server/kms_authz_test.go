package server

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	miniosse "github.com/minio/minio-go/v7/pkg/sse"

	"github.com/objstore/objstore/kms"
)

// TestKMSKeyAuthorization: an IAM user who names a master key (SSE-KMS
// key id on PUT, CreateMultipartUpload, a copy's destination, a POST
// form, PutBucketEncryption's KMSMasterKeyID) needs kms:GenerateDataKey
// on it, and without it gets the same AccessDenied whether the key exists
// or not; naming the server's or the bucket's default key, and writes
// that name none, need no grant; reads need none; root is not limited
// and still learns that a key does not exist (audit section 5).
func TestKMSKeyAuthorization(t *testing.T) {
	ctx := context.Background()
	srv, root := startServer(t)
	for _, k := range []kms.KeyID{"hr-dept", "finance"} {
		if err := srv.Keys().CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"bk1", "bk2"} {
		if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	keyPolicy := func(resource string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:GenerateDataKey","Resource":"` + resource + `"}]}`
	}
	putPolicy(t, srv, "hr-key", keyPolicy("arn:aws:kms:us-east-1:111122223333:key/hr-dept"))
	putPolicy(t, srv, "fin-key", keyPolicy("arn:aws:kms:*:*:key/finance"))
	putPolicy(t, srv, "any-key", keyPolicy("arn:aws:kms:*:*:key/*"))
	clients := map[string]*minio.Client{
		"root":  root,
		"alice": userClient(t, srv, "alice", "readwrite"),            // no KMS grant
		"bob":   userClient(t, srv, "bob", "readwrite", "hr-key"),    // hr-dept only
		"carol": userClient(t, srv, "carol", "readwrite", "fin-key"), // finance only
		"dave":  userClient(t, srv, "dave", "readwrite", "any-key"),  // every key
	}
	kmsKey := func(id string) encrypt.ServerSide {
		s, err := encrypt.NewSSEKMS(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	body := []byte("department data")
	put := func(who, bucket, key string, sse encrypt.ServerSide) (minio.UploadInfo, error) {
		return clients[who].PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ServerSideEncryption: sse, DisableMultipart: true})
	}
	if _, err := put("root", "bk1", "plain", nil); err != nil {
		t.Fatal(err)
	}

	type op func(who string, sse encrypt.ServerSide) error
	ops := map[string]op{
		"PutObject": func(who string, sse encrypt.ServerSide) error {
			_, err := put(who, "bk1", "obj-"+who, sse)
			return err
		},
		"CreateMultipartUpload": func(who string, sse encrypt.ServerSide) error {
			core := minio.Core{Client: clients[who]}
			id, err := core.NewMultipartUpload(ctx, "bk1", "mp-"+who, minio.PutObjectOptions{ServerSideEncryption: sse})
			if err == nil {
				err = core.AbortMultipartUpload(ctx, "bk1", "mp-"+who, id)
			}
			return err
		},
		"CopyObject": func(who string, sse encrypt.ServerSide) error {
			_, err := clients[who].CopyObject(ctx, minio.CopyDestOptions{Bucket: "bk1", Object: "copy-" + who, Encryption: sse},
				minio.CopySrcOptions{Bucket: "bk1", Object: "plain"})
			return err
		},
		"PostObject": func(who string, sse encrypt.ServerSide) error {
			return postKMSForm(t, clients[who], "bk1", "form-"+who, sse, body)
		},
		"PutBucketEncryption": func(who string, sse encrypt.ServerSide) error {
			// The key of sse as bk1's default, then back to none.
			h := http.Header{}
			sse.Marshal(h)
			err := clients[who].SetBucketEncryption(ctx, "bk1", miniosse.NewConfigurationSSEKMS(h.Get("x-amz-server-side-encryption-aws-kms-key-id")))
			if err == nil {
				err = root.RemoveBucketEncryption(ctx, "bk1")
			}
			return err
		},
	}
	cases := []struct {
		who, key string
		want     string // error code, "" for success
	}{
		{"alice", "hr-dept", "AccessDenied"},
		{"alice", "no-such-key", "AccessDenied"}, // the same answer: no name leaks
		{"alice", "default", ""},                 // the server's default key: SSE-S3 uses it anyway
		{"bob", "hr-dept", ""},
		{"bob", "arn:aws:kms:eu-west-1:444455556666:key/hr-dept", ""}, // the ARN form names the same key
		{"bob", "finance", "AccessDenied"},
		{"bob", "no-such-key", "AccessDenied"},
		{"carol", "hr-dept", "AccessDenied"},
		{"carol", "finance", ""},
		{"dave", "hr-dept", ""},
		{"dave", "no-such-key", "KMS.NotFoundException"}, // may use any key, so may learn which exist
		{"root", "hr-dept", ""},
		{"root", "no-such-key", "KMS.NotFoundException"},
	}
	for name, do := range ops {
		for _, c := range cases {
			t.Run(name+"/"+c.who+"/"+c.key, func(t *testing.T) {
				if got := code(do(c.who, kmsKey(c.key))); got != c.want {
					t.Fatalf("%s naming %s: %q, want %q", c.who, c.key, got, c.want)
				}
			})
		}
	}

	t.Run("reads need no grant", func(t *testing.T) {
		if _, err := put("bob", "bk1", "hr-report", kmsKey("hr-dept")); err != nil {
			t.Fatal(err)
		}
		got, err := getAll(t, clients["alice"], "bk1", "hr-report", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("alice reads bob's SSE-KMS object: %q, %v", got, err)
		}
	})

	t.Run("writes without a key id need no grant", func(t *testing.T) {
		for _, sse := range []encrypt.ServerSide{nil, encrypt.NewSSE(), kmsKey("")} {
			if _, err := put("alice", "bk1", "unnamed", sse); err != nil {
				t.Fatalf("alice, %v: %v", sse, err)
			}
		}
	})

	t.Run("bucket default key", func(t *testing.T) {
		if err := clients["bob"].SetBucketEncryption(ctx, "bk2", miniosse.NewConfigurationSSEKMS("hr-dept")); err != nil {
			t.Fatal(err)
		}
		// Writers of the bucket use its key without a grant, named or not.
		for _, sse := range []encrypt.ServerSide{nil, kmsKey(""), kmsKey("hr-dept")} {
			info, err := put("alice", "bk2", "dept", sse)
			if err != nil {
				t.Fatalf("alice, %v: %v", sse, err)
			}
			st, err := clients["alice"].StatObject(ctx, "bk2", info.Key, minio.StatObjectOptions{})
			if err != nil || !isKeyARN(st.Metadata.Get("x-amz-server-side-encryption-aws-kms-key-id"), "hr-dept") {
				t.Fatalf("alice's object is not under hr-dept: %v %v", st.Metadata, err)
			}
		}
		// Another key still needs its grant; the bucket's owner may put
		// its configuration again unchanged, not change its key.
		if _, err := put("alice", "bk2", "other", kmsKey("finance")); code(err) != "AccessDenied" {
			t.Fatalf("alice naming finance in a bucket under hr-dept: %v", err)
		}
		if err := clients["alice"].SetBucketEncryption(ctx, "bk2", miniosse.NewConfigurationSSEKMS("hr-dept")); err != nil {
			t.Fatalf("alice puts bk2's configuration unchanged: %v", err)
		}
		if err := clients["alice"].SetBucketEncryption(ctx, "bk2", miniosse.NewConfigurationSSEKMS("finance")); code(err) != "AccessDenied" {
			t.Fatalf("alice changes bk2's key to finance: %v", err)
		}
		if err := clients["alice"].SetBucketEncryption(ctx, "bk2", miniosse.NewConfigurationSSEKMS("")); err != nil {
			t.Fatalf("alice sets SSE-KMS under the server's default key: %v", err)
		}
	})
}

// postKMSForm uploads data to bucket/key with a POST policy form signed
// by c, with the SSE-KMS fields of sse in the form and its policy.
func postKMSForm(t *testing.T, c *minio.Client, bucket, key string, sse encrypt.ServerSide, data []byte) error {
	t.Helper()
	p := minio.NewPostPolicy()
	p.SetBucket(bucket)
	p.SetKey(key)
	p.SetExpires(time.Now().Add(time.Hour))
	h := http.Header{}
	sse.Marshal(h)
	for k := range h {
		if err := p.SetUserData(strings.TrimPrefix(strings.ToLower(k), "x-amz-"), h.Get(k)); err != nil {
			t.Fatal(err)
		}
	}
	u, fields, err := c.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	status, b := postForm(t, u, fields, key, data)
	if status/100 == 2 {
		return nil
	}
	return minio.ErrorResponse{StatusCode: status, Code: xmlCode(b)}
}

// xmlCode is the <Code> of an S3 error document.
func xmlCode(body string) string {
	_, rest, _ := strings.Cut(body, "<Code>")
	code, _, _ := strings.Cut(rest, "</Code>")
	return code
}
