package iam

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// randomAllowPolicy is a policy of one to three Allow statements drawn from
// actions, resources (bucket b only for a bucket policy), principals
// and conditions chosen to hit MayAllow's approximations: wildcards,
// NotAction and NotResource, policy variables and the keys it does not
// know before the body.
func randomAllowPolicy(rng *rand.Rand, bucketPolicy bool) string {
	actions := []string{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:Delete*", "s3:*", "*", "S3:DELETEOBJECT", "s3:delete?bject*", "s3:GetObject", "s3:CreateBucket", "s3:Create*"}
	resources := []string{"*", "arn:aws:s3:::*", "arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:s3:::b*", "arn:aws:s3:::b*/*", "arn:aws:s3:::b/a*",
		"arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/${*}", "arn:aws:s3:::b/?", "arn:aws:s3:::*/x/y", "arn:aws:s3:::b/x/${aws:username}*",
		"arn:aws:s3:::b?", "arn:aws:s3:::?/*", "arn:aws:s3:::b/é*", "arn:aws:s3:::B/*", "arn:aws:s3:::b/${aws:SourceIp}"}
	if bucketPolicy {
		resources = []string{"arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:s3:::b/a*", "arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/${*}", "arn:aws:s3:::b/?", "arn:aws:s3:::b/x/${aws:username}*", "arn:aws:s3:::b/é*"}
	}
	principals := []string{`"*"`, `{"AWS":"*"}`, `{"AWS":"arn:aws:iam::111122223333:user/alice"}`, `{"AWS":"111122223333"}`, `{"AWS":["arn:aws:iam::111122223333:user/bob","*"]}`}
	conds := []string{"", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, `{"Null":{"s3:versionid":"true"}}`, `{"Null":{"s3:versionid":"false"}}`,
		`{"StringEquals":{"s3:versionid":"v1"}}`, `{"StringLike":{"aws:username":"al*"}}`, `{"StringEquals":{"s3:LocationConstraint":"eu-central-1"}}`,
		`{"StringNotEquals":{"s3:LocationConstraint":"us-west-2"}}`, `{"Null":{"s3:LocationConstraint":"false"}}`, `{"Bool":{"aws:SecureTransport":"true"}}`,
		`{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}`, `{"StringLike":{"s3:prefix":"${aws:username}/*"}}`, `{"StringEquals":{"s3:versionid":"${aws:username}"}}`}
	var stmts []string
	for range 1 + rng.Intn(3) {
		actKey, resKey := "Action", "Resource"
		if rng.Intn(5) == 0 {
			actKey = "NotAction"
		}
		if rng.Intn(5) == 0 {
			resKey = "NotResource"
		}
		s := fmt.Sprintf(`{"Effect":"Allow",%q:%q,%q:%q`, actKey, actions[rng.Intn(len(actions))], resKey, resources[rng.Intn(len(resources))])
		if bucketPolicy {
			s += `,"Principal":` + principals[rng.Intn(len(principals))]
		}
		if c := conds[rng.Intn(len(conds))]; c != "" {
			s += `,"Condition":` + c
		}
		stmts = append(stmts, s+"}")
	}
	return bucketPol(stmts...)
}

// TestMayAllowNeverRefusesAllowed: whatever the identity and bucket
// policies, principal and key, Authorize allowing a DeleteObject(Version)
// of some key implies MayAllow(AnyKey) for the bucket; same for
// CreateBucket with some location.
func TestMayAllowNeverRefusesAllowed(t *testing.T) {
	// A fixed seed, so that a failure reproduces; 10,000 cases check
	// about a thousand allowed ones in about a second.
	rng := rand.New(rand.NewSource(1))
	keys := []string{"a", "ab", "alice/x", "x/alice", "x/aliceZ", "*", "x/y", "é1", "k", "a/b/c", "10.1.2.3"}
	checked := 0
	for i := range 10000 {
		var idDoc, bDoc string
		src := fakeSource{"alice": nil, "bob": nil}
		if rng.Intn(3) != 0 {
			idDoc = randomAllowPolicy(rng, false)
			src["alice"] = []NamedPolicy{{"p", mustParse(t, idDoc)}}
		}
		var bp *Policy
		if rng.Intn(2) == 0 {
			bDoc = randomAllowPolicy(rng, true)
			p, err := ParseBucketPolicy([]byte(bDoc), "b")
			if err != nil {
				t.Fatal(err)
			}
			bp = p
		}
		e := NewEngine(src, EngineOptions{Now: func() time.Time { return fixedNow }})
		principal := []string{"", "alice", "bob"}[rng.Intn(3)]
		conds := map[string][]string{KeySourceIP: {[]string{"10.1.2.3", "192.0.2.1"}[rng.Intn(2)]}, KeySecureTransport: {"true"}}
		if rng.Intn(2) == 0 {
			action := []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}[rng.Intn(2)]
			r := Request{Principal: principal, Action: action, Bucket: "b", Key: keys[rng.Intn(len(keys))], Conditions: conds}
			if !e.Authorize(r, bp).Allowed {
				continue
			}
			checked++
			early := r
			early.Key = ""
			u := Unknown{AnyKey: true, Conditions: []string{KeyVersionID}}
			if !e.MayAllow(Request{Principal: principal, Action: "s3:DeleteObject", Bucket: "b", Conditions: conds}, bp, u) &&
				!e.MayAllow(Request{Principal: principal, Action: "s3:DeleteObjectVersion", Bucket: "b", Conditions: conds}, bp, u) {
				t.Fatalf("case %d: identity %s bucket %s: Authorize allows %+v, MayAllow refuses", i, idDoc, bDoc, r)
			}
		} else {
			if principal == "" {
				continue
			}
			r := Request{Principal: principal, Action: "s3:CreateBucket", Bucket: "b", Conditions: conds}
			for _, loc := range []string{"", "eu-central-1", "us-west-2"} {
				rr := r
				rr.Conditions = map[string][]string{}
				for k, v := range conds {
					rr.Conditions[k] = v
				}
				if loc != "" {
					rr.Conditions[KeyLocationConstraint] = []string{loc}
				}
				if !e.Authorize(rr, nil).Allowed {
					continue
				}
				checked++
				if !e.MayAllow(r, nil, Unknown{Conditions: []string{KeyLocationConstraint}}) {
					t.Fatalf("case %d: identity %s: Authorize allows CreateBucket in %q, MayAllow refuses", i, idDoc, loc)
				}
			}
		}
	}
	t.Logf("%d allowed cases checked", checked)
}

// TestMayAllowVariableOfUnknownKey: a policy variable naming a
// key MayAllow treats as unknown (in a Resource or in another
// condition's value) is unresolved there, so the statement is taken
// not to apply, though Authorize, with the body's value, allows.
func TestMayAllowVariableOfUnknownKey(t *testing.T) {
	for _, doc := range []string{
		allow("s3:CreateBucket", "arn:aws:s3:::${s3:LocationConstraint}-*"),
		withCond("Allow", "s3:CreateBucket", "*", `{"StringLike":{"aws:username":"${s3:LocationConstraint}"}}`),
	} {
		e := NewEngine(fakeSource{"eu": {{"p", mustParse(t, doc)}}}, EngineOptions{})
		r := Request{Principal: "eu", Action: "s3:CreateBucket", Bucket: "eu-logs", Conditions: map[string][]string{KeyLocationConstraint: {"eu"}}}
		if !e.Authorize(r, nil).Allowed {
			t.Fatalf("%s: Authorize refuses", doc)
		}
		r.Conditions = nil
		if !e.MayAllow(r, nil, Unknown{Conditions: []string{KeyLocationConstraint}}) {
			t.Errorf("%s: Authorize allows CreateBucket of eu-logs in eu, MayAllow refuses it before the body", doc)
		}
	}
}
