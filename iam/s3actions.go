package iam

import "strings"

// actionResources is the set of resource kinds an S3 action applies to:
// the kinds of ARN a statement's Resource must name for the action to
// mean anything there.
type actionResources uint8

const (
	// onBucket: the bucket, arn:aws:s3:::bucket.
	onBucket actionResources = 1 << iota
	// onObject: an object, arn:aws:s3:::bucket/key.
	onObject
	// onOther: neither a bucket nor an object: an access point, a Batch
	// Operations job, a Storage Lens configuration..., or no resource at
	// all, the action being granted on Resource "*" (s3:ListAllMyBuckets,
	// s3:CreateJob).
	onOther
)

// s3Action is one row of s3Actions.
type s3Action struct {
	name string // without the "s3:" prefix, spelled as AWS spells it
	on   actionResources
}

// s3Actions is every action of the s3 service prefix, sorted by name
// (byte order), with the resource kinds each applies to. It lists the
// actions of operations objstore does not serve too: a policy may name
// them, and a policy naming an action that is not here names nothing.
//
// Source: AWS Service Authorization Reference, "Actions, resources, and
// condition keys for Amazon S3" (list_s3, docs.aws.amazon.com and
// docs.amazonaws.cn service-authorization/latest/reference/list_s3),
// the "Actions defined by Amazon S3" and "Permission-only actions"
// tables, as published when read on 2026-11-26. An action whose
// resource types include bucket is onBucket, object is onObject (the
// access point forms, accesspoint and accesspointobject, that come
// with them are left out: a bucket policy cannot name them); an action
// with neither (only accesspoint, job, storagelensconfiguration,
// multiregionaccesspoint..., or no type at all) is onOther. Actions AWS
// adds later are refused until they are added here.
var s3Actions = []s3Action{
	{"AbortMultipartUpload", onObject},
	{"AllowVendedLogDeliveryForResource", onBucket},
	{"AssociateAccessGrantsIdentityCenter", onOther},
	{"BypassGovernanceRetention", onObject},
	{"CreateAccessGrant", onOther},
	{"CreateAccessGrantsInstance", onOther},
	{"CreateAccessGrantsLocation", onOther},
	{"CreateAccessPoint", onOther},
	{"CreateAccessPointForObjectLambda", onOther},
	{"CreateBucket", onBucket},
	{"CreateBucketMetadataTableConfiguration", onBucket},
	{"CreateJob", onOther},
	{"CreateMultiRegionAccessPoint", onOther},
	{"CreateStorageLensGroup", onOther},
	{"DeleteAccessGrant", onOther},
	{"DeleteAccessGrantsInstance", onOther},
	{"DeleteAccessGrantsInstanceResourcePolicy", onOther},
	{"DeleteAccessGrantsLocation", onOther},
	{"DeleteAccessPoint", onOther},
	{"DeleteAccessPointForObjectLambda", onOther},
	{"DeleteAccessPointPolicy", onOther},
	{"DeleteAccessPointPolicyForObjectLambda", onOther},
	{"DeleteBucket", onBucket},
	{"DeleteBucketMetadataTableConfiguration", onBucket},
	{"DeleteBucketPolicy", onBucket},
	{"DeleteBucketWebsite", onBucket},
	{"DeleteJobTagging", onOther},
	{"DeleteMultiRegionAccessPoint", onOther},
	{"DeleteObject", onObject},
	{"DeleteObjectAnnotation", onObject},
	{"DeleteObjectTagging", onObject},
	{"DeleteObjectVersion", onObject},
	{"DeleteObjectVersionAnnotation", onObject},
	{"DeleteObjectVersionTagging", onObject},
	{"DeleteStorageLensConfiguration", onOther},
	{"DeleteStorageLensConfigurationTagging", onOther},
	{"DeleteStorageLensGroup", onOther},
	{"DescribeJob", onOther},
	{"DescribeMultiRegionAccessPointOperation", onOther},
	{"DissociateAccessGrantsIdentityCenter", onOther},
	{"GetAccelerateConfiguration", onBucket},
	{"GetAccessGrant", onOther},
	{"GetAccessGrantsInstance", onOther},
	{"GetAccessGrantsInstanceForPrefix", onOther},
	{"GetAccessGrantsInstanceResourcePolicy", onOther},
	{"GetAccessGrantsLocation", onOther},
	{"GetAccessPoint", onOther},
	{"GetAccessPointConfigurationForObjectLambda", onOther},
	{"GetAccessPointForObjectLambda", onOther},
	{"GetAccessPointPolicy", onOther},
	{"GetAccessPointPolicyForObjectLambda", onOther},
	{"GetAccessPointPolicyStatus", onOther},
	{"GetAccessPointPolicyStatusForObjectLambda", onOther},
	{"GetAccountPublicAccessBlock", onOther},
	{"GetAnalyticsConfiguration", onBucket},
	{"GetBucketAbac", onBucket},
	{"GetBucketAcl", onBucket},
	{"GetBucketCORS", onBucket},
	{"GetBucketLocation", onBucket},
	{"GetBucketLogging", onBucket},
	{"GetBucketMetadataTableConfiguration", onBucket},
	{"GetBucketNotification", onBucket},
	{"GetBucketObjectLockConfiguration", onBucket},
	{"GetBucketOwnershipControls", onBucket},
	{"GetBucketPolicy", onBucket},
	{"GetBucketPolicyStatus", onBucket},
	{"GetBucketPublicAccessBlock", onBucket},
	{"GetBucketRequestPayment", onBucket},
	{"GetBucketTagging", onBucket},
	{"GetBucketVersioning", onBucket},
	{"GetBucketWebsite", onBucket},
	{"GetDataAccess", onOther},
	{"GetEncryptionConfiguration", onBucket},
	{"GetIntelligentTieringConfiguration", onBucket},
	{"GetInventoryConfiguration", onBucket},
	{"GetJobTagging", onOther},
	{"GetLifecycleConfiguration", onBucket},
	{"GetMetricsConfiguration", onBucket},
	{"GetMultiRegionAccessPoint", onOther},
	{"GetMultiRegionAccessPointPolicy", onOther},
	{"GetMultiRegionAccessPointPolicyStatus", onOther},
	{"GetMultiRegionAccessPointRoutes", onOther},
	{"GetObject", onObject},
	{"GetObjectAcl", onObject},
	{"GetObjectAnnotation", onObject},
	{"GetObjectAttributes", onObject},
	{"GetObjectLegalHold", onObject},
	{"GetObjectRetention", onObject},
	{"GetObjectTagging", onObject},
	{"GetObjectTorrent", onObject},
	{"GetObjectVersion", onObject},
	{"GetObjectVersionAcl", onObject},
	{"GetObjectVersionAnnotation", onObject},
	{"GetObjectVersionAnnotationForReplication", onObject},
	{"GetObjectVersionAttributes", onObject},
	{"GetObjectVersionForReplication", onObject},
	{"GetObjectVersionTagging", onObject},
	{"GetObjectVersionTorrent", onObject},
	{"GetReplicationConfiguration", onBucket},
	{"GetStorageLensConfiguration", onOther},
	{"GetStorageLensConfigurationTagging", onOther},
	{"GetStorageLensDashboard", onOther},
	{"GetStorageLensGroup", onOther},
	{"InitiateReplication", onObject},
	{"ListAccessGrants", onOther},
	{"ListAccessGrantsInstances", onOther},
	{"ListAccessGrantsLocations", onOther},
	{"ListAccessPoints", onOther},
	{"ListAccessPointsForObjectLambda", onOther},
	{"ListAllMyBuckets", onOther},
	{"ListBucket", onBucket},
	{"ListBucketMultipartUploads", onBucket},
	{"ListBucketVersions", onBucket},
	{"ListCallerAccessGrants", onOther},
	{"ListJobs", onOther},
	{"ListMultiRegionAccessPoints", onOther},
	{"ListMultipartUploadParts", onObject},
	{"ListObjectAnnotations", onObject},
	{"ListObjectVersionAnnotations", onObject},
	{"ListStorageLensConfigurations", onOther},
	{"ListStorageLensGroups", onOther},
	{"ListTagsForResource", onBucket},
	{"ObjectOwnerOverrideToBucketOwner", onObject},
	{"PauseReplication", onBucket},
	{"PutAccelerateConfiguration", onBucket},
	{"PutAccessGrantsInstanceResourcePolicy", onOther},
	{"PutAccessPointConfigurationForObjectLambda", onOther},
	{"PutAccessPointPolicy", onOther},
	{"PutAccessPointPolicyForObjectLambda", onOther},
	{"PutAccessPointPublicAccessBlock", onOther},
	{"PutAccountPublicAccessBlock", onOther},
	{"PutAnalyticsConfiguration", onBucket},
	{"PutBucketAbac", onBucket},
	{"PutBucketAcl", onBucket},
	{"PutBucketCORS", onBucket},
	{"PutBucketLogging", onBucket},
	{"PutBucketNotification", onBucket},
	{"PutBucketObjectLockConfiguration", onBucket},
	{"PutBucketOwnershipControls", onBucket},
	{"PutBucketPolicy", onBucket},
	{"PutBucketPublicAccessBlock", onBucket},
	{"PutBucketRequestPayment", onBucket},
	{"PutBucketTagging", onBucket},
	{"PutBucketVersioning", onBucket},
	{"PutBucketWebsite", onBucket},
	{"PutEncryptionConfiguration", onBucket},
	{"PutIntelligentTieringConfiguration", onBucket},
	{"PutInventoryConfiguration", onBucket},
	{"PutJobTagging", onOther},
	{"PutLifecycleConfiguration", onBucket},
	{"PutMetricsConfiguration", onBucket},
	{"PutMultiRegionAccessPointPolicy", onOther},
	{"PutObject", onObject},
	{"PutObjectAcl", onObject},
	{"PutObjectAnnotation", onObject},
	{"PutObjectLegalHold", onObject},
	{"PutObjectRetention", onObject},
	{"PutObjectTagging", onObject},
	{"PutObjectVersionAcl", onObject},
	{"PutObjectVersionAnnotation", onObject},
	{"PutObjectVersionTagging", onObject},
	{"PutReplicationConfiguration", onBucket},
	{"PutStorageLensConfiguration", onOther},
	{"PutStorageLensConfigurationTagging", onOther},
	{"ReplicateDelete", onObject},
	{"ReplicateObject", onObject},
	{"ReplicateObjectAnnotation", onObject},
	{"ReplicateTags", onObject},
	{"RestoreObject", onObject},
	{"SubmitMultiRegionAccessPointRoutes", onOther},
	{"TagResource", onBucket},
	{"UntagResource", onBucket},
	{"UpdateAccessGrantsLocation", onOther},
	{"UpdateBucketMetadataAnnotationTableConfiguration", onBucket},
	{"UpdateBucketMetadataInventoryTableConfiguration", onBucket},
	{"UpdateBucketMetadataJournalTableConfiguration", onBucket},
	{"UpdateJobPriority", onOther},
	{"UpdateJobStatus", onOther},
	{"UpdateObjectEncryption", onObject},
	{"UpdateStorageLensGroup", onOther},
}

// s3ActionResources returns the resource kinds of the S3 actions that
// action pattern p (an Action or NotAction value: "s3:GetObject",
// "s3:Get*", "*") names, and whether it names any.
func s3ActionResources(p *pattern) (actionResources, bool) {
	var on actionResources
	found := false
	for _, a := range s3Actions {
		if p.match("s3:"+a.name, nil) {
			on |= a.on
			found = true
		}
	}
	return on, found
}

// resourceKinds returns the kinds of resource a Resource value can name:
// "*" names every kind; an S3 ARN with a "/" names objects; one without
// names the bucket, and objects too when it has a wildcard, which may
// match the "/" ("arn:aws:s3:::b*").
func resourceKinds(src string) actionResources {
	if src == "*" {
		return onBucket | onObject | onOther
	}
	rest := strings.TrimPrefix(src, s3ARNPrefix)
	if strings.Contains(rest, "/") {
		return onObject
	}
	if strings.ContainsAny(rest, "*?") {
		return onBucket | onObject
	}
	return onBucket
}
