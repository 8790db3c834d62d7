// Package admin is objstore's management API: JSON over HTTP under
// /admin/v1, on the S3 listener, for operators and their tools (the
// `objstore admin` CLI uses Client). It manages; it never reads or
// writes object data.
//
// # Authentication
//
//   - Admin tokens: "Authorization: Bearer ost_…", minted by root, stored
//     hashed by iam.Store, each with scopes and an expiry. Each route
//     names the scopes that admit it (any one suffices; a write scope
//     implies its read scope). Expired and revoked tokens are refused
//     with TokenExpired and TokenRevoked, unknown ones with Unauthorized.
//     The S3 path never accepts a token, so a token cannot touch objects.
//   - Root: the root access key and secret by HTTP Basic, accepted only
//     over TLS or from a loopback address (else InsecureTransport), and
//     allowed on every route. Minting tokens (POST /tokens) is root only.
//     Basic rather than SigV4 because any HTTP tool can send it and a
//     token is what day-to-day calls should use anyway.
//
// # Requests and errors
//
// Bodies are JSON (a policy document for PUT /policies/{name}), decoded
// strictly (unknown fields refused), at most 24 KiB. Every response
// carries X-Request-Id. Errors are
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
// identity admin-token:<id> or root, the path as key, the status, error
// code and, for refusals, the reason. Secrets (access key secrets,
// minted tokens) are only ever in the one response that creates them,
// never in records or logs.
//
// # Cluster view
//
// A drive is reported online when its format.json is readable and still
// names the drive the server opened; capacity is the file system's
// (statfs). Bucket quotas and free-form settings are stored in the
// bucket's metadata ("quota", "setting.<name>"). The S3 path enforces
// the quota (s3api.Quotas, QuotaExceeded on a write that would pass it).
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
