package iam

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Policy language versions. Policy variables (${aws:username}) are only
// substituted in 2012-10-17 policies; in 2008-10-17 policies, and in
// policies without a Version (which AWS reads as 2008-10-17), they are
// literal text.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// MaxPolicySize is the largest policy document accepted, in bytes (S3's
// limit for bucket policies).
const MaxPolicySize = 20 * 1024

// s3ARNPrefix starts every resource the engine knows.
const s3ARNPrefix = "arn:aws:s3:::"

// Policy is a parsed, validated policy document, identity or bucket
// policy. It is immutable, safe for concurrent use, and obtained only from
// ParsePolicy, ParseBucketPolicy, ParseBucketPolicyStrict or
// json.Unmarshal (which calls ParsePolicy); its JSON form (MarshalJSON)
// is normalised: every list is a list, condition values are strings,
// keys are canonically spelled.
type Policy struct {
	version    string
	id         string
	statements []statement
	// Bound holds, for each user a bucket policy names, the creation
	// time of the user of that name when the policy was written: a user
	// created at another time is another user, whom the policy's Allow
	// does not reach (see UserNames, UserID). nil (a policy written before
	// bindings were kept) lets the names alone decide. Creation times
	// tell two users of one name apart because the store records them
	// in nanoseconds and a delete and a re-create are separate
	// fsync'd updates under one lock; a clock fixed in a test does not.
	Bound map[string]time.Time
}

// UserNames returns the user names the principals of the policy's
// Allow statements name, sorted, each once: the users the policy grants
// to, which it is bound to (Bound). Deny statements apply by name to
// whoever has it, now or later, so they bind nobody.
func (p *Policy) UserNames() []string {
	var names []string
	for i := range p.statements {
		if st := &p.statements[i]; st.principal != nil && !st.deny {
			names = append(names, st.principal.users...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// userIDPrefix starts the unique ids of users, as AWS's do ("AIDA...").
const userIDPrefix = "AIDA"

// UserID is the unique id of the user called name created at created: a
// bucket policy shows it in place of the user's ARN once that user is
// gone (deleted, or replaced by another of the same name), as AWS shows a
// deleted user, and a policy written with it names nobody.
func UserID(name string, created time.Time) string {
	sum := sha256.Sum256([]byte(name + "\x00" + strconv.FormatInt(created.UnixNano(), 10)))
	return userIDPrefix + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

// isUserID reports whether v has the form of a user's unique id.
func isUserID(v string) bool {
	rest, ok := strings.CutPrefix(v, userIDPrefix)
	return ok && len(rest) >= 12 && len(rest) <= 60 && strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == ""
}

// ShowUserIDs returns bucket policy document doc with every user ARN
// principal of an Allow statement whose user name is a key of ids
// replaced by ids[name], the unique id of the user the policy was written
// for who is gone. Deny statements keep the name: they apply to whoever
// has it. The document is otherwise unchanged in content (re-encoded
// compactly).
func ShowUserIDs(doc []byte, ids map[string]string) ([]byte, error) {
	if len(ids) == 0 {
		return doc, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("iam: policy document: %w", err)
	}
	replace := func(v any) any {
		s, ok := v.(string)
		if !ok {
			return v
		}
		if name, ok := userARNName(s); ok && ids[name] != "" {
			return ids[name]
		}
		return v
	}
	stmts, ok := root["Statement"].([]any)
	if !ok {
		stmts = []any{root["Statement"]}
	}
	for _, st := range stmts {
		m, _ := st.(map[string]any)
		if effect, _ := m["Effect"].(string); effect == "Deny" {
			// A Deny applies by name (failing closed): shown as the id, and
			// written back so, it would stop denying the new user.
			continue
		}
		pr, _ := m["Principal"].(map[string]any)
		switch aws := pr["AWS"].(type) {
		case string:
			pr["AWS"] = replace(aws)
		case []any:
			for i := range aws {
				aws[i] = replace(aws[i])
			}
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("iam: policy document: %w", err)
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

// userARNName returns the user name of a user ARN principal
// ("arn:aws:iam::111122223333:user/path/name"), as add reads it.
func userARNName(v string) (string, bool) {
	rest, ok := strings.CutPrefix(v, "arn:aws:iam::")
	if !ok {
		return "", false
	}
	acct, res, _ := strings.Cut(rest, ":")
	if acct != "" && !isAccountID(acct) {
		return "", false
	}
	u, ok := strings.CutPrefix(res, "user/")
	if !ok {
		return "", false
	}
	name := u[strings.LastIndexByte(u, '/')+1:]
	return name, validUserName(name)
}

type statement struct {
	label       string // `statement "Sid"` or `Statement[1]` (as PolicyError paths), for decisions
	sid         string
	deny        bool
	principal   *principal // nil: identity policy statement
	actions     []pattern
	notAction   bool
	resources   []pattern
	notResource bool
	conditions  []condition
}

// principal is a bucket policy statement's Principal element.
type principal struct {
	star    bool     // written as "Principal": "*"
	aws     []string // the "AWS" values as written
	anyone  bool     // "*" in either form: anonymous requests included
	users   []string // user names of user ARNs
	account bool     // an account principal: delegation, see matches
}

// Version returns the policy language version, Version2012 or
// Version2008.
func (p *Policy) Version() string { return p.version }

// ID returns the policy's Id element, "" if it has none.
func (p *Policy) ID() string { return p.id }

// Statements returns the number of statements.
func (p *Policy) Statements() int { return len(p.statements) }

// ParsePolicy parses and validates a policy document. It is strict:
// unknown elements, operators, condition keys, other services' actions and
// resources (but S3's, and KMS keys with kms:GenerateDataKey and
// kms:Decrypt), an Action that applies to no Resource of its statement's
// service, duplicate JSON keys and documents over MaxPolicySize are
// refused with a *PolicyError (ErrMalformedPolicy) naming the element.
// It accepts both identity and bucket policies; ParseBucketPolicy and
// Store.PutPolicy add the rules of each kind.
func ParsePolicy(b []byte) (*Policy, error) {
	if len(b) > MaxPolicySize {
		return nil, policyErr("", "document is %d bytes, larger than %d", len(b), MaxPolicySize)
	}
	if !utf8.Valid(b) {
		return nil, policyErr("", "document is not valid UTF-8")
	}
	members, err := decodeObject(b, "")
	if err != nil {
		return nil, err
	}
	p := &Policy{version: Version2008}
	var stmts json.RawMessage
	for _, m := range members {
		switch m.key {
		case "Version":
			v, err := decodeString(m.val, "Version")
			if err != nil {
				return nil, err
			}
			if v != Version2012 && v != Version2008 {
				return nil, policyErr("Version", "%q is not %s or %s", v, Version2012, Version2008)
			}
			p.version = v
		case "Id":
			if p.id, err = decodeString(m.val, "Id"); err != nil {
				return nil, err
			}
		case "Statement":
			stmts = m.val
		default:
			return nil, policyErr(m.key, "unknown element (want Version, Id, Statement)")
		}
	}
	if stmts == nil {
		return nil, policyErr("Statement", "missing")
	}
	raws, err := decodeOneOrMany(stmts, "Statement", func(c byte) bool { return c == '{' })
	if err != nil {
		return nil, err
	}
	for i, raw := range raws {
		path := "Statement"
		if len(raws) > 1 || stmts[firstByte(stmts)] == '[' {
			path = fmt.Sprintf("Statement[%d]", i)
		}
		s, err := parseStatement(raw, path, p.version == Version2012)
		if err != nil {
			return nil, err
		}
		if s.sid != "" {
			s.label = "statement " + strconv.Quote(s.sid)
		} else {
			s.label = "Statement[" + strconv.Itoa(i) + "]"
		}
		p.statements = append(p.statements, s)
	}
	return p, nil
}

// ParseBucketPolicy parses a bucket policy for bucket: on top of
// ParsePolicy's rules, every statement names a Principal, and every
// Resource (or NotResource) is the bucket itself or objects in it, as S3
// requires. It is the parser for stored policies; a policy being written
// goes through ParseBucketPolicyStrict, which checks more.
func ParseBucketPolicy(b []byte, bucket string) (*Policy, error) {
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, err
	}
	own := s3ARNPrefix + bucket
	for i, s := range p.statements {
		if s.principal == nil {
			return nil, policyErr(fmt.Sprintf("Statement[%d]", i), "a bucket policy statement needs a Principal")
		}
		for _, r := range s.resources {
			if r.src != own && !strings.HasPrefix(r.src, own+"/") {
				return nil, policyErr(fmt.Sprintf("Statement[%d].Resource", i), "%q is not bucket %q or an object in it", r.src, bucket)
			}
		}
	}
	return p, nil
}

// ParseBucketPolicyStrict parses a bucket policy for bucket that is being
// written (PutBucketPolicy). On top of ParseBucketPolicy's rules it
// applies the checks AWS S3 makes when a policy is submitted, each
// refused with a *PolicyError whose message begins with AWS's words:
//
//   - every Action and NotAction value names an S3 action (case
//     insensitively), or is a wildcard matching at least one ("Policy
//     has invalid action"): a typo in a Deny would otherwise protect
//     nothing, and one in an Allow grant nothing, silently;
//   - every Action value applies to a Resource of its statement: an
//     action on buckets (s3:ListBucket) to the bucket's ARN, an action on
//     objects (s3:GetObject) to an object ARN, a wildcard when any action
//     it matches does ("Action does not apply to any resource(s) in
//     statement"). NotAction and NotResource statements are not checked:
//     they reach what they do not name;
//   - nothing else: S3 takes a Sid given twice (its documentation asks
//     for unique ones, but stored policies with repeated Sids exist, and
//     tools that append statements make them)
//
// These rules are not applied where stored policies are read
// (ParseBucketPolicy), so a policy an older build accepted keeps loading
// and deciding as it did until it is written again.
func ParseBucketPolicyStrict(b []byte, bucket string) (*Policy, error) {
	p, err := ParseBucketPolicy(b, bucket)
	if err != nil {
		return nil, err
	}
	if err := p.checkSubmitted(bucket); err != nil {
		return nil, err
	}
	return p, nil
}

// checkSubmitted applies ParseBucketPolicyStrict's rules to p, a policy
// of bucket.
func (p *Policy) checkSubmitted(bucket string) error {
	for i := range p.statements {
		s := &p.statements[i]
		path := fmt.Sprintf("Statement[%d]", i)
		elem := path + ".Action"
		if s.notAction {
			elem = path + ".NotAction"
		}
		var stmtOn actionResources
		for _, r := range s.resources {
			stmtOn |= resourceKinds(r.src)
		}
		for k := range s.actions {
			a := &s.actions[k]
			on, ok := s3ActionResources(a)
			if !ok {
				what := "is not an S3 action"
				if strings.ContainsAny(a.src, "*?") {
					what = "matches no S3 action"
				}
				return policyErr(elem, "Policy has invalid action: %q %s", a.src, what)
			}
			if !s.notAction && !s.notResource && on&stmtOn == 0 {
				return policyErr(elem, "Action does not apply to any resource(s) in statement: %q applies to %s, which no Resource of the statement names", a.src, describeResources(on, bucket))
			}
		}
	}
	return nil
}

// describeResources names the resource kinds in on, in a policy of
// bucket, for an error message.
func describeResources(on actionResources, bucket string) string {
	var kinds []string
	if on&onBucket != 0 {
		kinds = append(kinds, "the bucket ("+s3ARNPrefix+bucket+")")
	}
	if on&onObject != 0 {
		kinds = append(kinds, "objects ("+s3ARNPrefix+bucket+"/key)")
	}
	if on&onOther != 0 {
		kinds = append(kinds, "resources other than buckets and objects")
	}
	return strings.Join(kinds, " or ")
}

// checkIdentityPolicy enforces the identity policy rule: no Principal.
func checkIdentityPolicy(p *Policy) error {
	for i, s := range p.statements {
		if s.principal != nil {
			return policyErr(fmt.Sprintf("Statement[%d].Principal", i), "an identity policy cannot name a Principal")
		}
	}
	return nil
}

func parseStatement(raw json.RawMessage, path string, variables bool) (statement, error) {
	var s statement
	members, err := decodeObject(raw, path)
	if err != nil {
		return s, err
	}
	var haveEffect, haveAction, haveResource bool
	for _, m := range members {
		mpath := path + "." + m.key
		switch m.key {
		case "Sid":
			if s.sid, err = decodeString(m.val, mpath); err != nil {
				return s, err
			}
		case "Effect":
			e, err := decodeString(m.val, mpath)
			if err != nil {
				return s, err
			}
			switch e {
			case "Allow":
			case "Deny":
				s.deny = true
			default:
				return s, policyErr(mpath, "%q is not Allow or Deny", e)
			}
			haveEffect = true
		case "Principal":
			if s.principal, err = parsePrincipal(m.val, mpath); err != nil {
				return s, err
			}
		case "Action", "NotAction":
			if haveAction {
				return s, policyErr(mpath, "a statement has either Action or NotAction, not both")
			}
			haveAction, s.notAction = true, m.key == "NotAction"
			if s.actions, err = parseActions(m.val, mpath); err != nil {
				return s, err
			}
		case "Resource", "NotResource":
			if haveResource {
				return s, policyErr(mpath, "a statement has either Resource or NotResource, not both")
			}
			haveResource, s.notResource = true, m.key == "NotResource"
			if s.resources, err = parseResources(m.val, mpath, variables); err != nil {
				return s, err
			}
		case "Condition":
			if s.conditions, err = parseConditions(m.val, mpath, variables); err != nil {
				return s, err
			}
		case "NotPrincipal":
			return s, policyErr(mpath, "NotPrincipal is not supported; use Principal with a Deny statement")
		default:
			return s, policyErr(mpath, "unknown element (want Sid, Effect, Principal, Action, NotAction, Resource, NotResource, Condition)")
		}
	}
	switch {
	case !haveEffect:
		return s, policyErr(path, "missing Effect")
	case !haveAction:
		return s, policyErr(path, "missing Action or NotAction")
	case !haveResource:
		return s, policyErr(path, "missing Resource or NotResource")
	}
	return s, s.checkServices(path)
}

func parseActions(raw json.RawMessage, path string) ([]pattern, error) {
	vals, err := decodeStrings(raw, path)
	if err != nil {
		return nil, err
	}
	out := make([]pattern, 0, len(vals))
	for _, v := range vals {
		isKMS := false
		if v != "*" {
			service, name, ok := strings.Cut(v, ":")
			switch {
			case ok && strings.EqualFold(service, "s3"):
			case ok && strings.EqualFold(service, "kms"):
				isKMS = true
			default:
				return nil, policyErr(path, "%q: only s3 actions (s3:Name) and %s, %s are supported", v, ActionKMSGenerateDataKey, ActionKMSDecrypt)
			}
			if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*?") != "" {
				return nil, policyErr(path, "%q is not a valid action name", v)
			}
		}
		p, err := compilePattern(v, path, true, false, true)
		if err != nil {
			return nil, err
		}
		// Unlike S3 actions, which identity policies may name unchecked
		// (AWS IAM takes unknown ones too), a KMS action must be one the
		// server knows: there are two, and a kms:Encrypt taken silently
		// would read as a grant or a Deny that does nothing.
		if isKMS && !kmsActionMatches(&p) {
			return nil, policyErr(path, "%q is not a KMS action objstore knows (%s, %s)", v, ActionKMSGenerateDataKey, ActionKMSDecrypt)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseResources(raw json.RawMessage, path string, variables bool) ([]pattern, error) {
	vals, err := decodeStrings(raw, path)
	if err != nil {
		return nil, err
	}
	out := make([]pattern, 0, len(vals))
	for _, v := range vals {
		compiled := v
		switch {
		case v == "*":
		case strings.HasPrefix(v, kmsARNPrefix):
			if compiled, err = parseKMSResource(v, path); err != nil {
				return nil, err
			}
		case !strings.HasPrefix(v, s3ARNPrefix) || len(v) == len(s3ARNPrefix):
			return nil, policyErr(path, "%q: a resource is \"*\", an ARN arn:aws:s3:::bucket[/key] or a KMS key arn:aws:kms:<region>:<account-id>:key/<key-id>", v)
		}
		p, err := compilePattern(compiled, path, true, variables, false)
		if err != nil {
			return nil, err
		}
		p.src = v
		out = append(out, p)
	}
	return out, nil
}

func parsePrincipal(raw json.RawMessage, path string) (*principal, error) {
	p := &principal{}
	if raw[firstByte(raw)] == '"' {
		s, err := decodeString(raw, path)
		if err != nil {
			return nil, err
		}
		if s != "*" {
			return nil, policyErr(path, "%q: a Principal string must be \"*\"; name users as {\"AWS\": [...]}", s)
		}
		p.star, p.anyone = true, true
		return p, nil
	}
	members, err := decodeObject(raw, path)
	if err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, policyErr(path, "empty Principal")
	}
	for _, m := range members {
		if m.key != "AWS" {
			return nil, policyErr(path+"."+m.key, "unsupported principal type (only AWS)")
		}
		vals, err := decodeStrings(m.val, path+".AWS")
		if err != nil {
			return nil, err
		}
		p.aws = vals
		for _, v := range vals {
			if err := p.add(v, path+".AWS"); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// add compiles one AWS principal: "*", an account ("111122223333",
// "arn:aws:iam::111122223333:root") or a user ARN
// ("arn:aws:iam::111122223333:user/path/name"). objstore has one account,
// so the account number in an ARN is not checked.
func (p *principal) add(v, path string) error {
	if v == "*" {
		p.anyone = true
		return nil
	}
	if isAccountID(v) {
		p.account = true
		return nil
	}
	if isUserID(v) {
		// A gone user's unique id, as GetBucketPolicy shows it: it names
		// nobody, so keeping it in a rewritten policy grants nothing.
		return nil
	}
	if rest, ok := strings.CutPrefix(v, "arn:aws:iam::"); ok {
		if acct, res, _ := strings.Cut(rest, ":"); res == "root" && isAccountID(acct) {
			p.account = true
			return nil
		}
	}
	if name, ok := userARNName(v); ok {
		p.users = append(p.users, name)
		return nil
	}
	return policyErr(path, "%q: a principal is \"*\", an account id, arn:aws:iam::<account>:user/<name> (no wildcards) or a user's unique id", v)
}

// matches reports whether the principal names the request's user (""
// for anonymous). An account principal in a resource policy delegates to
// the account's identity policies, as in AWS: it makes a Deny apply to
// every user, but grants nothing by itself. late marks a user other than
// the one the policy was written for (Policy.Bound): its name grants it
// nothing, though a Deny naming it still applies (failing closed).
func (p *principal) matches(user string, deny, late bool) bool {
	if p.anyone {
		return true
	}
	if user == "" {
		return false
	}
	if deny || !late {
		for _, u := range p.users {
			if u == user {
				return true
			}
		}
	}
	return deny && p.account
}

func isAccountID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}

func parseConditions(raw json.RawMessage, path string, variables bool) ([]condition, error) {
	ops, err := decodeObject(raw, path)
	if err != nil {
		return nil, err
	}
	var out []condition
	for _, om := range ops {
		opPath := path + "." + om.key
		op, ok := lookupOperator(om.key)
		if !ok {
			if strings.HasPrefix(om.key, "ForAnyValue:") || strings.HasPrefix(om.key, "ForAllValues:") {
				return nil, policyErr(opPath, "set operators are not supported: every supported key has one value")
			}
			return nil, policyErr(opPath, "unknown or unsupported condition operator")
		}
		keys, err := decodeObject(om.val, opPath)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, policyErr(opPath, "no condition keys")
		}
		seen := make(map[string]bool, len(keys))
		for _, km := range keys {
			keyPath := opPath + "." + km.key
			key, ok := lookupKey(km.key)
			if !ok {
				return nil, policyErr(keyPath, "unknown or unsupported condition key")
			}
			if seen[key.name] {
				return nil, policyErr(keyPath, "key given twice")
			}
			seen[key.name] = true
			vals, err := decodeValues(km.val, keyPath)
			if err != nil {
				return nil, err
			}
			c, err := compileCondition(om.key, op, key, vals, variables, keyPath)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].opName != out[j].opName {
			return out[i].opName < out[j].opName
		}
		return out[i].key.name < out[j].key.name
	})
	return out, nil
}

// MarshalJSON returns the policy in normalised form.
func (p *Policy) MarshalJSON() ([]byte, error) {
	type jsonStatement struct {
		Sid         string                         `json:"Sid,omitempty"`
		Effect      string                         `json:"Effect"`
		Principal   any                            `json:"Principal,omitempty"`
		Action      []string                       `json:"Action,omitempty"`
		NotAction   []string                       `json:"NotAction,omitempty"`
		Resource    []string                       `json:"Resource,omitempty"`
		NotResource []string                       `json:"NotResource,omitempty"`
		Condition   map[string]map[string][]string `json:"Condition,omitempty"`
	}
	out := struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id,omitempty"`
		Statement []jsonStatement `json:"Statement"`
	}{Version: p.version, ID: p.id}
	for _, s := range p.statements {
		js := jsonStatement{Sid: s.sid, Effect: "Allow"}
		if s.deny {
			js.Effect = "Deny"
		}
		if s.principal != nil {
			if s.principal.star {
				js.Principal = "*"
			} else {
				js.Principal = map[string][]string{"AWS": s.principal.aws}
			}
		}
		if s.notAction {
			js.NotAction = sources(s.actions)
		} else {
			js.Action = sources(s.actions)
		}
		if s.notResource {
			js.NotResource = sources(s.resources)
		} else {
			js.Resource = sources(s.resources)
		}
		for _, c := range s.conditions {
			if js.Condition == nil {
				js.Condition = map[string]map[string][]string{}
			}
			if js.Condition[c.opName] == nil {
				js.Condition[c.opName] = map[string][]string{}
			}
			js.Condition[c.opName][c.key.name] = c.values
		}
		out.Statement = append(out.Statement, js)
	}
	return json.Marshal(out)
}

// UnmarshalJSON parses b with ParsePolicy, so that a policy embedded in a
// JSON request is validated as it is decoded.
func (p *Policy) UnmarshalJSON(b []byte) error {
	q, err := ParsePolicy(b)
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// String returns the normalised JSON form.
func (p *Policy) String() string {
	b, err := p.MarshalJSON()
	if err != nil {
		return "iam.Policy(" + err.Error() + ")"
	}
	return string(b)
}

func sources(ps []pattern) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.src
	}
	return out
}

// member is one name/value pair of a JSON object, in document order.
type member struct {
	key string
	val json.RawMessage
}

// decodeObject splits a JSON object into its members, refusing duplicate
// names: encoding/json would keep the last one silently, letting a policy
// read differently to a person and to the engine.
func decodeObject(raw []byte, path string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, policyErr(path, "invalid JSON: %v", cleanJSONError(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, policyErr(path, "must be a JSON object")
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, policyErr(path, "invalid JSON: %v", cleanJSONError(err))
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, policyErr(path, "element %q given twice", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, policyErr(path, "invalid JSON: %v", cleanJSONError(err))
		}
		out = append(out, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, policyErr(path, "invalid JSON: %v", cleanJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, policyErr(path, "trailing data after the JSON object")
	}
	return out, nil
}

func cleanJSONError(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func firstByte(raw []byte) int {
	for i, c := range raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return i
		}
	}
	return 0
}

func decodeString(raw json.RawMessage, path string) (string, error) {
	var s string
	if len(raw) == 0 || raw[firstByte(raw)] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", policyErr(path, "must be a string")
	}
	return s, nil
}

// decodeOneOrMany returns a single value, or the elements of a non-empty
// array, each of which must start with a byte accepted by ok.
func decodeOneOrMany(raw json.RawMessage, path string, ok func(byte) bool) ([]json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, policyErr(path, "missing value")
	}
	if raw[firstByte(raw)] != '[' {
		if !ok(raw[firstByte(raw)]) {
			return nil, policyErr(path, "unexpected JSON type")
		}
		return []json.RawMessage{raw}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, policyErr(path, "invalid JSON: %v", err)
	}
	if len(list) == 0 {
		return nil, policyErr(path, "empty list")
	}
	for i, v := range list {
		if len(v) == 0 || !ok(v[firstByte(v)]) {
			return nil, policyErr(fmt.Sprintf("%s[%d]", path, i), "unexpected JSON type")
		}
	}
	return list, nil
}

// decodeStrings accepts a string or a non-empty list of strings.
func decodeStrings(raw json.RawMessage, path string) ([]string, error) {
	list, err := decodeOneOrMany(raw, path, func(c byte) bool { return c == '"' })
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, v := range list {
		if out[i], err = decodeString(v, path); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeValues accepts condition values: strings, numbers and booleans,
// alone or in a non-empty list; numbers keep their JSON text.
func decodeValues(raw json.RawMessage, path string) ([]string, error) {
	scalar := func(c byte) bool { return c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' }
	list, err := decodeOneOrMany(raw, path, scalar)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, v := range list {
		v = bytes.TrimSpace(v)
		if v[0] == '"' {
			if out[i], err = decodeString(v, path); err != nil {
				return nil, err
			}
			continue
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, policyErr(path, "invalid JSON: %v", err)
		}
		out[i] = string(v)
	}
	return out, nil
}
