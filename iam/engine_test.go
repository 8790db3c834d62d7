package iam

import (
	"fmt"
	"maps"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// fakeSource is an IdentitySource over parsed documents.
type fakeSource map[string][]NamedPolicy

func (f fakeSource) UserPolicies(u string) ([]NamedPolicy, bool) { p, ok := f[u]; return p, ok }
func (f fakeSource) UserCreated(string) time.Time                { return time.Time{} }

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return p
}

func allow(action, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":%q}]}`, action, resource)
}

func deny(action, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":%q,"Resource":%q}]}`, action, resource)
}

func withCond(effect, action, resource, cond string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":%q,"Action":%q,"Resource":%q,"Condition":%s}]}`, effect, action, resource, cond)
}

func bucketPol(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

var fixedNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func TestAuthorize(t *testing.T) {
	get := func(bucket, key string) Request {
		return Request{Principal: "alice", Action: "s3:GetObject", Bucket: bucket, Key: key}
	}
	with := func(r Request, kv ...string) Request {
		r.Conditions = map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			r.Conditions[kv[i]] = append(r.Conditions[kv[i]], kv[i+1])
		}
		return r
	}
	anon := func(action, bucket, key string) Request { return Request{Action: action, Bucket: bucket, Key: key} }
	tests := []struct {
		name     string
		identity []string // alice's policies
		bucket   string   // bucket policy
		req      Request
		allowed  bool
		explicit bool
		reason   string // substring of Decision.Reason
	}{
		{name: "default deny", req: get("b", "k"), reason: "no statement allows s3:GetObject on arn:aws:s3:::b/k"},
		{name: "allow", identity: []string{allow("s3:GetObject", "arn:aws:s3:::b/*")}, req: get("b", "k"), allowed: true, reason: "Statement[0]"},
		{name: "allow other bucket", identity: []string{allow("s3:GetObject", "arn:aws:s3:::b/*")}, req: get("c", "k")},
		{name: "object pattern does not match bucket", identity: []string{allow("s3:ListBucket", "arn:aws:s3:::b/*")},
			req: Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}},
		{name: "deny wins in one policy", identity: []string{bucketPol(
			`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`,
			`{"Sid":"NoSecrets","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret/*"}`)},
			req: get("b", "secret/x"), explicit: true, reason: `statement "NoSecrets"`},
		{name: "deny wins across policies", identity: []string{allow("s3:*", "*"), deny("s3:Get*", "arn:aws:s3:::b/*")},
			req: get("b", "k"), explicit: true},
		{name: "bucket policy deny beats identity allow", identity: []string{allow("s3:*", "*")},
			bucket: bucketPol(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req:    get("b", "k"), explicit: true, reason: "bucket policy"},
		{name: "bucket policy grants user", bucket: bucketPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: get("b", "k"), allowed: true, reason: "bucket policy"},
		{name: "bucket policy grants another user", bucket: bucketPol(`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/bob"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: get("b", "k")},
		{name: "account principal grants nothing", bucket: bucketPol(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`),
			req: get("b", "k")},
		{name: "account principal denies users", identity: []string{allow("s3:*", "*")},
			bucket: bucketPol(`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`),
			req:    get("b", "k"), explicit: true},
		{name: "anonymous public read", bucket: bucketPol(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: anon("s3:GetObject", "b", "k"), allowed: true},
		{name: "anonymous AWS star", bucket: bucketPol(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: anon("s3:GetObject", "b", "k"), allowed: true},
		{name: "anonymous public read is read only", bucket: bucketPol(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: anon("s3:PutObject", "b", "k")},
		{name: "anonymous without bucket policy", req: anon("s3:GetObject", "b", "k")},
		{name: "anonymous not a named user", bucket: bucketPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: anon("s3:GetObject", "b", "k")},
		{name: "anonymous not an account", bucket: bucketPol(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: anon("s3:GetObject", "b", "k")},
		{name: "unknown user", identity: []string{allow("s3:*", "*")}, req: Request{Principal: "mallory", Action: "s3:GetObject", Bucket: "b", Key: "k"},
			reason: "unknown or disabled"},
		{name: "root beats bucket deny", bucket: bucketPol(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`),
			req: Request{Root: true, Action: "s3:GetObject", Bucket: "b", Key: "k"}, allowed: true, reason: "root"},
		{name: "NotAction allow", identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:DeleteBucket","Resource":"arn:aws:s3:::*"}}`},
			req: Request{Principal: "alice", Action: "s3:PutObject", Bucket: "b", Key: "k"}, allowed: true},
		{name: "NotAction excluded", identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:DeleteBucket","Resource":"arn:aws:s3:::*"}}`},
			req: Request{Principal: "alice", Action: "s3:DeleteBucket", Bucket: "b"}},
		{name: "NotResource deny", identity: []string{allow("s3:*", "*"),
			`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b/public/*"}}`},
			req: get("b", "private/x"), explicit: true},
		{name: "NotResource deny spares listed", identity: []string{allow("s3:*", "*"),
			`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b/public/*"}}`},
			req: get("b", "public/x"), allowed: true},
		{name: "action wildcard", identity: []string{allow("s3:Get*", "*")}, req: get("b", "k"), allowed: true},
		{name: "action wildcard miss", identity: []string{allow("s3:Get*", "*")}, req: Request{Principal: "alice", Action: "s3:PutObject", Bucket: "b", Key: "k"}},
		{name: "action case-insensitive", identity: []string{allow("S3:GETOBJECT", "*")}, req: get("b", "k"), allowed: true},
		{name: "resource case-sensitive", identity: []string{allow("s3:GetObject", "arn:aws:s3:::B/*")}, req: get("b", "k")},
		{name: "resource question mark", identity: []string{allow("s3:GetObject", "arn:aws:s3:::b/log-????.txt")}, req: get("b", "log-2025.txt"), allowed: true},
		{name: "resource question mark length", identity: []string{allow("s3:GetObject", "arn:aws:s3:::b/log-????.txt")}, req: get("b", "log-25.txt")},
		{name: "list all buckets needs star", identity: []string{allow("s3:ListAllMyBuckets", "arn:aws:s3:::b")},
			req: Request{Principal: "alice", Action: "s3:ListAllMyBuckets"}},
		{name: "list all buckets with arn star", identity: []string{allow("s3:ListAllMyBuckets", "arn:aws:s3:::*")},
			req: Request{Principal: "alice", Action: "s3:ListAllMyBuckets"}, allowed: true},
		{name: "ipv4 cidr", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`)},
			req: with(get("b", "k"), KeySourceIP, "192.0.2.77"), allowed: true},
		{name: "ipv4 cidr miss", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`)},
			req: with(get("b", "k"), KeySourceIP, "192.0.3.1")},
		{name: "ipv4-mapped request address", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`)},
			req: with(get("b", "k"), KeySourceIP, "::ffff:192.0.2.9"), allowed: true},
		{name: "ipv6 cidr", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}`)},
			req: with(get("b", "k"), KeySourceIP, "2001:db8:ffff::1"), allowed: true},
		{name: "ipv6 cidr miss", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}`)},
			req: with(get("b", "k"), KeySourceIP, "2001:db9::1")},
		{name: "single address", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddress":{"aws:SourceIp":"2001:db8::1"}}`)},
			req: with(get("b", "k"), KeySourceIP, "2001:db8::1"), allowed: true},
		{name: "ip key absent", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`)}, req: get("b", "k")},
		{name: "NotIpAddress deny outside", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:*", "*", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","fd00::/8"]}}`)},
			req: with(get("b", "k"), KeySourceIP, "203.0.113.5"), explicit: true},
		{name: "NotIpAddress values are NORed", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:*", "*", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","fd00::/8"]}}`)},
			req: with(get("b", "k"), KeySourceIP, "fd00::7"), allowed: true},
		{name: "NotIpAddress with key absent applies", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:*", "*", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req: get("b", "k"), explicit: true},
		{name: "NotIpAddressIfExists with key absent applies", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:*", "*", `{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req: get("b", "k"), explicit: true},
		{name: "IpAddressIfExists with key absent applies", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req: get("b", "k"), allowed: true},
		{name: "IpAddressIfExists with key present", identity: []string{withCond("Allow", "s3:*", "*", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req: with(get("b", "k"), KeySourceIP, "11.0.0.1")},
		{name: "StringEqualsIfExists absent", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"StringEqualsIfExists":{"s3:prefix":"public/"}}`)},
			req: Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, allowed: true},
		{name: "StringEqualsIfExists present mismatch", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"StringEqualsIfExists":{"s3:prefix":"public/"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, KeyPrefix, "private/")},
		{name: "StringEquals absent", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"StringEquals":{"s3:prefix":"public/"}}`)},
			req: Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}},
		{name: "StringLike values ORed", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"StringLike":{"s3:prefix":["a/*","b/*"]}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, KeyPrefix, "b/c"), allowed: true},
		{name: "keys ANDed", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"StringLike":{"s3:prefix":"a/*","s3:delimiter":"/"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, KeyPrefix, "a/x")},
		{name: "keys ANDed both", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"StringLike":{"s3:prefix":"a/*","s3:delimiter":"/"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, KeyPrefix, "a/x", KeyDelimiter, "/"), allowed: true},
		{name: "StringNotEquals absent is true", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:PutObject", "*", `{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}`)},
			req: Request{Principal: "alice", Action: "s3:PutObject", Bucket: "b", Key: "k"}, explicit: true},
		{name: "StringNotEquals match", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:PutObject", "*", `{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:PutObject", Bucket: "b", Key: "k"}, KeySSE, "AES256"), allowed: true},
		{name: "StringEqualsIgnoreCase", identity: []string{withCond("Allow", "s3:*", "*", `{"StringEqualsIgnoreCase":{"aws:UserAgent":"RCLONE"}}`)},
			req: with(get("b", "k"), KeyUserAgent, "rclone"), allowed: true},
		{name: "Null true when absent", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:PutObject", "*", `{"Null":{"s3:x-amz-server-side-encryption":"true"}}`)},
			req: Request{Principal: "alice", Action: "s3:PutObject", Bucket: "b", Key: "k"}, explicit: true},
		{name: "Null true when present", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:PutObject", "*", `{"Null":{"s3:x-amz-server-side-encryption":"true"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:PutObject", Bucket: "b", Key: "k"}, KeySSE, "aws:kms"), allowed: true},
		{name: "Bool insecure denied", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:*", "*", `{"Bool":{"aws:SecureTransport":false}}`)},
			req: with(get("b", "k"), KeySecureTransport, "false"), explicit: true},
		{name: "Bool secure allowed", identity: []string{allow("s3:*", "*"), withCond("Deny", "s3:*", "*", `{"Bool":{"aws:SecureTransport":"false"}}`)},
			req: with(get("b", "k"), KeySecureTransport, "true"), allowed: true},
		{name: "date window open", identity: []string{withCond("Allow", "s3:*", "*", `{"DateGreaterThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2026-01-01"}}`)},
			req: get("b", "k"), allowed: true},
		{name: "date window closed", identity: []string{withCond("Allow", "s3:*", "*", `{"DateLessThan":{"aws:CurrentTime":"2025-06-15T11:59:59Z"}}`)},
			req: get("b", "k")},
		{name: "epoch time", identity: []string{withCond("Allow", "s3:*", "*", `{"DateGreaterThanEquals":{"aws:EpochTime":1749988800}}`)},
			req: get("b", "k"), allowed: true},
		{name: "numeric max-keys", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"NumericLessThanEquals":{"s3:max-keys":"100"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, KeyMaxKeys, "100"), allowed: true},
		{name: "numeric max-keys over", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"NumericLessThanEquals":{"s3:max-keys":"100"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, KeyMaxKeys, "1000")},
		{name: "numeric not a number", identity: []string{withCond("Allow", "s3:ListBucket", "*", `{"NumericLessThanEquals":{"s3:max-keys":"100"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "b"}, KeyMaxKeys, "lots")},
		{name: "username variable", identity: []string{allow("s3:*", "arn:aws:s3:::home/${aws:username}/*")},
			req: get("home", "alice/notes.txt"), allowed: true},
		{name: "username variable other home", identity: []string{allow("s3:*", "arn:aws:s3:::home/${aws:username}/*")},
			req: get("home", "bob/notes.txt")},
		{name: "username variable in condition", identity: []string{withCond("Allow", "s3:ListBucket", "arn:aws:s3:::home", `{"StringLike":{"s3:prefix":"${aws:username}/*"}}`)},
			req: with(Request{Principal: "alice", Action: "s3:ListBucket", Bucket: "home"}, KeyPrefix, "alice/docs/"), allowed: true},
		{name: "2008 policy has no variables", identity: []string{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`},
			req: get("home", "alice/x")},
		{name: "unresolved variable: allow does not apply", bucket: bucketPol(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}`),
			req: anon("s3:GetObject", "home", "/x")},
		{name: "unresolved variable: deny applies", bucket: bucketPol(
			`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/*"}`,
			`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::home/${aws:username}/*"}`),
			req: anon("s3:GetObject", "home", "x"), explicit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fakeSource{"alice": nil}
			for i, doc := range tt.identity {
				src["alice"] = append(src["alice"], NamedPolicy{Name: fmt.Sprintf("p%d", i), Policy: mustParse(t, doc)})
			}
			var bp *Policy
			if tt.bucket != "" {
				bp = mustParse(t, tt.bucket)
			}
			e := NewEngine(src, EngineOptions{Now: func() time.Time { return fixedNow }})
			d := e.Authorize(tt.req, bp)
			if d.Allowed != tt.allowed || d.Explicit != tt.explicit {
				t.Fatalf("decision %+v, want allowed=%v explicit=%v", d, tt.allowed, tt.explicit)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("reason %q does not contain %q", d.Reason, tt.reason)
			}
		})
	}
}

// randomPolicy builds a random identity policy from a small grammar.
func randomPolicy(rng *rand.Rand) string {
	actions := []string{"s3:GetObject", "s3:PutObject", "s3:Get*", "s3:*", "*", "s3:ListBucket", "s3:Delete?bject"}
	resources := []string{"*", "arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:s3:::b/a*", "arn:aws:s3:::c/?", "arn:aws:s3:::*"}
	conds := []string{"", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, `{"StringLikeIfExists":{"s3:prefix":"a*"}}`,
		`{"NotIpAddress":{"aws:SourceIp":["10.1.0.0/16","2001:db8::/32"]}}`, `{"Bool":{"aws:SecureTransport":"true"}}`}
	var stmts []string
	for range 1 + rng.Intn(4) {
		effect := "Allow"
		if rng.Intn(4) == 0 {
			effect = "Deny"
		}
		actKey, resKey := "Action", "Resource"
		if rng.Intn(5) == 0 {
			actKey = "NotAction"
		}
		if rng.Intn(5) == 0 {
			resKey = "NotResource"
		}
		s := fmt.Sprintf(`{"Effect":%q,%q:%q,%q:%q`, effect, actKey, actions[rng.Intn(len(actions))], resKey, resources[rng.Intn(len(resources))])
		if c := conds[rng.Intn(len(conds))]; c != "" {
			s += `,"Condition":` + c
		}
		stmts = append(stmts, s+"}")
	}
	return bucketPol(stmts...)
}

func randomRequest(rng *rand.Rand) Request {
	actions := []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetObjectVersion"}
	r := Request{Principal: "alice", Action: actions[rng.Intn(len(actions))], Bucket: []string{"b", "c"}[rng.Intn(2)]}
	if r.Action != "s3:ListBucket" {
		r.Key = []string{"a", "ab", "x/y", "z"}[rng.Intn(4)]
	}
	r.Conditions = map[string][]string{}
	if rng.Intn(2) == 0 {
		r.Conditions[KeySourceIP] = []string{[]string{"10.1.2.3", "10.2.0.1", "192.0.2.1", "2001:db8::5"}[rng.Intn(4)]}
	}
	if rng.Intn(2) == 0 {
		r.Conditions[KeySecureTransport] = []string{[]string{"true", "false"}[rng.Intn(2)]}
	}
	if rng.Intn(2) == 0 {
		r.Conditions[KeyPrefix] = []string{[]string{"a", "b"}[rng.Intn(2)]}
	}
	return r
}

// TestAuthorizeProperties checks invariants over random policies and
// requests: the normal form decides the same; an unconditional Deny of
// the request's action always wins; without any Allow nothing is allowed.
func TestAuthorizeProperties(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for i := range 3000 {
		doc := randomPolicy(rng)
		p := mustParse(t, doc)
		q := mustParse(t, p.String())
		r := randomRequest(rng)
		d1 := NewEngine(fakeSource{"alice": {{"p", p}}}, EngineOptions{}).Authorize(r, nil)
		d2 := NewEngine(fakeSource{"alice": {{"p", q}}}, EngineOptions{}).Authorize(r, nil)
		if d1 != d2 {
			t.Fatalf("case %d: %s and its normal form decide %+v and %+v for %+v", i, doc, d1, d2, r)
		}
		denyAll := mustParse(t, deny(r.Action, "*"))
		d3 := NewEngine(fakeSource{"alice": {{"p", p}, {"deny", denyAll}}}, EngineOptions{}).Authorize(r, nil)
		if d3.Allowed || !d3.Explicit {
			t.Fatalf("case %d: deny-all did not win: %+v", i, d3)
		}
		if !strings.Contains(doc, `"Allow"`) && d1.Allowed {
			t.Fatalf("case %d: allowed without any Allow: %s", i, doc)
		}
	}
}

func TestMayAllow(t *testing.T) {
	del := func(principal, bucket string) Request {
		return Request{Principal: principal, Action: "s3:DeleteObject", Bucket: bucket}
	}
	create := Request{Principal: "alice", Action: "s3:CreateBucket", Bucket: "nb"}
	anyKey := Unknown{AnyKey: true}
	location := Unknown{Conditions: []string{KeyLocationConstraint}}
	tests := []struct {
		name     string
		identity []string // alice's policies
		bucket   string   // bucket policy
		req      Request
		unknown  Unknown
		want     bool
	}{
		{name: "anonymous without bucket policy", req: del("", "b"), unknown: anyKey},
		{name: "anonymous, policy grants reads only", bucket: bucketPol(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			req: del("", "b"), unknown: anyKey},
		{name: "anonymous, policy grants deletes under a prefix", bucket: bucketPol(`{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/tmp/*"}`),
			req: del("", "b"), unknown: anyKey, want: true},
		{name: "anonymous, policy grants deletes to alice only", bucket: bucketPol(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}`),
			req: del("", "b"), unknown: anyKey},
		{name: "anonymous, grant on the bucket not its objects", bucket: bucketPol(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"}`),
			req: del("", "b"), unknown: anyKey},
		{name: "anonymous, condition on the source address", bucket: bucketPol(`{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`),
			req: Request{Action: "s3:DeleteObject", Bucket: "b", Conditions: map[string][]string{KeySourceIP: {"192.0.2.1"}}}, unknown: anyKey},
		{name: "user without policies", req: del("alice", "b"), unknown: anyKey},
		{name: "user may delete in another bucket", identity: []string{allow("s3:DeleteObject", "arn:aws:s3:::c/*")}, req: del("alice", "b"), unknown: anyKey},
		{name: "user may delete one key", identity: []string{allow("s3:DeleteObject", "arn:aws:s3:::b/k")}, req: del("alice", "b"), unknown: anyKey, want: true},
		{name: "user may delete in her home", identity: []string{allow("s3:DeleteObject", "arn:aws:s3:::b/home/${aws:username}/*")}, req: del("alice", "b"), unknown: anyKey, want: true},
		{name: "user's NotResource allow", identity: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:DeleteObject","NotResource":"arn:aws:s3:::b/keep/*"}}`},
			req: del("alice", "b"), unknown: anyKey, want: true},
		{name: "unknown user", identity: []string{allow("s3:*", "*")}, req: del("mallory", "b"), unknown: anyKey},
		{name: "create bucket without any grant", identity: []string{allow("s3:GetObject", "*")}, req: create, unknown: location},
		{name: "create bucket in one location", identity: []string{withCond("Allow", "s3:CreateBucket", "*", `{"StringEquals":{"s3:LocationConstraint":"eu-central-1"}}`)},
			req: create, unknown: location, want: true},
		{name: "create bucket, location still unknown", identity: []string{withCond("Allow", "s3:CreateBucket", "*", `{"StringEquals":{"s3:LocationConstraint":"eu-central-1"}}`)},
			req: create},
		{name: "create bucket from another network", identity: []string{withCond("Allow", "s3:CreateBucket", "*", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)},
			req: Request{Principal: "alice", Action: "s3:CreateBucket", Bucket: "nb", Conditions: map[string][]string{KeySourceIP: {"192.0.2.1"}}}, unknown: location},
		{name: "create bucket under another name", identity: []string{allow("s3:CreateBucket", "arn:aws:s3:::team-*")}, req: create, unknown: location},
		{name: "deny is not considered", identity: []string{allow("s3:*", "*"), deny("s3:CreateBucket", "*")}, req: create, unknown: location, want: true},
		{name: "root", req: Request{Root: true, Action: "s3:CreateBucket", Bucket: "nb"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fakeSource{"alice": nil}
			for i, doc := range tt.identity {
				src["alice"] = append(src["alice"], NamedPolicy{Name: fmt.Sprintf("p%d", i), Policy: mustParse(t, doc)})
			}
			var bp *Policy
			if tt.bucket != "" {
				bp = mustParse(t, tt.bucket)
			}
			e := NewEngine(src, EngineOptions{Now: func() time.Time { return fixedNow }})
			if got := e.MayAllow(tt.req, bp, tt.unknown); got != tt.want {
				t.Fatalf("MayAllow = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMayAllowProperties: MayAllow never refuses what Authorize would
// allow, whatever the key or the value of an unknown condition key.
func TestMayAllowProperties(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for i := range 3000 {
		doc := randomPolicy(rng)
		e := NewEngine(fakeSource{"alice": {{"p", mustParse(t, doc)}}}, EngineOptions{})
		r := randomRequest(rng)
		if !e.Authorize(r, nil).Allowed {
			continue
		}
		if r.Key != "" {
			anyKey := r
			anyKey.Key = "other"
			if !e.MayAllow(anyKey, nil, Unknown{AnyKey: true}) {
				t.Fatalf("case %d: %s allows %+v, but MayAllow refuses any key", i, doc, r)
			}
		}
		noPrefix := r
		noPrefix.Conditions = maps.Clone(r.Conditions)
		delete(noPrefix.Conditions, KeyPrefix)
		if !e.MayAllow(noPrefix, nil, Unknown{Conditions: []string{KeyPrefix}}) {
			t.Fatalf("case %d: %s allows %+v, but MayAllow refuses it with s3:prefix unknown", i, doc, r)
		}
	}
}
