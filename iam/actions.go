package iam

import (
	"fmt"
	"sort"
)

// ResourceKind says what an operation's action is checked against.
type ResourceKind uint8

const (
	// ResourceService: no bucket (arn:aws:s3:::), e.g. ListBuckets.
	ResourceService ResourceKind = iota
	// ResourceBucket: the bucket ARN arn:aws:s3:::bucket.
	ResourceBucket
	// ResourceObject: the object ARN arn:aws:s3:::bucket/key.
	ResourceObject
)

// OperationSpec is what one S3 operation needs to be authorized.
type OperationSpec struct {
	// Action is checked on the target resource.
	Action string
	// VersionAction replaces Action when the request names a version
	// (versionId), as AWS does: s3:GetObjectVersion, s3:DeleteObjectVersion.
	// "" means Action is used with or without a version.
	VersionAction string
	// Resource is the kind of resource Action is checked on.
	Resource ResourceKind
	// AlsoAction is checked on the target resource as well (AlsoVersionAction
	// when the request names a version): GetObjectAttributes needs both
	// s3:GetObject and s3:GetObjectAttributes, as AWS documents.
	AlsoAction, AlsoVersionAction string
	// SourceAction, for copies, is checked on the source object too
	// (SourceVersionAction when the source names a version).
	SourceAction, SourceVersionAction string
	// PerKey: the operation carries many keys (DeleteObjects); Action is
	// checked on each of them, and a denied key fails alone.
	PerKey bool
}

// Operation returns the authorization spec of an S3 operation, named as
// the S3 API reference names it ("ListObjectsV2", "PutObject"...).
func Operation(name string) (OperationSpec, bool) {
	obj := func(action, versionAction string) OperationSpec {
		return OperationSpec{Action: action, VersionAction: versionAction, Resource: ResourceObject}
	}
	bucket := func(action string) OperationSpec {
		return OperationSpec{Action: action, Resource: ResourceBucket}
	}
	copyTo := func() OperationSpec {
		return OperationSpec{Action: "s3:PutObject", Resource: ResourceObject,
			SourceAction: "s3:GetObject", SourceVersionAction: "s3:GetObjectVersion"}
	}
	switch name {
	case "ListBuckets":
		return OperationSpec{Action: "s3:ListAllMyBuckets", Resource: ResourceService}, true
	case "CreateBucket":
		return bucket("s3:CreateBucket"), true
	case "DeleteBucket":
		return bucket("s3:DeleteBucket"), true
	case "HeadBucket", "ListObjects", "ListObjectsV2":
		return bucket("s3:ListBucket"), true
	case "ListObjectVersions":
		return bucket("s3:ListBucketVersions"), true
	case "ListMultipartUploads":
		return bucket("s3:ListBucketMultipartUploads"), true
	case "GetBucketLocation":
		return bucket("s3:GetBucketLocation"), true
	case "GetBucketVersioning":
		return bucket("s3:GetBucketVersioning"), true
	case "PutBucketVersioning":
		return bucket("s3:PutBucketVersioning"), true
	case "GetBucketPolicy":
		return bucket("s3:GetBucketPolicy"), true
	case "PutBucketPolicy":
		return bucket("s3:PutBucketPolicy"), true
	case "DeleteBucketPolicy":
		return bucket("s3:DeleteBucketPolicy"), true
	case "GetBucketPolicyStatus":
		return bucket("s3:GetBucketPolicyStatus"), true
	case "GetBucketEncryption":
		return bucket("s3:GetEncryptionConfiguration"), true
	case "PutBucketEncryption", "DeleteBucketEncryption":
		return bucket("s3:PutEncryptionConfiguration"), true
	case "GetObject", "HeadObject":
		return obj("s3:GetObject", "s3:GetObjectVersion"), true
	case "GetObjectAttributes":
		s := obj("s3:GetObject", "s3:GetObjectVersion")
		s.AlsoAction, s.AlsoVersionAction = "s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"
		return s, true
	case "PutObject", "PostObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload":
		return obj("s3:PutObject", ""), true
	case "CopyObject", "UploadPartCopy":
		return copyTo(), true
	case "DeleteObject":
		return obj("s3:DeleteObject", "s3:DeleteObjectVersion"), true
	case "DeleteObjects":
		s := obj("s3:DeleteObject", "s3:DeleteObjectVersion")
		s.PerKey = true
		return s, true
	case "AbortMultipartUpload":
		return obj("s3:AbortMultipartUpload", ""), true
	case "ListParts":
		return obj("s3:ListMultipartUploadParts", ""), true
	}
	return OperationSpec{}, false
}

// OperationNames lists the operations Operation knows, sorted.
func OperationNames() []string {
	names := []string{
		"AbortMultipartUpload", "CompleteMultipartUpload", "CopyObject", "CreateBucket",
		"CreateMultipartUpload", "DeleteBucket", "DeleteBucketEncryption", "DeleteBucketPolicy",
		"DeleteObject", "DeleteObjects", "GetBucketEncryption", "GetBucketLocation",
		"GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketVersioning", "GetObject", "GetObjectAttributes",
		"HeadBucket", "HeadObject", "ListBuckets", "ListMultipartUploads", "ListObjectVersions",
		"ListObjects", "ListObjectsV2", "ListParts", "PostObject", "PutBucketEncryption", "PutBucketPolicy",
		"PutBucketVersioning", "PutObject", "UploadPart", "UploadPartCopy",
	}
	sort.Strings(names)
	return names
}

// Target is what a request addresses, as the S3 layer parsed it.
type Target struct {
	Bucket, Key, VersionID string
	// SourceBucket, SourceKey and SourceVersionID name a copy's source.
	SourceBucket, SourceKey, SourceVersionID string
}

// Permission is one action on one resource that a request needs.
type Permission struct {
	Action      string
	Bucket, Key string
}

// Permissions lists what operation op on target needs, in the order to
// check them; every one must be allowed. For a PerKey operation, call it
// once per key (Target.Key) of the request body.
func Permissions(op string, t Target) ([]Permission, error) {
	spec, ok := Operation(op)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOperation, op)
	}
	action := spec.Action
	if t.VersionID != "" && spec.VersionAction != "" {
		action = spec.VersionAction
	}
	p := Permission{Action: action}
	switch spec.Resource {
	case ResourceBucket:
		p.Bucket = t.Bucket
	case ResourceObject:
		p.Bucket, p.Key = t.Bucket, t.Key
	}
	out := []Permission{p}
	if spec.AlsoAction != "" {
		also := spec.AlsoAction
		if t.VersionID != "" && spec.AlsoVersionAction != "" {
			also = spec.AlsoVersionAction
		}
		out = append(out, Permission{Action: also, Bucket: p.Bucket, Key: p.Key})
	}
	if spec.SourceAction != "" {
		src := spec.SourceAction
		if t.SourceVersionID != "" {
			src = spec.SourceVersionAction
		}
		out = append(out, Permission{Action: src, Bucket: t.SourceBucket, Key: t.SourceKey})
	}
	return out, nil
}
