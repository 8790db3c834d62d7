package s3api

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/objstore/objstore/iam"
	"github.com/objstore/objstore/storage"
)

// errNoSuchBucketPolicy: the bucket has no policy.
var errNoSuchBucketPolicy = errors.New("s3api: no bucket policy")

// bucketMetadataUpdater is the part of the object layer that changes
// bucket settings (*storage.Store). It is optional so that test fakes
// without it keep working: PutBucketPolicy then answers NotImplemented.
type bucketMetadataUpdater interface {
	UpdateBucketMetadata(ctx context.Context, bucket string, fn func(md map[string]string) error) (storage.BucketInfo, error)
}

// bucketPolicyOp names the ?policy and ?policyStatus operations, which
// exist on buckets only.
func bucketPolicyOp(method, bucket, key string, status bool) (string, error) {
	if bucket == "" || key != "" {
		return "", fmt.Errorf("%w: policy sub-resource on an object", errNotImplemented)
	}
	switch {
	case status && method == http.MethodGet:
		return "GetBucketPolicyStatus", nil
	case status:
	case method == http.MethodGet:
		return "GetBucketPolicy", nil
	case method == http.MethodPut:
		return "PutBucketPolicy", nil
	case method == http.MethodDelete:
		return "DeleteBucketPolicy", nil
	}
	return "", fmt.Errorf("%w: %s", errMethodNotAllowed, method)
}

// registerPolicyOps adds the bucket policy operations to h.ops.
func (h *Handler) registerPolicyOps() {
	h.ops["PutBucketPolicy"] = h.putBucketPolicy
	h.ops["GetBucketPolicy"] = h.getBucketPolicy
	h.ops["DeleteBucketPolicy"] = h.deleteBucketPolicy
	h.ops["GetBucketPolicyStatus"] = h.getBucketPolicyStatus
}

// putBucketPolicy answers PUT /<bucket>?policy: the document is
// validated strictly (iam.ParseBucketPolicyStrict: unknown actions,
// actions that apply to none of their statement's resources and
// duplicate Sids are MalformedPolicy, as in AWS), stored as written
// (compacted) in the bucket's metadata, and applies from the next
// request on. Stored policies are read with the lenient
// iam.ParseBucketPolicy, so one written before a check existed still
// applies.
func (h *Handler) putBucketPolicy(rq *request) error {
	up, ok := h.store.(bucketMetadataUpdater)
	if !ok {
		return fmt.Errorf("%w: bucket settings", errNotImplemented)
	}
	b, err := rq.readBody(iam.MaxPolicySize)
	if err != nil {
		return err
	}
	if err := verifyOptionalDigest(rq, b, false); err != nil {
		return err
	}
	pol, err := iam.ParseBucketPolicyStrict(b, rq.bucket)
	if err != nil {
		var pe *iam.PolicyError
		if errors.As(err, &pe) {
			return withMessage(iam.ErrMalformedPolicy, pe.Path+": "+pe.Msg)
		}
		return withMessage(iam.ErrMalformedPolicy, "Policies must be valid JSON.")
	}
	// Bind the policy to the users its Allow statements name as they are
	// now, as AWS stores a named user's unique id: a user deleted and
	// created again is another user, whom the policy does not reach. A
	// Deny applies by name to whoever has it, so it may name a user who
	// does not exist (or no longer does).
	bound := map[string]int64{}
	for _, name := range pol.UserNames() {
		var created time.Time
		if h.identities != nil {
			created = h.identities.UserCreated(name)
		}
		if created.IsZero() {
			return withMessage(iam.ErrMalformedPolicy, "Invalid principal in policy: no user "+strconv.Quote(name)+".")
		}
		bound[name] = created.UnixNano()
	}
	boundDoc, err := json.Marshal(bound)
	if err != nil {
		return fmt.Errorf("s3api: put bucket policy %q: %w", rq.bucket, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return withMessage(iam.ErrMalformedPolicy, "Policies must be valid JSON.")
	}
	_, err = up.UpdateBucketMetadata(rq.ctx, rq.bucket, func(md map[string]string) error {
		md[bucketPolicyKey] = compact.String()
		md[bucketPolicyBoundKey] = string(boundDoc)
		delete(md, "policy-written") // a form of binding briefly kept before policy-users
		return nil
	})
	h.policies.forget(rq.bucket)
	if err != nil {
		return fmt.Errorf("s3api: put bucket policy %q: %w", rq.bucket, err)
	}
	return rq.writeEmpty(http.StatusNoContent)
}

// getBucketPolicy answers GET /<bucket>?policy with the document as
// stored, except that a user an Allow statement names who is gone
// (deleted, or replaced by another of the same name) is shown by the
// unique id of the user the policy was written for, as AWS shows it:
// written back unchanged, the policy keeps granting that user, who no
// longer exists, nothing. Deny statements keep the name.
func (h *Handler) getBucketPolicy(rq *request) error {
	doc, bound, err := h.storedPolicy(rq)
	if err != nil {
		return err
	}
	if doc, err = h.showGoneUsers(rq, doc, bound); err != nil {
		return err
	}
	hdr := rq.w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(doc)))
	rq.w.WriteHeader(http.StatusOK)
	_, _ = rq.w.Write([]byte(doc))
	return nil
}

// deleteBucketPolicy answers DELETE /<bucket>?policy; deleting a policy
// that does not exist succeeds, as in AWS.
func (h *Handler) deleteBucketPolicy(rq *request) error {
	up, ok := h.store.(bucketMetadataUpdater)
	if !ok {
		return fmt.Errorf("%w: bucket settings", errNotImplemented)
	}
	_, err := up.UpdateBucketMetadata(rq.ctx, rq.bucket, func(md map[string]string) error {
		delete(md, bucketPolicyKey)
		delete(md, bucketPolicyBoundKey)
		delete(md, "policy-written")
		return nil
	})
	h.policies.forget(rq.bucket)
	if err != nil {
		return fmt.Errorf("s3api: delete bucket policy %q: %w", rq.bucket, err)
	}
	return rq.writeEmpty(http.StatusNoContent)
}

// policyStatus is the GetBucketPolicyStatus response.
type policyStatus struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PolicyStatus"`
	IsPublic bool     `xml:"IsPublic"`
}

// getBucketPolicyStatus answers GET /<bucket>?policyStatus: public when
// an Allow statement names Principal "*" without conditions, the AWS
// rule in its simplest form (conditions restricting the source address
// or similar make a statement non-public).
func (h *Handler) getBucketPolicyStatus(rq *request) error {
	doc, _, err := h.storedPolicy(rq)
	if err != nil {
		return err
	}
	return rq.writeXML(http.StatusOK, policyStatus{IsPublic: publicPolicy([]byte(doc))})
}

// showGoneUsers renders doc with its gone users' unique ids (see
// getBucketPolicy).
func (h *Handler) showGoneUsers(rq *request, doc, boundDoc string) (string, error) {
	if boundDoc == "" {
		return doc, nil
	}
	bound, err := decodeBound(boundDoc)
	if err != nil {
		return "", fmt.Errorf("s3api: bucket policy users of %q: %w", rq.bucket, err)
	}
	gone := map[string]string{}
	for name, created := range bound {
		if h.identities == nil || !h.identities.UserCreated(name).Equal(created) {
			gone[name] = iam.UserID(name, created)
		}
	}
	out, err := iam.ShowUserIDs([]byte(doc), gone)
	if err != nil {
		return "", fmt.Errorf("s3api: bucket policy %q: %w", rq.bucket, err)
	}
	return string(out), nil
}

// storedPolicy returns the bucket's policy document and its user
// bindings (bucketPolicyBoundKey), read together, or
// errNoSuchBucketPolicy.
func (h *Handler) storedPolicy(rq *request) (doc, bound string, err error) {
	info, err := h.store.BucketInfo(rq.ctx, rq.bucket)
	if err != nil {
		return "", "", fmt.Errorf("s3api: bucket policy %q: %w", rq.bucket, err)
	}
	doc = info.Metadata[bucketPolicyKey]
	if doc == "" {
		return "", "", fmt.Errorf("%w: %s", errNoSuchBucketPolicy, rq.bucket)
	}
	return doc, info.Metadata[bucketPolicyBoundKey], nil
}

// publicPolicy reports whether a (valid) bucket policy has an Allow
// statement for everyone without a condition.
func publicPolicy(doc []byte) bool {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal(doc, &p) != nil {
		return false
	}
	type statement struct {
		Effect    string
		Principal json.RawMessage
		Condition json.RawMessage
	}
	var list []statement
	if json.Unmarshal(p.Statement, &list) != nil {
		var one statement
		if json.Unmarshal(p.Statement, &one) != nil {
			return false
		}
		list = []statement{one}
	}
	for _, s := range list {
		if s.Effect != "Allow" || (len(s.Condition) > 0 && string(s.Condition) != "{}" && string(s.Condition) != "null") {
			continue
		}
		if everyone(s.Principal) {
			return true
		}
	}
	return false
}

// everyone reports whether a Principal element is "*" or {"AWS": "*"}
// (alone or in a list).
func everyone(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	aws, ok := m["AWS"]
	if !ok {
		return false
	}
	if json.Unmarshal(aws, &s) == nil {
		return s == "*"
	}
	var list []string
	if json.Unmarshal(aws, &list) == nil {
		for _, v := range list {
			if v == "*" {
				return true
			}
		}
	}
	return false
}
