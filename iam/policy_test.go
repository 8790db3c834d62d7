package iam

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// awsExamples are policies in the shape of the AWS documentation's
// examples (IAM JSON policy elements reference; Amazon S3 bucket policy
// examples), adapted to example names. Each must parse.
var awsExamples = []struct {
	name, doc string
	bucket    string // parse as a bucket policy of this bucket when set
}{
	{"NotAction allow all S3 but DeleteBucket", `{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Effect": "Allow",
	    "NotAction": "s3:DeleteBucket",
	    "Resource": "arn:aws:s3:::*"
	  }]
	}`, ""},
	{"IP allow with an exception", `{
	  "Version": "2012-10-17",
	  "Id": "S3PolicyId1",
	  "Statement": [{
	    "Sid": "IPAllow",
	    "Effect": "Allow",
	    "Principal": "*",
	    "Action": "s3:*",
	    "Resource": "arn:aws:s3:::examplebucket/*",
	    "Condition": {
	      "IpAddress": {"aws:SourceIp": "54.240.143.0/24"},
	      "NotIpAddress": {"aws:SourceIp": "54.240.143.188/32"}
	    }
	  }]
	}`, "examplebucket"},
	{"IPv4 and IPv6 ranges", `{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "IPv6Allow",
	    "Effect": "Allow",
	    "Principal": {"AWS": "*"},
	    "Action": "s3:GetObject",
	    "Resource": ["arn:aws:s3:::examplebucket", "arn:aws:s3:::examplebucket/*"],
	    "Condition": {
	      "IpAddress": {"aws:SourceIp": ["54.240.143.0/24", "2001:DB8:1234:5678::/64"]},
	      "NotIpAddress": {"aws:SourceIp": ["54.240.143.128/30", "2001:DB8:1234:5678:ABCD::/80"]}
	    }
	  }]
	}`, "examplebucket"},
	{"public read", `{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "PublicRead",
	    "Effect": "Allow",
	    "Principal": "*",
	    "Action": ["s3:GetObject", "s3:GetObjectVersion"],
	    "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"]
	  }]
	}`, "DOC-EXAMPLE-BUCKET"},
	{"home folder with policy variables", `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {
	      "Sid": "AllowListingOfUserFolder",
	      "Action": ["s3:ListBucket"],
	      "Effect": "Allow",
	      "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket"],
	      "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}"]}}
	    },
	    {
	      "Sid": "AllowAllS3ActionsInUserFolder",
	      "Effect": "Allow",
	      "Action": ["s3:*"],
	      "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"]
	    }
	  ]
	}`, ""},
	{"deny insecure transport", `{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "RestrictToTLSRequestsOnly",
	    "Action": "s3:*",
	    "Effect": "Deny",
	    "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"],
	    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
	    "Principal": "*"
	  }]
	}`, "amzn-s3-demo-bucket"},
	{"time window", `{
	  "Version": "2012-10-17",
	  "Statement": {
	    "Effect": "Allow",
	    "Action": "s3:*",
	    "Resource": "*",
	    "Condition": {
	      "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
	      "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"}
	    }
	  }
	}`, ""},
	{"deny unencrypted uploads", `{
	  "Version": "2012-10-17",
	  "Id": "PutObjectPolicy",
	  "Statement": [
	    {
	      "Sid": "DenyIncorrectEncryptionHeader",
	      "Effect": "Deny",
	      "Principal": "*",
	      "Action": "s3:PutObject",
	      "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*",
	      "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}
	    },
	    {
	      "Sid": "DenyUnencryptedObjectUploads",
	      "Effect": "Deny",
	      "Principal": "*",
	      "Action": "s3:PutObject",
	      "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*",
	      "Condition": {"Null": {"s3:x-amz-server-side-encryption": true}}
	    }
	  ]
	}`, "amzn-s3-demo-bucket"},
	{"account and user principals", `{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Effect": "Allow",
	    "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/JohnDoe", "444455556666"]},
	    "Action": ["s3:GetObject", "s3:ListBucket"],
	    "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"]
	  }]
	}`, "amzn-s3-demo-bucket"},
	{"2008 version and max-keys", `{
	  "Version": "2008-10-17",
	  "Statement": [{
	    "Effect": "Allow",
	    "Action": "s3:ListBucket",
	    "Resource": "arn:aws:s3:::examplebucket",
	    "Condition": {"NumericLessThanEquals": {"s3:max-keys": 10}, "StringEquals": {"s3:prefix": "projects"}}
	  }]
	}`, ""},
	{"IfExists and case-insensitive key", `{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Effect": "Deny",
	    "Action": "s3:*",
	    "Resource": "*",
	    "Condition": {"NotIpAddressIfExists": {"AWS:SOURCEIP": "10.0.0.0/8"}}
	  }]
	}`, ""},
}

func TestParseAWSExamples(t *testing.T) {
	for _, ex := range awsExamples {
		t.Run(ex.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(ex.doc))
			if err != nil {
				t.Fatal(err)
			}
			if ex.bucket != "" {
				if _, err := ParseBucketPolicy([]byte(ex.doc), ex.bucket); err != nil {
					t.Fatalf("as bucket policy: %v", err)
				}
			}
			// The normalised form parses to the same normalised form.
			b1, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
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

func TestParsePolicyErrors(t *testing.T) {
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	tests := []struct {
		name, doc string
		want      string // substring of the error
	}{
		{"not JSON", `{`, "invalid JSON"},
		{"not an object", `[]`, "must be a JSON object"},
		{"trailing data", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, "trailing data"},
		{"unknown top-level element", `{"Versoin":"2012-10-17","Statement":[]}`, `Versoin: unknown element`},
		{"bad version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "Version"},
		{"missing statement", `{"Version":"2012-10-17"}`, "Statement: missing"},
		{"empty statement list", `{"Version":"2012-10-17","Statement":[]}`, "empty list"},
		{"statement not an object", `{"Version":"2012-10-17","Statement":["x"]}`, "unexpected JSON type"},
		{"unknown statement element", stmt(`{"Effect":"Allow","Actions":"*","Resource":"*"}`), "Statement[0].Actions: unknown element"},
		{"bad effect", stmt(`{"Effect":"allow","Action":"*","Resource":"*"}`), `"allow" is not Allow or Deny`},
		{"missing effect", stmt(`{"Action":"*","Resource":"*"}`), "missing Effect"},
		{"missing resource", stmt(`{"Effect":"Allow","Action":"*"}`), "missing Resource"},
		{"missing action", stmt(`{"Effect":"Allow","Resource":"*"}`), "missing Action"},
		{"action and notaction", stmt(`{"Effect":"Allow","Action":"*","NotAction":"s3:Get*","Resource":"*"}`), "not both"},
		{"duplicate element", stmt(`{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}`), `"Effect" given twice`},
		{"other service action", stmt(`{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*"}`), "only s3 actions"},
		{"bad action name", stmt(`{"Effect":"Allow","Action":"s3:Get Object","Resource":"*"}`), "not a valid action"},
		{"empty action list", stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "empty list"},
		{"number as action", stmt(`{"Effect":"Allow","Action":5,"Resource":"*"}`), "unexpected JSON type"},
		{"other service resource", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::111122223333:user/x"}`), "a resource is"},
		{"bare arn prefix", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::"}`), "a resource is"},
		{"unknown operator", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqual":{"s3:prefix":"a"}}}`), "Condition.StringEqual: unknown or unsupported condition operator"},
		{"operator case", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"stringequals":{"s3:prefix":"a"}}}`), "unknown or unsupported condition operator"},
		{"set operator", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"s3:prefix":"a"}}}`), "set operators"},
		{"NullIfExists", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"s3:prefix":"true"}}}`), "unknown or unsupported condition operator"},
		{"unknown key", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"}}}`), "aws:PrincipalTag/team: unknown or unsupported condition key"},
		{"duplicate key after case folding", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"a","S3:Prefix":"b"}}}`), "key given twice"},
		{"no condition keys", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{}}}`), "no condition keys"},
		{"bad ip", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"300.1.1.1"}}}`), "not an IP address"},
		{"ip operator on string key", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"s3:prefix":"10.0.0.0/8"}}}`), "cannot test key s3:prefix"},
		{"bad number", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":"ten"}}}`), "not a number"},
		{"bad date", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}`), "not a date"},
		{"bad bool", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), "not true or false"},
		{"object as condition value", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"s3:prefix":{"a":1}}}}`), "unexpected JSON type"},
		{"unknown variable", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:nope}"}`), "unknown policy variable"},
		{"wildcard principal arn", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:user/*"},"Action":"*","Resource":"*"}`), "no wildcards"},
		{"service principal", stmt(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"*","Resource":"*"}`), "unsupported principal type"},
		{"principal string", stmt(`{"Effect":"Allow","Principal":"alice","Action":"*","Resource":"*"}`), `must be "*"`},
		{"NotPrincipal", stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}`), "NotPrincipal is not supported"},
		{"invalid UTF-8", "{\"Version\":\"2012-10-17\",\"Id\":\"\xff\",\"Statement\":[]}", "UTF-8"},
		{"too large", `{"Id":"` + strings.Repeat("x", MaxPolicySize) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			var pe *PolicyError
			if !errors.Is(err, ErrMalformedPolicy) || !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *PolicyError matching ErrMalformedPolicy", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseBucketPolicy(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"ok", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, ""},
		{"bucket itself", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`, ""},
		{"no principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, "needs a Principal"},
		{"other bucket", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bb/*"}]}`, `is not bucket "b"`},
		{"all resources", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`, `is not bucket "b"`},
		{"other bucket in NotResource", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","NotResource":"arn:aws:s3:::c/*"}]}`, `is not bucket "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBucketPolicy([]byte(tt.doc), "b")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrMalformedPolicy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestPolicyUnmarshalJSON(t *testing.T) {
	var req struct {
		Name   string  `json:"name"`
		Policy *Policy `json:"policy"`
	}
	ok := `{"name":"x","policy":{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}}`
	if err := json.Unmarshal([]byte(ok), &req); err != nil {
		t.Fatal(err)
	}
	if req.Policy.Statements() != 1 || req.Policy.Version() != Version2012 {
		t.Fatalf("decoded %v", req.Policy)
	}
	bad := `{"name":"x","policy":{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*","Bogus":1}}}`
	if err := json.Unmarshal([]byte(bad), &req); !errors.Is(err, ErrMalformedPolicy) {
		t.Fatalf("bad policy decoded with error %v", err)
	}
}

func TestMarshalNormalForm(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"Statement":{"Effect":"Deny","Principal":{"AWS":"111122223333"},"NotAction":"s3:Get*",
		"NotResource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:securetransport":false},"NumericLessThan":{"s3:MAX-KEYS":[1,2.5]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2008-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":["111122223333"]},"NotAction":["s3:Get*"],` +
		`"NotResource":["arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":["false"]},"NumericLessThan":{"s3:max-keys":["1","2.5"]}}}]}`
	if got := p.String(); got != want {
		t.Fatalf("normal form\n got %s\nwant %s", got, want)
	}
}
