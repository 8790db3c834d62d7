package iam

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzParsePolicy: ParsePolicy never panics; what it refuses it refuses
// with a *PolicyError; what it accepts marshals to a normal form that
// parses to the same normal form and decides a set of requests the same.
func FuzzParsePolicy(f *testing.F) {
	for _, ex := range awsExamples {
		f.Add([]byte(ex.doc))
	}
	f.Add([]byte(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["s3:?et*"],"NotResource":"arn:aws:s3:::a/${*}${aws:username}"}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*","111122223333"]},"Action":"s3:*","Resource":"*",` +
		`"Condition":{"DateLessThanEquals":{"aws:EpochTime":[1,"2020-01-01"]},"NullIfExists":{"s3:prefix":true}}}]}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Effect":"Deny"}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"s3:max-keys":1e400}}}}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:GenerateDataKey*","s3:PutObject"],` +
		`"Resource":["arn:aws:kms:us-east-1:111122223333:key/${aws:username}-*","arn:aws:s3:::b/*"]}]}`))

	reqs := []Request{
		{Principal: "alice", Action: "s3:GetObject", Bucket: "examplebucket", Key: "a/b",
			Conditions: map[string][]string{KeySourceIP: {"54.240.143.7"}, KeyPrefix: {"home/alice/"}}},
		{Action: "s3:ListBucket", Bucket: "amzn-s3-demo-bucket", Conditions: map[string][]string{KeySecureTransport: {"false"}, KeyMaxKeys: {"5"}}},
		{Principal: "JohnDoe", Action: "s3:PutObject", Bucket: "amzn-s3-demo-bucket", Key: "home/JohnDoe/x",
			Conditions: map[string][]string{KeySourceIP: {"2001:db8:1234:5678::1"}, KeySSE: {"AES256"}}},
		{Principal: "alice", Action: "s3:ListAllMyBuckets"},
		{Principal: "alice", Action: ActionKMSGenerateDataKey, KMSKey: "alice-hr"},
	}
	now := func() time.Time { return fixedNow }
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ParsePolicy(doc)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformedPolicy) {
				t.Fatalf("refused without a *PolicyError: %v", err)
			}
			return
		}
		b1, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		q, err := ParsePolicy(b1)
		if err != nil {
			t.Fatalf("normal form %s does not parse: %v", b1, err)
		}
		b2, _ := json.Marshal(q)
		if string(b1) != string(b2) {
			t.Fatalf("normal form not stable:\n%s\n%s", b1, b2)
		}
		src := func(p *Policy) IdentitySource {
			return fakeSource{"alice": {{"p", p}}, "JohnDoe": {{"p", p}}}
		}
		for _, r := range reqs {
			for _, asBucket := range []bool{false, true} {
				bp1, bp2 := (*Policy)(nil), (*Policy)(nil)
				if asBucket {
					bp1, bp2 = p, q
				}
				d1 := NewEngine(src(p), EngineOptions{Now: now}).Authorize(r, bp1)
				d2 := NewEngine(src(q), EngineOptions{Now: now}).Authorize(r, bp2)
				if d1 != d2 {
					t.Fatalf("policy and normal form decide differently for %+v: %+v / %+v", r, d1, d2)
				}
			}
		}
	})
}
