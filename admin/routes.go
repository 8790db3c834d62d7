package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "embed"

	"github.com/objstore/objstore/audit"
	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/storage"
)

//go:embed openapi.json
var openAPIDocument []byte

// table lists every endpoint. The OpenAPI document must describe exactly
// these (TestOpenAPIMatchesRoutes).
func (h *Handler) table() []route {
	const (
		status  = iam.ScopeStatusRead
		bRead   = iam.ScopeBucketsRead
		bWrite  = iam.ScopeBucketsWrite
		idRead  = iam.ScopeIdentityRead
		idWrite = iam.ScopeIdentityWrite
		hRead   = iam.ScopeHealRead
		hWrite  = iam.ScopeHealWrite
		aRead   = iam.ScopeAuditRead
		kRead   = iam.ScopeKMSRead
		kWrite  = iam.ScopeKMSWrite
	)
	s := func(scopes ...string) []string { return scopes }
	return []route{
		{Method: "GET", Path: "/openapi.json", Name: "GetOpenAPI", Public: true, Summary: "This API's OpenAPI 3 document", fn: h.openAPI},
		{Method: "GET", Path: "/cluster", Name: "GetCluster", Scopes: s(status), Summary: "Node, readiness, erasure sets and drives with health and capacity, KMS backend up or down", fn: h.cluster},
		{Method: "GET", Path: "/zones", Name: "ListZones", Scopes: s(status), Summary: "Zones with their drive counts and capacity", fn: h.zones},
		{Method: "GET", Path: "/buckets", Name: "ListBuckets", Scopes: s(bRead), Summary: "Buckets with their settings and usage where counted", fn: h.listBuckets},
		{Method: "POST", Path: "/buckets", Name: "CreateBucket", Scopes: s(bWrite), Summary: "Create a bucket with a location, quota and settings", fn: h.createBucket},
		{Method: "GET", Path: "/buckets/{name}", Name: "GetBucket", Scopes: s(bRead), Summary: "One bucket's settings and usage (counted first if need be)", fn: h.getBucket},
		{Method: "GET", Path: "/buckets/{name}/usage", Name: "GetBucketUsage", Scopes: s(bRead), Query: []string{"refresh"}, Summary: "A bucket's usage: objects, versions, bytes, uploads in progress (refresh=true: count again now)", fn: h.bucketUsage},
		{Method: "PUT", Path: "/buckets/{name}/quota", Name: "SetBucketQuota", Scopes: s(bWrite), Summary: "Set a bucket's hard quota in bytes (body: {\"quotaBytes\": N}, required; 0 removes it)", fn: h.setQuota},
		{Method: "GET", Path: "/users", Name: "ListUsers", Scopes: s(idRead), Summary: "Users", fn: h.listUsers},
		{Method: "POST", Path: "/users", Name: "CreateUser", Scopes: s(idWrite), Summary: "Create a user with policies", fn: h.createUser},
		{Method: "GET", Path: "/users/{name}", Name: "GetUser", Scopes: s(idRead), Summary: "One user", fn: h.getUser},
		{Method: "DELETE", Path: "/users/{name}", Name: "DeleteUser", Scopes: s(idWrite), Revokes: true, Summary: "Delete a user and its access keys", fn: h.deleteUser},
		{Method: "POST", Path: "/users/{name}/enable", Name: "EnableUser", Scopes: s(idWrite), Summary: "Enable a user", fn: h.setUserEnabled(true)},
		{Method: "POST", Path: "/users/{name}/disable", Name: "DisableUser", Scopes: s(idWrite), Revokes: true, Summary: "Disable a user: its keys stop working at once", fn: h.setUserEnabled(false)},
		{Method: "PUT", Path: "/users/{name}/policies", Name: "SetUserPolicies", Scopes: s(idWrite), Summary: "Replace the policies attached to a user", fn: h.setUserPolicies},
		{Method: "POST", Path: "/users/{name}/keys", Name: "CreateAccessKey", Scopes: s(idWrite), Summary: "Create an access key; the secret is in this response only", fn: h.createKey},
		{Method: "GET", Path: "/users/{name}/keys", Name: "ListAccessKeys", Scopes: s(idRead), Summary: "A user's access keys, without secrets", fn: h.listKeys},
		{Method: "POST", Path: "/keys/{id}/enable", Name: "EnableAccessKey", Scopes: s(idWrite), Summary: "Enable an access key", fn: h.setKeyEnabled(true)},
		{Method: "POST", Path: "/keys/{id}/disable", Name: "DisableAccessKey", Scopes: s(idWrite), Revokes: true, Summary: "Disable an access key", fn: h.setKeyEnabled(false)},
		{Method: "DELETE", Path: "/keys/{id}", Name: "DeleteAccessKey", Scopes: s(idWrite), Revokes: true, Summary: "Delete an access key", fn: h.deleteKey},
		{Method: "GET", Path: "/policies", Name: "ListPolicies", Scopes: s(idRead), Summary: "Named policies, built-in ones included", fn: h.listPolicies},
		{Method: "GET", Path: "/policies/{name}", Name: "GetPolicy", Scopes: s(idRead), Summary: "One policy with its document", fn: h.getPolicy},
		{Method: "PUT", Path: "/policies/{name}", Name: "PutPolicy", Scopes: s(idWrite), Summary: "Create or replace a policy (body: the policy document)", fn: h.putPolicy},
		{Method: "DELETE", Path: "/policies/{name}", Name: "DeletePolicy", Scopes: s(idWrite), Summary: "Delete a policy attached to nobody", fn: h.deletePolicy},
		{Method: "GET", Path: "/tokens", Name: "ListTokens", Scopes: s(idRead), Summary: "Admin tokens, without the tokens themselves", fn: h.listTokens},
		{Method: "POST", Path: "/tokens", Name: "MintToken", Summary: "Mint an admin token (root credentials only; ttl or expires, at most 90 days); the token is in this response only", fn: h.mintToken},
		{Method: "DELETE", Path: "/tokens/{id}", Name: "RevokeToken", Scopes: s(idWrite), Revokes: true, Summary: "Revoke an admin token", fn: h.revokeToken},
		{Method: "POST", Path: "/heal/start", Name: "StartHeal", Scopes: s(hWrite), Summary: "Start a heal pass now", fn: h.startHeal},
		{Method: "POST", Path: "/heal/stop", Name: "StopHeal", Scopes: s(hWrite), Summary: "Stop the running heal pass", fn: h.stopHeal},
		{Method: "GET", Path: "/heal/status", Name: "GetHealStatus", Scopes: s(hRead, status), Summary: "Progress of the current or last heal pass", fn: h.healStatus},
		{Method: "GET", Path: "/kms/keys", Name: "ListKMSKeys", Scopes: s(kRead), Summary: "KMS master keys with backend, version and state", fn: h.listKMSKeys},
		{Method: "POST", Path: "/kms/keys", Name: "CreateKMSKey", Scopes: s(kWrite), Summary: "Create a KMS master key (body: {\"id\": ...})", fn: h.createKMSKey},
		{Method: "POST", Path: "/kms/keys/{id}/rotate", Name: "RotateKMSKey", Scopes: s(kWrite), Summary: "Rotate a master key and rewrap every bucket key it seals", fn: h.rotateKMSKey},
		{Method: "POST", Path: "/buckets/{name}/shred", Name: "ShredBucket", Scopes: s(kWrite), Summary: "Destroy a bucket's keys: every object, version and upload in it becomes unreadable at once (body: {\"confirm\": bucket})", fn: h.shredBucket},
		{Method: "GET", Path: "/audit", Name: "QueryAudit", Scopes: s(aRead), Query: auditQuery, Summary: "Audit records by time, identity, bucket and action", fn: h.queryAudit},
		{Method: "GET", Path: "/audit/export", Name: "ExportAudit", Scopes: s(aRead), Query: auditQuery, Summary: "Audit records as stored, JSON lines, streamed", fn: h.exportAudit},
		{Method: "GET", Path: "/audit/verify", Name: "VerifyAudit", Scopes: s(aRead), Summary: "Verify the audit log's hash chain", fn: h.verifyAudit},
	}
}

func (h *Handler) openAPI(c *call) error {
	c.w.Header().Set("Content-Type", "application/json")
	c.status = http.StatusOK
	n, _ := c.w.Write(openAPIDocument)
	c.out += int64(n)
	return nil
}

// --- Cluster ----------------------------------------------------------

// DriveStatus is one drive in /cluster.
type DriveStatus struct {
	Set      int    `json:"set"`
	Position int    `json:"position"`
	Path     string `json:"path"`
	Zone     string `json:"zone"`
	DriveID  string `json:"driveId"`
	// State is how the object layer counts the drive: online,
	// rebuilding, full, faulty or offline (storage.DriveState).
	State string `json:"state"`
	// Online is true for a drive that takes requests: online,
	// rebuilding or full.
	Online bool   `json:"online"`
	Total  uint64 `json:"totalBytes"`
	Free   uint64 `json:"freeBytes"`
	// Error says why the drive is not online.
	Error string `json:"error,omitempty"`
}

// Cluster is the /cluster response.
type Cluster struct {
	Node   string          `json:"node"`
	Ready  bool            `json:"ready"`
	Reason string          `json:"reason,omitempty"`
	Sets   [][]DriveStatus `json:"sets"`
	// KMS is the key management backend's state; absent when the KMS
	// cannot tell (one an embedding program gave that is not built on
	// kms.Manager). Ready stays true while it is down, on purpose: every
	// node shares the KMS (docs/architecture.md, When the KMS is down).
	KMS *KMSHealth `json:"kms,omitempty"`
}

// KMSHealth is the KMS backend's state in /cluster.
type KMSHealth struct {
	// Backend is keyring, pkcs11 or kmip.
	Backend string `json:"backend"`
	// State is "down" from the first call that found the backend
	// failing or unreachable (requests needing it answer 503 at once but
	// for one at a time, which asks it) until the first answer, "up"
	// otherwise.
	State string `json:"state"`
	// Since is when the backend went down, or last came back up (or the
	// server opened it).
	Since time.Time `json:"since"`
	// Cause is, while down, the error that began the outage: it names
	// the operation or endpoint, never key material.
	Cause string `json:"cause,omitempty"`
}

// KMS states of KMSHealth.State.
const (
	KMSUp   = "up"
	KMSDown = "down"
)

// Zone is one element of the /zones response.
type Zone struct {
	Name   string `json:"name"`
	Drives int    `json:"drives"`
	Online int    `json:"online"`
	Total  uint64 `json:"totalBytes"`
	Free   uint64 `json:"freeBytes"`
}

// Drives reports every drive's state as the object layer counts it,
// checked now, and its file system's capacity.
func (h *Handler) Drives(ctx context.Context) [][]DriveStatus {
	sets := h.cfg.Store.DriveStates(ctx)
	out := make([][]DriveStatus, len(sets))
	for i, set := range sets {
		for _, d := range set {
			ds := DriveStatus{Set: d.Format.Set, Position: d.Format.Position, Path: d.Path, Zone: d.Format.Zone, DriveID: d.Format.DriveID,
				State: d.State, Error: d.Reason}
			switch d.State {
			case storage.DriveOnline, storage.DriveRebuilding, storage.DriveFull:
				ds.Online = true
			}
			if total, free, err := diskUsage(d.Path); err == nil {
				ds.Total, ds.Free = total, free
			}
			out[i] = append(out[i], ds)
		}
	}
	return out
}

func (h *Handler) cluster(c *call) error {
	cl := Cluster{Node: h.cfg.Node, Ready: true, Sets: h.Drives(c.ctx)}
	if cl.Node == "" {
		cl.Node, _ = os.Hostname()
	}
	if err := h.cfg.Store.Ready(c.ctx); err != nil {
		cl.Ready, cl.Reason = false, "read or write quorum unavailable"
	}
	if h.cfg.KMSHealth != nil {
		k := h.cfg.KMSHealth()
		cl.KMS = &KMSHealth{Backend: k.Backend, State: KMSUp, Since: k.Since.UTC(), Cause: k.Cause}
		if k.Down {
			cl.KMS.State = KMSDown
		}
	}
	return c.writeJSON(http.StatusOK, cl)
}

func (h *Handler) zones(c *call) error {
	byName := map[string]*Zone{}
	for _, set := range h.Drives(c.ctx) {
		for _, d := range set {
			z := byName[d.Zone]
			if z == nil {
				z = &Zone{Name: d.Zone}
				byName[d.Zone] = z
			}
			z.Drives++
			if d.Online {
				z.Online++
			}
			z.Total += d.Total
			z.Free += d.Free
		}
	}
	out := make([]Zone, 0, len(byName))
	for _, z := range byName {
		out = append(out, *z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return c.writeJSON(http.StatusOK, out)
}

// --- Buckets ----------------------------------------------------------

// Bucket metadata entries the admin API owns. The quota entry is the
// one s3api.Quotas enforces (s3api.QuotaKey; admin cannot import s3api,
// and the server's end-to-end quota test proves the two agree).
const (
	quotaKey      = "quota"
	settingPrefix = "setting."
	policyKey     = "policy" // s3api's bucket policy entry, read only here
)

// Bucket is a bucket as the admin API shows it.
type Bucket struct {
	Name      string            `json:"name"`
	Created   time.Time         `json:"created"`
	Location  string            `json:"location,omitempty"`
	Quota     int64             `json:"quotaBytes,omitempty"`
	Settings  map[string]string `json:"settings,omitempty"`
	HasPolicy bool              `json:"hasPolicy"`
	// Usage is absent where it is not counted yet (listings do not wait
	// for a count) or the server keeps none.
	Usage *BucketUsage `json:"usage,omitempty"`
}

// CreateBucketRequest is the POST /buckets body.
type CreateBucketRequest struct {
	Name     string            `json:"name"`
	Location string            `json:"location,omitempty"`
	Quota    int64             `json:"quotaBytes,omitempty"`
	Settings map[string]string `json:"settings,omitempty"`
}

func bucketOf(b storage.BucketInfo) Bucket {
	out := Bucket{Name: b.Name, Created: b.Created, Location: b.Location, HasPolicy: b.Metadata[policyKey] != ""}
	for k, v := range b.Metadata {
		switch {
		case k == quotaKey:
			out.Quota, _ = strconv.ParseInt(v, 10, 64)
		case strings.HasPrefix(k, settingPrefix):
			if out.Settings == nil {
				out.Settings = map[string]string{}
			}
			out.Settings[strings.TrimPrefix(k, settingPrefix)] = v
		}
	}
	return out
}

func (h *Handler) listBuckets(c *call) error {
	bs, err := h.cfg.Store.ListBuckets(c.ctx)
	if err != nil {
		return fmt.Errorf("admin: list buckets: %w", err)
	}
	out := make([]Bucket, 0, len(bs))
	for _, b := range bs {
		bk := bucketOf(b)
		if h.cfg.Usage != nil {
			if u, ok := h.cfg.Usage.CachedUsage(b.Name); ok {
				bk.Usage = usageOf(u)
			}
		}
		out = append(out, bk)
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) getBucket(c *call) error {
	c.bucket = c.r.PathValue("name")
	b, err := h.cfg.Store.BucketInfo(c.ctx, c.bucket)
	if err != nil {
		return fmt.Errorf("admin: bucket %q: %w", c.bucket, err)
	}
	bk := bucketOf(b)
	if h.cfg.Usage != nil {
		u, err := h.cfg.Usage.Usage(c.ctx, c.bucket)
		if err != nil {
			return fmt.Errorf("admin: bucket %q usage: %w", c.bucket, err)
		}
		bk.Usage = usageOf(u)
	}
	return c.writeJSON(http.StatusOK, bk)
}

// createBucket makes the bucket, then records its settings: two steps,
// so a failure in the second leaves the bucket without them (reported
// as an error; the operator retries the settings).
func (h *Handler) createBucket(c *call) error {
	var req CreateBucketRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	c.bucket = req.Name
	if !validBucketName(req.Name) {
		return badRequest("bucket name %q is not valid", req.Name)
	}
	if req.Quota < 0 {
		return badRequest("quotaBytes must not be negative")
	}
	if req.Location != "" && !storage.ValidLocation(req.Location) {
		return badRequest("location %q is not valid: 1 to 64 letters, digits, dashes and underscores", req.Location)
	}
	for k := range req.Settings {
		if k == "" || len(k) > 64 {
			return badRequest("setting names are 1 to 64 characters")
		}
	}
	if err := h.cfg.Store.MakeBucket(c.ctx, req.Name, req.Location); err != nil {
		return fmt.Errorf("admin: create bucket %q: %w", req.Name, err)
	}
	info, err := h.cfg.Store.BucketInfo(c.ctx, req.Name)
	if req.Quota > 0 || len(req.Settings) > 0 {
		info, err = h.cfg.Store.UpdateBucketMetadata(c.ctx, req.Name, func(md map[string]string) error {
			if req.Quota > 0 {
				md[quotaKey] = strconv.FormatInt(req.Quota, 10)
			}
			for k, v := range req.Settings {
				md[settingPrefix+k] = v
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("admin: bucket %q settings: %w", req.Name, err)
	}
	return c.writeJSON(http.StatusCreated, bucketOf(info))
}

// validBucketName follows S3's rules: 3 to 63 characters of a-z 0-9 . -,
// starting and ending with a letter or digit.
func validBucketName(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		alnum := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9'
		if !alnum && ((ch != '.' && ch != '-') || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return !strings.Contains(s, "..")
}

// --- Users and access keys -------------------------------------------

// CreateUserRequest is the POST /users body.
type CreateUserRequest struct {
	Name     string   `json:"name"`
	Policies []string `json:"policies,omitempty"`
}

// PoliciesRequest is the PUT /users/{name}/policies body.
type PoliciesRequest struct {
	Policies []string `json:"policies"`
}

// CreateKeyRequest is the POST /users/{name}/keys body (optional).
type CreateKeyRequest struct {
	Expires time.Time `json:"expires,omitzero"`
}

// User is a user as the admin API shows it.
type User struct {
	Name     string    `json:"name"`
	Enabled  bool      `json:"enabled"`
	Policies []string  `json:"policies"`
	Created  time.Time `json:"created"`
}

// AccessKey is an access key without its secret.
type AccessKey struct {
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Enabled bool      `json:"enabled"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// NewAccessKey is the one response that carries a secret key.
type NewAccessKey struct {
	AccessKey
	Secret string `json:"secretKey"`
}

func userOf(u iam.User) User {
	p := u.Policies
	if p == nil {
		p = []string{}
	}
	return User{Name: u.Name, Enabled: u.Enabled, Policies: p, Created: u.Created}
}

func keyOf(k iam.AccessKeyInfo) AccessKey {
	return AccessKey{ID: k.ID, User: k.User, Enabled: k.Enabled, Created: k.Created, Expires: k.Expires}
}

func (h *Handler) listUsers(c *call) error {
	us := h.cfg.IAM.Users()
	out := make([]User, 0, len(us))
	for _, u := range us {
		out = append(out, userOf(u))
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) createUser(c *call) error {
	var req CreateUserRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	c.detail = fmt.Sprintf("user %q policies %q", req.Name, req.Policies)
	u, err := h.cfg.IAM.CreateUser(c.ctx, req.Name, req.Policies...)
	if err != nil {
		return fmt.Errorf("admin: create user: %w", err)
	}
	return c.writeJSON(http.StatusCreated, userOf(u))
}

func (h *Handler) getUser(c *call) error {
	u, err := h.cfg.IAM.User(c.r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("admin: user: %w", err)
	}
	return c.writeJSON(http.StatusOK, userOf(u))
}

func (h *Handler) deleteUser(c *call) error {
	if err := h.cfg.IAM.DeleteUser(c.ctx, c.r.PathValue("name")); err != nil {
		return fmt.Errorf("admin: delete user: %w", err)
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) setUserEnabled(enabled bool) func(*call) error {
	return func(c *call) error {
		name := c.r.PathValue("name")
		if err := h.cfg.IAM.SetUserEnabled(c.ctx, name, enabled); err != nil {
			return fmt.Errorf("admin: enable user: %w", err)
		}
		return h.getUser(c)
	}
}

func (h *Handler) setUserPolicies(c *call) error {
	var req PoliciesRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	c.detail = fmt.Sprintf("user %q policies %q", c.r.PathValue("name"), req.Policies)
	if err := h.cfg.IAM.SetUserPolicies(c.ctx, c.r.PathValue("name"), req.Policies); err != nil {
		return fmt.Errorf("admin: set user policies: %w", err)
	}
	return h.getUser(c)
}

func (h *Handler) createKey(c *call) error {
	var req CreateKeyRequest
	if c.r.ContentLength != 0 {
		if err := c.decode(&req); err != nil {
			return err
		}
	}
	c.detail = fmt.Sprintf("user %q", c.r.PathValue("name"))
	if !req.Expires.IsZero() {
		c.detail += " expires " + req.Expires.UTC().Format(time.RFC3339)
	}
	k, err := h.cfg.IAM.CreateAccessKey(c.ctx, c.r.PathValue("name"), iam.AccessKeyOptions{Expires: req.Expires})
	if err != nil {
		return fmt.Errorf("admin: create access key: %w", err)
	}
	// The key id is public (it signs every request); the secret never
	// leaves this response.
	c.detail = fmt.Sprintf("access key %s %s", k.ID, c.detail)
	c.w.Header().Set("Cache-Control", "no-store")
	return c.writeJSON(http.StatusCreated, NewAccessKey{AccessKey: keyOf(k.AccessKeyInfo), Secret: k.Secret})
}

func (h *Handler) listKeys(c *call) error {
	ks, err := h.cfg.IAM.AccessKeys(c.r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("admin: list access keys: %w", err)
	}
	out := make([]AccessKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, keyOf(k))
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) setKeyEnabled(enabled bool) func(*call) error {
	return func(c *call) error {
		id := c.r.PathValue("id")
		if err := h.cfg.IAM.SetAccessKeyEnabled(c.ctx, id, enabled); err != nil {
			return fmt.Errorf("admin: enable access key: %w", err)
		}
		k, err := h.cfg.IAM.AccessKey(id)
		if err != nil {
			return fmt.Errorf("admin: access key: %w", err)
		}
		return c.writeJSON(http.StatusOK, keyOf(k))
	}
}

func (h *Handler) deleteKey(c *call) error {
	if err := h.cfg.IAM.DeleteAccessKey(c.ctx, c.r.PathValue("id")); err != nil {
		return fmt.Errorf("admin: delete access key: %w", err)
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Policies -----------------------------------------------------------

// Policy is a named policy as the admin API shows it.
type Policy struct {
	Name     string          `json:"name"`
	Builtin  bool            `json:"builtin"`
	Document json.RawMessage `json:"document"`
	Created  time.Time       `json:"created,omitzero"`
	Updated  time.Time       `json:"updated,omitzero"`
	Users    []string        `json:"users"`
}

func policyOf(p iam.PolicyInfo) Policy {
	doc := p.Document
	if len(doc) == 0 && p.Policy != nil {
		doc, _ = p.Policy.MarshalJSON()
	}
	users := p.Users
	if users == nil {
		users = []string{}
	}
	return Policy{Name: p.Name, Builtin: p.Builtin, Document: doc, Created: p.Created, Updated: p.Updated, Users: users}
}

func (h *Handler) listPolicies(c *call) error {
	ps := h.cfg.IAM.Policies()
	out := make([]Policy, 0, len(ps))
	for _, p := range ps {
		out = append(out, policyOf(p))
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) getPolicy(c *call) error {
	p, err := h.cfg.IAM.Policy(c.r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("admin: policy: %w", err)
	}
	return c.writeJSON(http.StatusOK, policyOf(p))
}

func (h *Handler) putPolicy(c *call) error {
	var doc bytes.Buffer
	if _, err := doc.ReadFrom(c.r.Body); err != nil {
		return fmt.Errorf("admin: read policy: %w", err)
	}
	// A digest, not the document: it identifies the version put without
	// growing the log by up to a policy per record.
	sum := sha256.Sum256(doc.Bytes())
	c.detail = fmt.Sprintf("policy %q sha256 %s", c.r.PathValue("name"), hex.EncodeToString(sum[:]))
	p, err := h.cfg.IAM.PutPolicy(c.ctx, c.r.PathValue("name"), doc.Bytes())
	if err != nil {
		return fmt.Errorf("admin: put policy: %w", err)
	}
	return c.writeJSON(http.StatusOK, policyOf(p))
}

func (h *Handler) deletePolicy(c *call) error {
	if err := h.cfg.IAM.DeletePolicy(c.ctx, c.r.PathValue("name")); err != nil {
		return fmt.Errorf("admin: delete policy: %w", err)
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Tokens -------------------------------------------------------------

// Token describes an admin token, without the token.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Scopes  []string  `json:"scopes"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Revoked time.Time `json:"revoked,omitzero"`
}

// MintRequest is the POST /tokens body: either Expires or TTL (a Go
// duration, "24h"), not both, at most iam.MaxTokenLifetime ahead.
type MintRequest struct {
	Name    string    `json:"name"`
	Scopes  []string  `json:"scopes"`
	Expires time.Time `json:"expires,omitzero"`
	TTL     string    `json:"ttl,omitempty"`
}

// NewToken is the one response that carries a token.
type NewToken struct {
	Token
	Secret string `json:"token"`
}

func tokenOf(t iam.TokenInfo) Token {
	return Token{ID: t.ID, Name: t.Name, Scopes: t.Scopes, Created: t.Created, Expires: t.Expires, Revoked: t.Revoked}
}

func (h *Handler) listTokens(c *call) error {
	ts := h.cfg.IAM.Tokens()
	out := make([]Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenOf(t))
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) mintToken(c *call) error {
	var req MintRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if !req.Expires.IsZero() && req.TTL != "" {
		return badRequest("set either ttl or expires, not both")
	}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			return badRequest("ttl %q is not a positive duration", req.TTL)
		}
		req.Expires = h.cfg.Now().Add(d)
	}
	c.detail = fmt.Sprintf("name %q scopes %q expires %s", req.Name, req.Scopes, req.Expires.UTC().Format(time.RFC3339))
	tok, info, err := h.cfg.IAM.MintToken(c.ctx, iam.TokenOptions{Name: req.Name, Scopes: req.Scopes, Expires: req.Expires})
	if err != nil {
		return fmt.Errorf("admin: mint token: %w", err)
	}
	c.detail = "token " + info.ID + " " + c.detail
	c.w.Header().Set("Cache-Control", "no-store")
	return c.writeJSON(http.StatusCreated, NewToken{Token: tokenOf(info), Secret: tok})
}

func (h *Handler) revokeToken(c *call) error {
	if err := h.cfg.IAM.RevokeToken(c.ctx, c.r.PathValue("id")); err != nil {
		return fmt.Errorf("admin: revoke token: %w", err)
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Heal ---------------------------------------------------------------

// HealRequest is the optional POST /heal/start body: rate limits for the
// pass (0: the configured rates, negative: unbounded).
type HealRequest struct {
	ObjectsPerSecond float64 `json:"objectsPerSecond,omitempty"`
	BytesPerSecond   float64 `json:"bytesPerSecond,omitempty"`
}

// HealStatus is the heal scanner's progress.
type HealStatus struct {
	Running         bool      `json:"running"`
	Pass            int       `json:"pass"`
	Started         time.Time `json:"started,omitzero"`
	Finished        time.Time `json:"finished,omitzero"`
	NextPass        time.Time `json:"nextPass,omitzero"`
	ObjectsTotal    int64     `json:"objectsTotal"`
	ObjectsScanned  int64     `json:"objectsScanned"`
	ObjectsHealed   int64     `json:"objectsHealed"`
	ObjectsDegraded int64     `json:"objectsDegraded"`
	ObjectsFailed   int64     `json:"objectsFailed"`
	BytesScanned    int64     `json:"bytesScanned"`
	UploadsScanned  int64     `json:"uploadsScanned"`
	OrphansRemoved  int64     `json:"orphansRemoved"`
	ETASeconds      float64   `json:"etaSeconds"`
	LastError       string    `json:"lastError,omitempty"`
	Stopped         bool      `json:"stopped,omitempty"`
	Queued          int       `json:"queued"`
	QueueHealed     int64     `json:"queueHealed"`
	QueueFailed     int64     `json:"queueFailed"`
	QueueDropped    int64     `json:"queueDropped"`
}

func healOf(s storage.HealStatus) HealStatus {
	return HealStatus{
		Running: s.Running, Pass: s.Pass, Started: s.Started, Finished: s.Finished, NextPass: s.NextPass,
		ObjectsTotal: s.ObjectsTotal, ObjectsScanned: s.ObjectsScanned, ObjectsHealed: s.ObjectsHealed,
		ObjectsDegraded: s.ObjectsDegraded, ObjectsFailed: s.ObjectsFailed, BytesScanned: s.BytesScanned,
		UploadsScanned: s.UploadsScanned, OrphansRemoved: s.OrphansRemoved, ETASeconds: s.ETA.Seconds(),
		LastError: s.LastError, Stopped: s.Stopped, Queued: s.Queued, QueueHealed: s.QueueHealed, QueueFailed: s.QueueFailed,
		QueueDropped: s.QueueDropped,
	}
}

func (h *Handler) startHeal(c *call) error {
	var req HealRequest
	if c.r.ContentLength != 0 {
		if err := c.decode(&req); err != nil {
			return err
		}
	}
	if err := h.cfg.Store.StartHeal(storage.HealOptions{ObjectsPerSecond: req.ObjectsPerSecond, BytesPerSecond: req.BytesPerSecond}); err != nil {
		return fmt.Errorf("admin: start heal: %w", err)
	}
	return c.writeJSON(http.StatusAccepted, healOf(h.cfg.Store.HealStatus()))
}

func (h *Handler) stopHeal(c *call) error {
	h.cfg.Store.StopHeal()
	return c.writeJSON(http.StatusOK, healOf(h.cfg.Store.HealStatus()))
}

func (h *Handler) healStatus(c *call) error {
	return c.writeJSON(http.StatusOK, healOf(h.cfg.Store.HealStatus()))
}

// --- Audit --------------------------------------------------------------

// AuditRecord is one audit record in a query response.
type AuditRecord struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Identity  string    `json:"identity"`
	AccessKey string    `json:"accessKey,omitempty"`
	Source    string    `json:"source,omitempty"`
	Action    string    `json:"action"`
	Bucket    string    `json:"bucket,omitempty"`
	Key       string    `json:"key,omitempty"`
	Status    int       `json:"status"`
	Error     string    `json:"error,omitempty"`
	RequestID string    `json:"requestId,omitempty"`
	BytesIn   int64     `json:"bytesIn"`
	BytesOut  int64     `json:"bytesOut"`
	Reason    string    `json:"reason,omitempty"`
}

// AuditPage is the GET /audit response; pass Next as after= for the
// next page (0: no more).
type AuditPage struct {
	Records []AuditRecord `json:"records"`
	Next    uint64        `json:"next,omitempty"`
}

// AuditVerification is the GET /audit/verify response.
type AuditVerification struct {
	OK      bool     `json:"ok"`
	Files   int      `json:"files"`
	Records uint64   `json:"records"`
	First   uint64   `json:"first"`
	Last    uint64   `json:"last"`
	Head    string   `json:"head"`
	Issues  []string `json:"issues"`
	Dropped int      `json:"dropped,omitempty"`
	// Gaps counts the gap records (the log was stopped by a failed
	// write, then resumed; each is also in Issues), Unrecorded the
	// events they report as not recorded. OK can be true with gaps: the
	// chain is intact, the account is not complete.
	Gaps       int    `json:"gaps,omitempty"`
	Unrecorded uint64 `json:"unrecorded,omitempty"`
	// AnchorSeq and AnchorTime describe the anchor file that
	// authenticated (absent when none was checked).
	AnchorSeq  uint64    `json:"anchorSeq,omitempty"`
	AnchorTime time.Time `json:"anchorTime,omitzero"`
}

// auditQuery are the query parameters of the audit queries.
var auditQuery = []string{"from", "to", "identity", "bucket", "action", "limit", "after"}

// maxAuditPage bounds one query page.
const maxAuditPage = 10000

func (h *Handler) auditFilter(c *call, defLimit int) (audit.Filter, error) {
	q := c.r.URL.Query()
	f := audit.Filter{Identity: q.Get("identity"), Bucket: q.Get("bucket"), Action: q.Get("action"), Limit: defLimit}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, badRequest("%s must be an RFC 3339 time", t.name)
			}
			*t.dst = tm
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, badRequest("limit must be a positive integer")
		}
		f.Limit = n
	}
	if defLimit > 0 && f.Limit > maxAuditPage {
		f.Limit = maxAuditPage
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return f, badRequest("after must be a sequence number")
		}
		f.AfterSeq = n
	}
	return f, nil
}

func (h *Handler) needAudit() error {
	if h.cfg.Audit == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "AuditUnavailable", Message: "this server has no audit log"}
	}
	return nil
}

func (h *Handler) queryAudit(c *call) error {
	if err := h.needAudit(); err != nil {
		return err
	}
	f, err := h.auditFilter(c, 1000)
	if err != nil {
		return err
	}
	page := AuditPage{Records: []AuditRecord{}}
	err = h.cfg.Audit.Query(c.ctx, f, func(r audit.Record) error {
		page.Records = append(page.Records, AuditRecord{
			Seq: r.Seq, Time: r.Time, Identity: r.Identity, AccessKey: r.AccessKey, Source: r.Source,
			Action: r.Action, Bucket: r.Bucket, Key: r.Key, Status: r.Status, Error: r.Error,
			RequestID: r.RequestID, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Reason: r.Reason,
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("admin: query audit log: %w", err)
	}
	if f.Limit > 0 && len(page.Records) == f.Limit {
		page.Next = page.Records[len(page.Records)-1].Seq
	}
	return c.writeJSON(http.StatusOK, page)
}

// exportAudit streams the records as stored; an error after the first
// byte can only cut the stream short (the client sees a truncated last
// line, which Verify on the export would flag).
func (h *Handler) exportAudit(c *call) error {
	if err := h.needAudit(); err != nil {
		return err
	}
	f, err := h.auditFilter(c, 0)
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "application/x-ndjson")
	cw := &countWriter{w: c.w}
	c.status = http.StatusOK
	if err := h.cfg.Audit.Export(c.ctx, f, cw); err != nil {
		c.out += cw.n
		if cw.n == 0 {
			return fmt.Errorf("admin: export audit log: %w", err)
		}
		h.cfg.Logger.Error("admin: audit export cut short", "request_id", c.id, "err", err)
		return nil
	}
	c.out += cw.n
	return nil
}

func (h *Handler) verifyAudit(c *call) error {
	if err := h.needAudit(); err != nil {
		return err
	}
	// The log's own Verify syncs first and checks the anchors: the
	// file's and the one the server holds in memory.
	rep, err := h.cfg.Audit.Verify(c.ctx, audit.VerifyOptions{})
	if err != nil {
		return fmt.Errorf("admin: verify audit log: %w", err)
	}
	return c.writeJSON(http.StatusOK, VerificationOf(rep))
}

// VerificationOf renders a Verify report (also used by the CLI's
// offline verify).
func VerificationOf(rep *audit.Report) AuditVerification {
	v := AuditVerification{OK: rep.OK(), Files: rep.Files, Records: rep.Records, First: rep.First, Last: rep.Last,
		Head: rep.HeadHex(), Issues: []string{}, Dropped: rep.Dropped, Gaps: len(rep.Gaps), Unrecorded: rep.Unrecorded}
	for _, is := range rep.Issues {
		v.Issues = append(v.Issues, is.String())
	}
	if rep.Anchor != nil {
		v.AnchorSeq, v.AnchorTime = rep.Anchor.Seq, rep.Anchor.Time
	}
	return v
}

type countWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (cw *countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}
