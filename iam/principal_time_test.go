package iam

import (
	"testing"
	"time"
)

// createdSource is an IdentitySource whose users have creation times.
type createdSource map[string]time.Time

func (c createdSource) UserPolicies(u string) ([]NamedPolicy, bool) { _, ok := c[u]; return nil, ok }
func (c createdSource) UserCreated(u string) time.Time              { return c[u] }

// TestBucketPolicyUserCreatedLater: a bucket policy naming a user grants
// nothing to a user of that name created after the policy was written
// (a deleted user's successor), while a Deny naming it still applies and
// a policy without a time decides by name.
func TestBucketPolicyUserCreatedLater(t *testing.T) {
	written := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	src := createdSource{"eve": written.Add(-time.Hour), "neweve": written.Add(time.Hour)}
	e := NewEngine(src, EngineOptions{})
	doc := func(effect, user string) *Policy {
		p, err := ParseBucketPolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"`+effect+`",
		  "Principal":{"AWS":"arn:aws:iam::123456789012:user/`+user+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), "b")
		if err != nil {
			t.Fatal(err)
		}
		p.WrittenAt = written
		return p
	}
	get := func(user string, p *Policy) Decision {
		return e.Authorize(Request{Principal: user, Action: "s3:GetObject", Bucket: "b", Key: "k"}, p)
	}
	if d := get("eve", doc("Allow", "eve")); !d.Allowed {
		t.Fatalf("a user created before the policy: %+v", d)
	}
	if d := get("neweve", doc("Allow", "neweve")); d.Allowed {
		t.Fatalf("a user created after the policy was allowed: %+v", d)
	}
	deny := doc("Deny", "neweve")
	if d := get("neweve", deny); d.Allowed || !d.Explicit {
		t.Fatalf("a Deny naming a later user must still apply: %+v", d)
	}
	old := doc("Allow", "neweve")
	old.WrittenAt = time.Time{}
	if d := get("neweve", old); !d.Allowed {
		t.Fatalf("a policy without a time decides by name: %+v", d)
	}
}
