package iam

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// createdSource is an IdentitySource whose users have creation times.
type createdSource map[string]time.Time

func (c createdSource) UserPolicies(u string) ([]NamedPolicy, bool) { _, ok := c[u]; return nil, ok }
func (c createdSource) UserCreated(u string) time.Time              { return c[u] }

func userPolicy(t *testing.T, effect string, principals ...string) *Policy {
	t.Helper()
	aws, _ := json.Marshal(principals)
	p, err := ParseBucketPolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"`+effect+`",
	  "Principal":{"AWS":`+string(aws)+`},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBucketPolicyBoundUsers: a bucket policy naming a user grants
// nothing to another user of that name (created at another time than
// the one it was written for), while a Deny naming it still applies and
// a policy without bindings decides by name.
func TestBucketPolicyBoundUsers(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	src := createdSource{"eve": t0.Add(time.Hour)} // eve was deleted and created again
	e := NewEngine(src, EngineOptions{})
	get := func(p *Policy) Decision {
		return e.Authorize(Request{Principal: "eve", Action: "s3:GetObject", Bucket: "b", Key: "k"}, p)
	}
	const eveARN = "arn:aws:iam::123456789012:user/eve"
	tests := []struct {
		name     string
		effect   string
		bound    map[string]time.Time
		allowed  bool
		explicit bool
	}{
		{"written for this eve", "Allow", map[string]time.Time{"eve": t0.Add(time.Hour)}, true, false},
		{"written for the old eve", "Allow", map[string]time.Time{"eve": t0}, false, false},
		{"bindings without eve", "Allow", map[string]time.Time{}, false, false},
		{"no bindings: by name", "Allow", nil, true, false},
		{"a Deny for the old eve still applies", "Deny", map[string]time.Time{"eve": t0}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := userPolicy(t, tt.effect, eveARN)
			p.Bound = tt.bound
			if d := get(p); d.Allowed != tt.allowed || d.Explicit != tt.explicit {
				t.Fatalf("decision %+v, want allowed %t explicit %t", d, tt.allowed, tt.explicit)
			}
		})
	}
	t.Run("a unique id names nobody", func(t *testing.T) {
		p := userPolicy(t, "Allow", UserID("eve", t0.Add(time.Hour)))
		if d := get(p); d.Allowed {
			t.Fatalf("allowed by a unique id: %+v", d)
		}
		if names := p.UserNames(); len(names) != 0 {
			t.Fatalf("UserNames %v", names)
		}
	})
}

func TestUserNamesAndIDs(t *testing.T) {
	p := userPolicy(t, "Allow", "arn:aws:iam::123456789012:user/zed", "arn:aws:iam::123456789012:user/team/amy",
		"arn:aws:iam::123456789012:user/zed", "*")
	if got := p.UserNames(); !reflect.DeepEqual(got, []string{"amy", "zed"}) {
		t.Fatalf("UserNames %v", got)
	}
	if got := userPolicy(t, "Deny", "arn:aws:iam::123456789012:user/zed").UserNames(); len(got) != 0 {
		t.Fatalf("a Deny binds nobody, got %v", got)
	}
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	id := UserID("amy", t0)
	if !isUserID(id) || id == UserID("amy", t0.Add(1)) || id == UserID("amz", t0) || id != UserID("amy", t0) {
		t.Fatalf("UserID %q not a stable, distinct unique id", id)
	}
	for _, bad := range []string{"AIDA", "AIDAabc123456789012", "ASIA1234567890123456", "AIDA12345"} {
		if isUserID(bad) {
			t.Fatalf("%q taken for a unique id", bad)
		}
	}
}

// TestShowUserIDs: GetBucketPolicy's rendering of a gone user: its ARN
// in an Allow, alone or in a list, becomes its unique id; everything else
// stays.
func TestShowUserIDs(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/eve"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"NumericLessThan":{"s3:max-keys":10}}},` +
		`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/amy","arn:aws:iam::123456789012:user/eve"]},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"},` +
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/pub/<&>*"},` +
		`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/eve"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]}`
	out, err := ShowUserIDs([]byte(doc), map[string]string{"eve": "AIDAEVEEVEEVEEVEEVE"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	// The Deny keeps the name: it applies to whoever has it, and written
	// back as an id it would stop denying the new eve.
	if strings.Count(got, "user/eve") != 1 || !strings.Contains(got, `"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/eve"}`) ||
		strings.Count(got, "AIDAEVEEVEEVEEVEEVE") != 2 ||
		!strings.Contains(got, "user/amy") || !strings.Contains(got, `"s3:max-keys":10`) || !strings.Contains(got, "pub/<&>*") {
		t.Fatalf("rendered %s", got)
	}
	if _, err := ParseBucketPolicy(out, "b"); err != nil {
		t.Fatalf("the rendered policy does not parse back: %v", err)
	}
	if same, _ := ShowUserIDs([]byte(doc), nil); string(same) != doc {
		t.Fatal("without gone users the document must stay as written")
	}
}
