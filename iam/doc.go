// Package iam is objstore's identity and access management: users and
// their access keys (the data identities that sign S3 requests), named
// IAM-style policies, bucket policies, the authorization engine that
// decides every S3 request, and the admin tokens operators use for the
// management API. It knows nothing of HTTP: the S3 layer asks it
// questions (Store.Secret, Engine.Authorize), the admin layer calls the
// Store's management methods.
//
// # Identities
//
//   - Root: the credentials from the server's configuration. They are not
//     stored here; Request.Root is allowed everything, and the caller
//     records root data access as such in the audit log.
//   - Users: a name, enabled or not, attached policy names. A user signs
//     requests with access keys: a 20-character id ([A-Z0-9]) and a
//     40-character secret, optionally expiring. Secret(accessKey) is what
//     SigV4 verification calls on every request.
//   - Anonymous: unsigned requests; only a bucket policy granting
//     Principal "*" lets them in.
//   - Admin tokens: bearer tokens for the admin API with scopes
//     ("identity:write"...) and a mandatory expiry, minted by root. They
//     grant management only: the engine has no notion of them, so a token
//     cannot itself read or write an object. identity:write can still
//     create a user with a data policy and mint its keys, so it is as
//     strong as data access: give it out as such.
//
// # Policy language
//
// A useful subset of AWS IAM, parsed strictly by ParsePolicy (anything
// unknown is refused with a *PolicyError naming it):
//
//	{
//	  "Version": "2012-10-17",            or "2008-10-17" (no variables)
//	  "Id": "optional",
//	  "Statement": [{                     one object or a list
//	    "Sid": "optional",
//	    "Effect": "Allow" | "Deny",
//	    "Principal": "*" | {"AWS": "*" | account | user ARN | [...]},
//	                                      bucket policies only
//	    "Action" | "NotAction": "s3:GetObject" | "s3:Get*" | "kms:GenerateDataKey" | "*" | [...],
//	    "Resource" | "NotResource": "arn:aws:s3:::bucket/prefix/*" |
//	                  "arn:aws:kms:<region>:<account-id>:key/<key-id>" | "*" | [...],
//	    "Condition": {"<Operator>[IfExists]": {"<key>": value | [values]}}
//	  }]
//	}
//
// Wildcards * (any run, '/' included) and ? (one character) work in
// actions (case-insensitive) and resources (case-sensitive). In
// 2012-10-17 policies, ${aws:username} and the other condition keys are
// policy variables in resources and string condition values; their
// values are matched literally (a user named "*" matches only "*"), and
// ${*} ${?} ${$} are the literal characters. Operators: String(Not)Equals,
// String(Not)EqualsIgnoreCase, String(Not)Like, Numeric*, Date*, Bool,
// IpAddress, NotIpAddress (IPv4 and IPv6 CIDR), Null, and the IfExists
// form of each. Keys: see ConditionKeys. Values of one key are ORed (NORed
// for negated operators), keys and operators are ANDed, a missing key
// makes a positive operator false and a negated one true, as in AWS.
//
// KMS: besides S3 actions, a policy may name kms:GenerateDataKey and
// kms:Decrypt (or a wildcard matching one: "kms:*", "kms:GenerateDataKey*")
// on KMS key ARNs; any other KMS action is refused. A statement's Action
// must apply to one of its Resources' services (a KMS action to a key
// ARN or "*", an S3 action to an S3 ARN or "*"). Region and account of a
// key ARN are checked for shape only: the engine matches the key id
// (KMSKeyARN), objstore having one account and one key namespace. The
// S3 layer asks for kms:GenerateDataKey (Request.KMSKey) when a user
// names a master key to seal data under; only identity policies decide
// it, never a bucket policy. kms:Decrypt is accepted, not checked.
//
// A bucket policy being written is parsed by ParseBucketPolicyStrict,
// which also refuses, as AWS S3 does, an action that is not in AWS's
// list of S3 actions (s3actions.go; a wildcard must match one), an action
// that applies to none of its statement's resources (s3:ListBucket on
// objects). Stored bucket policies are read with
// ParseBucketPolicy, without those checks, so that a policy an older
// build accepted keeps applying. Identity policies are not checked
// against the list either: AWS IAM accepts unknown actions in them too.
//
// # Evaluation
//
// Engine.Authorize: root is allowed; an unknown or disabled user is
// denied; any applicable Deny (identity policies or bucket policy) denies;
// otherwise any applicable Allow allows; otherwise default deny. A bucket
// policy statement applies only when its Principal names the requester;
// an account principal delegates to identity policies (it can deny, not
// grant), as in AWS. A policy variable without a value fails closed: an
// Allow with it does not apply, a Deny with it does.
//
// Engine.MayAllow is the early check of a request whose body is not read
// yet: could any Allow apply, for any key of the bucket (DeleteObjects)
// or any value of a condition key the body carries (CreateBucket's
// s3:LocationConstraint)? When none could, the server refuses the request
// before reading its body, so that a caller who can never be allowed
// cannot hold a request slot by sending the body slowly.
//
// Which action and resource an S3 operation needs is in Operation and
// Permissions (CopyObject: s3:PutObject on the target and s3:GetObject
// on the source; DeleteObjects: s3:DeleteObject per key; a versionId
// turns s3:GetObject into s3:GetObjectVersion...).
//
// # Store
//
// One JSON document (sealed by the KMS, see Sealing), <dir>/iam.json,
// mode 0600 in a 0700 directory, locked (flock on <dir>/LOCK) against a
// second process:
//
//	{
//	  "version": 1,
//	  "users":      {"alice": {"enabled": true, "policies": ["readonly"], "created": "…"}},
//	  "accessKeys": {"AKIA…": {"secretKey": "…", "user": "alice", "enabled": true,
//	                           "created": "…", "expires": "…"}},
//	  "policies":   {"team": {"document": {…as written…}, "created": "…", "updated": "…"}},
//	  "tokens":     {"9f…": {"sha256": "<hex of the token's secret part>", "name": "ci",
//	                         "scopes": ["status:read"], "created": "…", "expires": "…",
//	                         "revoked": "…"}}
//	}
//
// Why a JSON file and not pebble: the data is small (thousands of
// records at most), read from memory, changed rarely, and an operator can
// inspect and back it up with ordinary tools; one atomically replaced
// file (temporary file, fsync, rename, directory fsync) gives all-or-
// nothing changes without a database. Readers never block: each change
// builds a new immutable snapshot, writes it, and publishes it with an
// atomic pointer swap, so Secret and Authorize cost a pointer load and a
// few map lookups. Open refuses versions it does not know and documents
// that break the invariants (a key whose user is missing, an attached
// policy that does not exist). Built-in policies readwrite, readonly and
// writeonly exist in every store and cannot change.
//
// # Sealing
//
// Secret keys must be stored, not hashed: SigV4 is an HMAC keyed by
// them, so the server needs each secret itself. They never appear in
// errors or logs (NewAccessKey redacts itself), and with Options.Keys
// (the server always sets it: a data key source over its KMS) the file
// is sealed, so a copy of the data directory yields neither secrets nor
// names nor policies:
//
//	+-----------+---------+------------+------------+----------+--------------------+
//	| OBJSIAM\0 | version | key length | sealed key | nonce    | AES-256-GCM(JSON   |
//	| 8 bytes   | 1 (u8)  | u16, BE    | (KMS blob) | 12 bytes | document) + 16 tag |
//	+-----------+---------+------------+------------+----------+--------------------+
//	\_________________ GCM additional data ______________/
//
// Every write takes a fresh data key from the KMS (bound to the
// associated data "objstore/iam/iam.json"), encrypts the document above
// and replaces the file atomically as before. Open tells the two forms
// apart by the magic: a plaintext file (version 1, before sealing, or a
// store without Keys) is read and, with Keys, rewritten sealed at once;
// a sealed file without Keys, or one whose key or bytes do not
// authenticate, fails with ErrStoreSealed. Rotating the KMS master key
// needs nothing here: the next change seals under the new version, and
// old versions keep unsealing. Sealing does not stop someone with write
// access to the directory from putting back an older sealed copy of the
// file; the audit log records every change made through the server.
//
// Admin tokens are stored as the SHA-256 of their secret part (see
// MintToken for why that is enough) and compared in constant time;
// expired and revoked tokens are refused with distinct errors.
package iam
