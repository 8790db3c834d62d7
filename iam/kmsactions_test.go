package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestParseKMSStatements: identity policies take kms:GenerateDataKey and
// kms:Decrypt (and wildcards matching them) on KMS key ARNs, and refuse
// other KMS actions, KMS actions on S3 resources, S3 actions on KMS keys
// and KMS ARNs that are not key ARNs.
func TestParseKMSStatements(t *testing.T) {
	stmt := func(action, resource string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + action + `,"Resource":` + resource + `}]}`
	}
	tests := []struct {
		name, doc string
		want      string // substring of the error; "" for accepted
	}{
		{"one key", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:us-east-1:111122223333:key/hr-dept"`), ""},
		{"any key", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:*:key/*"`), ""},
		{"empty region and account", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:::key/hr-dept"`), ""},
		{"key prefix", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:*:key/finance-*"`), ""},
		{"all resources", stmt(`"kms:GenerateDataKey"`, `"*"`), ""},
		{"decrypt", stmt(`"kms:Decrypt"`, `"arn:aws:kms:*:*:key/hr-dept"`), ""},
		{"all kms actions", stmt(`"kms:*"`, `"arn:aws:kms:*:*:key/*"`), ""},
		{"AWS wildcard form", stmt(`["kms:GenerateDataKey*","kms:Decrypt"]`, `"arn:aws:kms:*:*:key/*"`), ""},
		{"case-insensitive action", stmt(`"KMS:generatedatakey"`, `"arn:aws:kms:*:*:key/k"`), ""},
		{"user's own key", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:*:key/${aws:username}"`), ""},
		{"S3 and KMS in one statement", stmt(`["s3:PutObject","kms:GenerateDataKey"]`, `["arn:aws:s3:::b/*","arn:aws:kms:*:*:key/k"]`), ""},
		{"all actions on a key", stmt(`"*"`, `"arn:aws:kms:*:*:key/k"`), ""},

		{"unknown KMS action", stmt(`"kms:Encrypt"`, `"arn:aws:kms:*:*:key/k"`), `"kms:Encrypt" is not a KMS action objstore knows`},
		{"KMS wildcard matching none", stmt(`"kms:Enc*"`, `"arn:aws:kms:*:*:key/k"`), "is not a KMS action objstore knows"},
		{"other service", stmt(`"iam:CreateUser"`, `"*"`), "only s3 actions"},
		{"KMS action on objects", stmt(`"kms:GenerateDataKey"`, `"arn:aws:s3:::b/*"`), `"kms:GenerateDataKey" applies to KMS keys`},
		{"KMS action on a bucket", stmt(`["s3:PutObject","kms:Decrypt"]`, `["arn:aws:s3:::b","arn:aws:s3:::b/*"]`), `"kms:Decrypt" applies to KMS keys`},
		{"S3 action on a key", stmt(`"s3:PutObject"`, `"arn:aws:kms:*:*:key/k"`), `"s3:PutObject" applies to buckets and objects`},
		{"alias", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:*:alias/k"`), "aliases are not supported"},
		{"no key id", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:*:key/"`), "a KMS resource is"},
		{"no resource type", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:*:k"`), "a KMS resource is"},
		{"missing parts", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*"`), "a KMS resource is"},
		{"bad account", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:1234:key/k"`), "not a 12-digit account id"},
		{"bad region", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:US_EAST:*:key/k"`), "not a region name"},
		{"key id with a slash", stmt(`"kms:GenerateDataKey"`, `"arn:aws:kms:*:*:key/a/b"`), "a KMS resource is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tt.doc))
			if tt.want != "" {
				var pe *PolicyError
				if err == nil || !errors.Is(err, ErrMalformedPolicy) || !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want a *PolicyError containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Resources keep their spelling in the normal form, which
			// parses to itself.
			b1, _ := json.Marshal(p)
			for _, r := range p.statements[0].resources {
				if q := `"` + r.src + `"`; !strings.Contains(tt.doc, q) || !strings.Contains(string(b1), q) {
					t.Fatalf("resource %s: not as written in the normal form %s", q, b1)
				}
			}
			q, err := ParsePolicy(b1)
			if err != nil {
				t.Fatalf("re-parse %s: %v", b1, err)
			}
			if b2, _ := json.Marshal(q); string(b1) != string(b2) {
				t.Fatalf("normal form not stable:\n%s\n%s", b1, b2)
			}
		})
	}
}

// TestKMSNotInBucketPolicies: a bucket policy cannot name a KMS action or
// a KMS key: it is S3's resource policy; the use of a key is the user's
// own identity policies' to grant.
func TestKMSNotInBucketPolicies(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"KMS action on objects", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:GenerateDataKey","Resource":"arn:aws:s3:::b/*"}]}`,
			"applies to KMS keys"},
		{"KMS key", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:GenerateDataKey","Resource":"arn:aws:kms:*:*:key/k"}]}`,
			`is not bucket "b"`},
		{"KMS action with NotResource", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","NotResource":"arn:aws:s3:::b/public/*"}]}`,
			`"kms:Decrypt" is not an S3 action`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBucketPolicyStrict([]byte(tt.doc), "b")
			if err == nil || !errors.Is(err, ErrMalformedPolicy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestAuthorizeKMS: a KMS action on a key is allowed by an identity
// policy statement naming the key (any region and account), a wildcard
// over it, or "*"; not by S3 grants, grants on other keys, or any
// bucket policy.
func TestAuthorizeKMS(t *testing.T) {
	gen := func(key string) Request {
		return Request{Principal: "alice", Action: ActionKMSGenerateDataKey, KMSKey: key}
	}
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","NotResource":"arn:aws:s3:::b/private/*"}]}`
	tests := []struct {
		name     string
		identity []string
		bucket   string
		req      Request
		allowed  bool
		explicit bool
		reason   string
	}{
		{name: "no grant", identity: []string{allow("s3:*", "*")}, req: gen("hr-dept"),
			reason: "no statement allows kms:GenerateDataKey on arn:aws:kms:::key/hr-dept"},
		{name: "grant on the key", identity: []string{allow("kms:GenerateDataKey", "arn:aws:kms:us-east-1:111122223333:key/hr-dept")},
			req: gen("hr-dept"), allowed: true},
		{name: "grant on another key", identity: []string{allow("kms:GenerateDataKey", "arn:aws:kms:*:*:key/finance")}, req: gen("hr-dept")},
		{name: "grant on a prefix", identity: []string{allow("kms:GenerateDataKey", "arn:aws:kms:*:*:key/hr-*")}, req: gen("hr-dept"), allowed: true},
		{name: "decrypt grant is not generate", identity: []string{allow("kms:Decrypt", "arn:aws:kms:*:*:key/*")}, req: gen("hr-dept")},
		{name: "kms:*", identity: []string{allow("kms:*", "*")}, req: gen("hr-dept"), allowed: true},
		{name: "everything", identity: []string{allow("*", "*")}, req: gen("hr-dept"), allowed: true},
		{name: "s3 resources do not reach keys", identity: []string{allow("*", "arn:aws:s3:::*")}, req: gen("hr-dept")},
		{name: "the user's own key", identity: []string{allow("kms:GenerateDataKey", "arn:aws:kms:*:*:key/${aws:username}")},
			req: gen("alice"), allowed: true},
		{name: "deny wins", identity: []string{allow("kms:*", "*"), deny("kms:GenerateDataKey", "arn:aws:kms:*:*:key/hr-*")},
			req: gen("hr-dept"), explicit: true},
		{name: "a bucket policy grants no key", bucket: allowAll, req: gen("hr-dept")},
		{name: "a bucket policy grants no key to anonymous", bucket: allowAll,
			req: Request{Action: ActionKMSGenerateDataKey, KMSKey: "hr-dept"}},
		{name: "root", req: Request{Root: true, Action: ActionKMSGenerateDataKey, KMSKey: "hr-dept"}, allowed: true},
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
			e := NewEngine(src, EngineOptions{})
			d := e.Authorize(tt.req, bp)
			if d.Allowed != tt.allowed || d.Explicit != tt.explicit {
				t.Fatalf("decision %+v, want allowed=%v explicit=%v", d, tt.allowed, tt.explicit)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("reason %q does not contain %q", d.Reason, tt.reason)
			}
			if may := e.MayAllow(tt.req, bp, Unknown{}); may != (tt.allowed || tt.explicit) {
				t.Fatalf("MayAllow %v, want %v", may, tt.allowed || tt.explicit)
			}
		})
	}
}
