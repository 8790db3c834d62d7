package iam

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAuthorize measures the per-request cost of the engine with
// realistic policy shapes.
func BenchmarkAuthorize(b *testing.B) {
	identity := mustParse(b, `{"Version":"2012-10-17","Statement":[
	  {"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home","Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}},
	  {"Sid":"Home","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
	  {"Sid":"Shared","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]},
	  {"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject*","Resource":"arn:aws:s3:::shared/*"}]}`)
	bucket := mustParse(b, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::shared/*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}},
	  {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/public/*"}]}`)
	e := NewEngine(fakeSource{"alice": {{"p", identity}}}, EngineOptions{})
	cond := map[string][]string{KeySourceIP: {"10.1.2.3"}, KeySecureTransport: {"true"}}
	cases := []struct {
		name string
		r    Request
		bp   *Policy
	}{
		{"identity/static", Request{Principal: "alice", Action: "s3:GetObject", Bucket: "shared", Key: "docs/a.pdf", Conditions: cond}, nil},
		{"identity/variable", Request{Principal: "alice", Action: "s3:PutObject", Bucket: "home", Key: "alice/notes/2025.txt", Conditions: cond}, nil},
		{"identity+bucket", Request{Principal: "alice", Action: "s3:GetObject", Bucket: "shared", Key: "docs/a.pdf", Conditions: cond}, bucket},
		{"anonymous+bucket", Request{Action: "s3:GetObject", Bucket: "shared", Key: "public/logo.png", Conditions: cond}, bucket},
		{"default-deny", Request{Principal: "alice", Action: "s3:DeleteBucket", Bucket: "other", Conditions: cond}, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Authorize(c.r, c.bp)
			}
		})
	}
}

func BenchmarkSecret(b *testing.B) {
	ctx := context.Background()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	must(s.CreateUser(ctx, "alice"))
	k := must(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{}))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, ok := s.Secret(k.ID); !ok {
				b.Error("lookup failed")
				return
			}
		}
	})
}

func BenchmarkCheckToken(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tok, _, err := s.MintToken(context.Background(), TokenOptions{Name: "b", Scopes: []string{ScopeStatusRead}, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.CheckToken(tok, ScopeStatusRead); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePolicy(b *testing.B) {
	doc := []byte(awsExamples[4].doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePolicy(doc); err != nil {
			b.Fatal(err)
		}
	}
}
