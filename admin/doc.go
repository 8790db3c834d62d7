// Package admin is objstore's management API: JSON over HTTP under
// /admin/v1, on the S3 listener, for operators and their tools (the
// `objstore admin` CLI uses Client). It manages; it never reads or
// writes object data.
//
// # Authentication
//
//   - Admin tokens: "Authorization: Bearer ost_…" (the scheme in any
//     case, RFC 9110), minted by root, stored hashed by iam.Store, each
//     with scopes and an expiry at most iam.MaxTokenLifetime (90 days)
//     ahead: POST /tokens takes ttl or expires, and refuses both. Each
//     route names the scopes that admit it (any one suffices; a write
//     scope implies its read scope). Expired and revoked tokens are
//     refused with TokenExpired and TokenRevoked, unknown ones with
//     Unauthorized. The S3 path never accepts a token, so a token cannot
//     touch objects itself.
//   - Root: the root access key and secret by HTTP Basic, allowed on
//     every route. Minting tokens (POST /tokens) is root only. Basic
//     rather than SigV4 because any HTTP tool can send it and a token is
//     what day-to-day calls should use anyway.
//
// Both kinds of credentials are accepted only over TLS or from a
// loopback address; a request carrying them in clear from elsewhere is
// refused with InsecureTransport (and a genuine token sent so is named
// in its audit record: revoke it). The server can only refuse a secret
// after it crossed the network, so Client (and the CLI) refuse before
// sending: credentials go to https:// URLs, or to http:// on the
// loopback addresses 127.0.0.0/8 and ::1 only (not the name localhost,
// which /etc/hosts or DNS resolves), redirects included. "Loopback" on
// the server is the TCP peer: a plain-HTTP reverse proxy on the same
// machine makes every client it forwards look local, so put such a proxy
// behind TLS, or in front of a TLS listener.
//
// Handler.Require puts another endpoint behind the same credentials,
// transport rule, refusals and audit records: the server serves the
// Prometheus metrics (/metrics) through it to tokens holding
// metrics:read, and to root.
//
// Some scopes are worth more than their area suggests; grant them as
// such:
//
//   - identity:write revokes any admin token, whatever its scopes, and
//     creates users and S3 access keys with any policy: the built-in
//     readwrite policy gives such a key every object.
//   - kms:write shreds buckets (POST /buckets/{name}/shred destroys the
//     bucket's keys: its data is gone for good) and rotates master keys.
//
// # Requests and errors
//
// Bodies are JSON (a policy document for PUT /policies/{name}), sent
// with Content-Type: application/json (parameters such as charset
// allowed; anything else is refused with 415 UnsupportedMediaType).
// Requests a browser sends for a web page (an Origin header, or a
// Sec-Fetch-Site other than "none") are refused with 403 whatever their
// body: the API has no browser clients, and that keeps cross-site form
// posts, bodiless ones included, off the routes. Bodies are decoded
// strictly (unknown
// fields refused), at most 24 KiB. Decoding is Go's encoding/json: field
// names match case-insensitively ("QuotaBytes" is quotaBytes) and a
// duplicated key takes its last value. PUT /buckets/{name}/quota needs
// quotaBytes (a body without it is refused; 0 removes the quota). Every
// response carries X-Request-Id. Errors are
//
//	{"code": "NoSuchUser", "message": "…", "requestId": "9F0C…"}
//
// with the stable codes listed in the OpenAPI document
// (GET /admin/v1/openapi.json, checked in as openapi.json and kept equal
// to the route table by TestOpenAPIMatchesRoutes).
//
// # Audit
//
// Every request that is not a GET, and every refused one (401, 403), is
// appended to the audit log as action "admin:<operationId>" with the
// identity admin-token:<id> or root (anonymous without credentials; a
// genuine token refused as expired, revoked or sent in clear keeps its
// admin-token:<id>, so a query by identity finds every use of it), the
// path as key, the status, error code and, for refusals, the reason.
// Changes also say what they changed in Reason (audit.Entry has no field
// of its own for it): CreateUser the user and policies, CreateAccessKey
// the user and the new key id, SetUserPolicies the user and policies,
// MintToken the token id, name, scopes and expiry, PutPolicy the name
// and the SHA-256 of the document as sent, SetBucketQuota the quota.
// Secrets (access key secrets, minted tokens) are only ever in the one
// response that creates them, never in records or logs.
//
// The record is appended after the request was served: if Append fails
// (the audit disk is full, say), the failure is logged, the change
// stands and the response does not report it. The log holds what was
// recorded, not everything that was done. Config.RefuseChanges (the
// server's --audit-fail-closed) refuses changes up front while the log
// cannot be written instead, except those that only take access away
// (disable or delete an access key or a user, revoke a token: a
// compromised credential must be stoppable), whose record, if the log
// refuses it, is written to Config.Logger; a change that passed the
// check before the log stopped completes. Config.Recorder (the server's
// audit.Aggregator) counts refusals of callers without credentials
// rather than recording each.
//
// # Cluster view
//
// A drive is reported online when its format.json is readable and still
// names the drive the server opened; capacity is the file system's
// (statfs). Bucket quotas and free-form settings are stored in the
// bucket's metadata ("quota", "setting.<name>"). The S3 path enforces
// the quota (s3api.Quotas, QuotaExceeded on a write that would pass it).
// The KMS backend (Config.KMSHealth) is reported up or down, since when
// and, while down, the error that began the outage; readiness does not
// follow it, since every node shares the KMS.
//
// # Bucket usage
//
// Buckets report their usage (Config.Usage): objects, versions, logical
// bytes of current and of all versions, multipart uploads in progress and
// their bytes, and when the count was taken. A count is a walk over the
// bucket's metadata plus the changes this server made since; GET
// /buckets/{name} and /buckets/{name}/usage wait for a first walk,
// ?refresh=true walks again, and GET /buckets shows only counts already
// made (starting the others in the background).
package admin
