package iam

import (
	"errors"
	"strings"
	"testing"
)

// TestS3ActionsTable: the table is sorted, without duplicates (AWS action
// names are case-insensitive, so none may differ only in case), and each
// row has a valid name and at least one resource kind.
func TestS3ActionsTable(t *testing.T) {
	seen := map[string]bool{}
	for i, a := range s3Actions {
		if i > 0 && s3Actions[i-1].name >= a.name {
			t.Errorf("%s follows %s: the table is not sorted", a.name, s3Actions[i-1].name)
		}
		if lower := strings.ToLower(a.name); seen[lower] {
			t.Errorf("%s is in the table twice", a.name)
		} else {
			seen[lower] = true
		}
		if a.name == "" || strings.Trim(a.name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Errorf("%q is not an action name", a.name)
		}
		if a.on == 0 || a.on&^(onBucket|onObject|onOther) != 0 {
			t.Errorf("%s: resource kinds %b", a.name, a.on)
		}
	}
	if len(s3Actions) < 150 {
		t.Errorf("only %d actions: the table is incomplete", len(s3Actions))
	}
}

// TestOperationActionsInTable: every action Operation can return is in
// the table (spelled as AWS spells it) with the resource kind the
// operation checks it on, so the engine never asks for an action a
// strictly validated policy cannot name.
func TestOperationActionsInTable(t *testing.T) {
	kindOf := map[ResourceKind]actionResources{ResourceService: onOther, ResourceBucket: onBucket, ResourceObject: onObject}
	find := func(name string) (s3Action, bool) {
		for _, a := range s3Actions {
			if "s3:"+a.name == name {
				return a, true
			}
		}
		return s3Action{}, false
	}
	for _, op := range OperationNames() {
		spec, _ := Operation(op)
		checks := []struct {
			action string
			on     actionResources
		}{
			{spec.Action, kindOf[spec.Resource]},
			{spec.VersionAction, kindOf[spec.Resource]},
			{spec.AlsoAction, kindOf[spec.Resource]},
			{spec.AlsoVersionAction, kindOf[spec.Resource]},
			{spec.SourceAction, onObject},
			{spec.SourceVersionAction, onObject},
		}
		for _, c := range checks {
			if c.action == "" {
				continue
			}
			a, ok := find(c.action)
			if !ok {
				t.Errorf("%s: %s is not in the S3 action table", op, c.action)
				continue
			}
			if a.on&c.on == 0 {
				t.Errorf("%s: %s is checked on resource kind %b, the table gives %b", op, c.action, c.on, a.on)
			}
		}
	}
}

// TestBuiltinPoliciesNameRealActions: the built-in policies name only
// actions in the table.
func TestBuiltinPoliciesNameRealActions(t *testing.T) {
	for name, rec := range builtinPolicies() {
		for _, s := range rec.policy.statements {
			for k := range s.actions {
				if _, ok := s3ActionResources(&s.actions[k]); !ok {
					t.Errorf("built-in policy %s: %s is not an S3 action", name, s.actions[k].src)
				}
			}
		}
	}
}

func TestParseBucketPolicyStrict(t *testing.T) {
	const bucketARN, objects = `"arn:aws:s3:::b"`, `"arn:aws:s3:::b/*"`
	stmt := func(effect, actions, resources string) string {
		return `{"Effect":"` + effect + `","Principal":"*","Action":` + actions + `,"Resource":` + resources + `}`
	}
	doc := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	}
	tests := []struct {
		name, doc string
		want      string // substring of the error; "" for accepted
	}{
		// Action names.
		{"object action", doc(stmt("Allow", `"s3:GetObject"`, objects)), ""},
		{"case-insensitive name", doc(stmt("Allow", `"S3:getobject"`, objects)), ""},
		{"upper-case name", doc(stmt("Allow", `"s3:LISTBUCKET"`, bucketARN)), ""},
		{"action of an operation objstore does not serve", doc(stmt("Allow", `"s3:PutObjectRetention"`, objects)), ""},
		{"bucket action objstore does not serve", doc(stmt("Deny", `["s3:PutLifecycleConfiguration","s3:GetBucketTagging"]`, bucketARN)), ""},
		{"prefix wildcard", doc(stmt("Allow", `"s3:Get*"`, objects)), ""},
		{"suffix wildcard", doc(stmt("Allow", `"s3:*Object"`, objects)), ""},
		{"question mark wildcard", doc(stmt("Allow", `"s3:?etObject"`, objects)), ""},
		{"all s3 actions", doc(stmt("Allow", `"s3:*"`, bucketARN)), ""},
		{"all actions", doc(stmt("Allow", `"*"`, objects)), ""},
		{"unknown action", doc(stmt("Allow", `"s3:GetObjects"`, objects)), `Statement[0].Action: Policy has invalid action: "s3:GetObjects" is not an S3 action`},
		{"unknown action in a Deny", doc(stmt("Allow", `"s3:GetObject"`, objects), stmt("Deny", `["s3:DeleteObject","s3:DeleteObjects"]`, objects)),
			`Statement[1].Action: Policy has invalid action: "s3:DeleteObjects"`},
		{"unknown action whatever the case", doc(stmt("Allow", `"s3:listbuckets"`, bucketARN)), "Policy has invalid action"},
		{"wildcard matching nothing", doc(stmt("Allow", `"s3:Gte*"`, objects)), `"s3:Gte*" matches no S3 action`},
		{"unknown action in NotAction", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObjekt","Resource":"arn:aws:s3:::b/*"}]}`,
			"Statement[0].NotAction: Policy has invalid action"},

		// Actions against the statement's resources.
		{"bucket action on the bucket", doc(stmt("Allow", `"s3:ListBucket"`, bucketARN)), ""},
		{"both kinds on both resources", doc(stmt("Allow", `["s3:ListBucket","s3:GetObject"]`, `[`+bucketARN+`,`+objects+`]`)), ""},
		{"object action on one key", doc(stmt("Allow", `"s3:GetObject"`, `"arn:aws:s3:::b/reports/2024.csv"`)), ""},
		{"bucket action on objects", doc(stmt("Allow", `"s3:ListBucket"`, objects)),
			`Statement[0].Action: Action does not apply to any resource(s) in statement: "s3:ListBucket" applies to the bucket`},
		{"object action on the bucket", doc(stmt("Allow", `"s3:GetObject"`, bucketARN)),
			`Action does not apply to any resource(s) in statement: "s3:GetObject" applies to objects`},
		{"one action of several on no resource", doc(stmt("Allow", `["s3:GetObject","s3:PutBucketVersioning"]`, objects)), `"s3:PutBucketVersioning" applies to the bucket`},
		{"account action on the bucket", doc(stmt("Allow", `"s3:ListAllMyBuckets"`, bucketARN)), `"s3:ListAllMyBuckets" applies to resources other than buckets and objects`},
		{"access point action on objects", doc(stmt("Allow", `"s3:GetAccessPointPolicy"`, objects)), "Action does not apply to any resource(s)"},
		{"wildcard with an object action on objects", doc(stmt("Allow", `"s3:List*"`, objects)), ""}, // s3:ListMultipartUploadParts
		{"wildcard with only bucket actions on objects", doc(stmt("Allow", `"s3:ListBucket*"`, objects)), `"s3:ListBucket*" applies to the bucket`},
		{"wildcard action on the bucket", doc(stmt("Deny", `"s3:Put*"`, bucketARN)), ""},
		{"NotResource is not checked", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","NotResource":"arn:aws:s3:::b/public/*"}]}`, ""},
		{"NotAction is not checked against resources", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","NotAction":"s3:ListBucket","Resource":"arn:aws:s3:::b/*"}]}`, ""},

		// Statement ids.
		{"distinct Sids", doc(`{"Sid":"A","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`,
			`{"Sid":"B","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}`), ""},
		{"statements without Sids", doc(stmt("Allow", `"s3:GetObject"`, objects), stmt("Allow", `"s3:ListBucket"`, bucketARN)), ""},
		// S3 takes a Sid given twice (live policies have them).
		{"duplicate Sid", doc(`{"Sid":"Read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`,
			`{"Sid":"List","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}`,
			`{"Sid":"Read","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret/*"}`), ""},

		// ParseBucketPolicy's own rules still apply.
		{"other bucket", doc(stmt("Allow", `"s3:GetObject"`, `"arn:aws:s3:::c/*"`)), `is not bucket "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBucketPolicyStrict([]byte(tt.doc), "b")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *PolicyError
			if err == nil || !errors.Is(err, ErrMalformedPolicy) || !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a *PolicyError containing %q", err, tt.want)
			}
			if strings.Contains(tt.want, "bucket \"b\"") {
				return
			}
			// Only a policy being written is held to these rules: one an
			// older build stored still loads.
			if _, err := ParseBucketPolicy([]byte(tt.doc), "b"); err != nil {
				t.Fatalf("ParseBucketPolicy refuses what only the strict checks should: %v", err)
			}
		})
	}
}

// TestStrictAcceptsAWSExamples: the AWS documentation's bucket policy
// examples pass the submit-time checks.
func TestStrictAcceptsAWSExamples(t *testing.T) {
	for _, ex := range awsExamples {
		if ex.bucket == "" {
			continue
		}
		t.Run(ex.name, func(t *testing.T) {
			if _, err := ParseBucketPolicyStrict([]byte(ex.doc), ex.bucket); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestResourceKinds(t *testing.T) {
	tests := []struct {
		src  string
		want actionResources
	}{
		{"*", onBucket | onObject | onOther},
		{"arn:aws:s3:::b", onBucket},
		{"arn:aws:s3:::b/*", onObject},
		{"arn:aws:s3:::b/", onObject},
		{"arn:aws:s3:::b/${aws:username}/*", onObject},
		{"arn:aws:s3:::*", onBucket | onObject},
		{"arn:aws:s3:::b?", onBucket | onObject},
	}
	for _, tt := range tests {
		if got := resourceKinds(tt.src); got != tt.want {
			t.Errorf("resourceKinds(%q) = %b, want %b", tt.src, got, tt.want)
		}
	}
}
