package iam

import (
	"strings"
)

// The KMS actions a policy may name. objstore is not an AWS KMS: its
// master keys are used by the S3 layer on a caller's behalf, never
// called directly, so only the two actions AWS S3 checks on a caller's
// KMS key are known. A policy copied from AWS with kms:Encrypt or
// kms:DescribeKey is refused rather than loaded as if it meant
// something here.
const (
	// ActionKMSGenerateDataKey is needed on a master key to have data
	// sealed under it by naming it (SSE-KMS key id, PutBucketEncryption's
	// KMSMasterKeyID), as AWS S3 requires for writes.
	ActionKMSGenerateDataKey = "kms:GenerateDataKey"
	// ActionKMSDecrypt is accepted in policies, so that AWS policies for
	// SSE-KMS load, but objstore does not check it: reads are decided by
	// s3:GetObject alone (docs/architecture.md says why).
	ActionKMSDecrypt = "kms:Decrypt"
)

// kmsActions are the names, without "kms:", of the KMS actions above.
var kmsActions = []string{"Decrypt", "GenerateDataKey"}

// kmsARNPrefix starts a KMS resource as written in a policy:
// arn:aws:kms:<region>:<account-id>:key/<key-id>.
const kmsARNPrefix = "arn:aws:kms:"

// kmsKeyResource starts the resource the engine matches a KMS action
// against. Region and account are left out: objstore has one account
// (account numbers in principals are not checked either) and one
// namespace of master keys whatever the region a bucket reports, so
// the key id alone names a key. A policy's KMS resource is compiled to
// the same form, its region and account only checked for shape.
const kmsKeyResource = "arn:aws:kms:::key/"

// KMSKeyARN is the resource of master key id for Request: the key id
// alone, under kmsKeyResource. Policies name it as
// arn:aws:kms:<region>:<account-id>:key/<id>, any region and account.
func KMSKeyARN(id string) string { return kmsKeyResource + id }

// kmsActionMatches reports whether action pattern p (a "kms:" value)
// names a KMS action objstore knows.
func kmsActionMatches(p *pattern) bool {
	for _, a := range kmsActions {
		if p.match("kms:"+a, nil) {
			return true
		}
	}
	return false
}

// parseKMSResource checks the shape of a KMS key ARN
// arn:aws:kms:<region>:<account-id>:key/<key-id> and returns what the
// engine compiles of it: kmsKeyResource and the key id (a pattern, with
// wildcards and, in 2012-10-17 policies, variables). Region is empty or
// lower-case letters, digits and '-'; account is empty or 12 digits;
// both may be wildcards. Aliases are refused: objstore has none, and a
// header's "alias/x" already means key x.
func parseKMSResource(v, path string) (string, error) {
	const want = "a KMS resource is arn:aws:kms:<region>:<account-id>:key/<key-id>"
	rest := strings.TrimPrefix(v, kmsARNPrefix)
	region, rest, ok1 := strings.Cut(rest, ":")
	account, res, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return "", policyErr(path, "%q: %s", v, want)
	}
	if strings.Trim(region, "abcdefghijklmnopqrstuvwxyz0123456789-*?") != "" {
		return "", policyErr(path, "%q: region %q is not a region name", v, region)
	}
	wild := strings.ContainsAny(account, "*?")
	if strings.Trim(account, "0123456789*?") != "" || (!wild && account != "" && !isAccountID(account)) {
		return "", policyErr(path, "%q: account %q is not a 12-digit account id", v, account)
	}
	if strings.HasPrefix(res, "alias/") {
		return "", policyErr(path, "%q: KMS aliases are not supported; name the key: key/<key-id>", v)
	}
	id, ok := strings.CutPrefix(res, "key/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", policyErr(path, "%q: %s", v, want)
	}
	return kmsKeyResource + id, nil
}

// services is a set of the services a policy element can concern, to
// tell whether an Action can apply to any Resource of its statement.
type services uint8

const (
	serviceS3 services = 1 << iota
	serviceKMS
)

// actionServices is the service of an Action value ("*": every one).
func actionServices(src string) services {
	service, _, ok := strings.Cut(src, ":")
	switch {
	case !ok:
		return serviceS3 | serviceKMS
	case strings.EqualFold(service, "kms"):
		return serviceKMS
	}
	return serviceS3
}

// resourceServices is the service of a Resource value ("*": every one).
func resourceServices(src string) services {
	switch {
	case src == "*":
		return serviceS3 | serviceKMS
	case strings.HasPrefix(src, kmsARNPrefix):
		return serviceKMS
	}
	return serviceS3
}

// checkServices refuses an Action that no Resource of its statement can
// be of: a KMS action applies to KMS keys only, an S3 action to buckets
// and objects only, so such a statement would grant or deny nothing,
// and a Deny written so would protect nothing silently. NotAction and
// NotResource statements are not checked: they reach what they do not
// name. Policies stored before KMS actions were accepted name only S3
// actions and resources, so every one of them passes.
func (s *statement) checkServices(path string) error {
	if s.notAction || s.notResource {
		return nil
	}
	var have services
	for _, r := range s.resources {
		have |= resourceServices(r.src)
	}
	for _, a := range s.actions {
		switch on := actionServices(a.src); {
		case on&have != 0:
		case on == serviceKMS:
			return policyErr(path+".Action", "%q applies to KMS keys (%s<region>:<account-id>:key/<key-id>), which no Resource of the statement names", a.src, kmsARNPrefix)
		default:
			return policyErr(path+".Action", "%q applies to buckets and objects (%sbucket[/key]), which no Resource of the statement names", a.src, s3ARNPrefix)
		}
	}
	return nil
}
