package iam

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Request is one authorization question: may this identity perform this
// action on this resource, in this context?
type Request struct {
	// Principal is the user's name; "" is an anonymous request.
	Principal string
	// Root marks the root credentials (from the server's configuration):
	// allowed everything. Callers log root data access as such.
	Root bool
	// Action is the S3 action, e.g. "s3:GetObject" (see Operation).
	Action string
	// Bucket and Key name the resource: both empty for service-level
	// actions (s3:ListAllMyBuckets), Key empty for bucket actions.
	Bucket, Key string
	// KMSKey names the master key of a KMS action
	// (ActionKMSGenerateDataKey), whose resource is then KMSKeyARN(KMSKey)
	// and not Bucket and Key. Only identity policies decide it: a bucket
	// policy is S3's resource policy, not the key's.
	KMSKey string
	// Conditions holds the request context under the canonical key names
	// (KeySourceIP...). aws:username, aws:CurrentTime and aws:EpochTime
	// are filled by the engine when absent. The map is only read.
	Conditions map[string][]string
}

// Decision is the engine's answer.
type Decision struct {
	// Allowed is true when the request may proceed.
	Allowed bool
	// Explicit is true when a Deny statement decided (as opposed to the
	// default deny, when no statement allowed the request).
	Explicit bool
	// Reason says which policy and statement decided, or why nothing did;
	// it names no secrets and may go into audit records and logs.
	Reason string
}

// NamedPolicy is a policy with the name it is stored under.
type NamedPolicy struct {
	Name   string
	Policy *Policy
}

// IdentitySource gives the engine the identity policies of a user. Store
// implements it.
type IdentitySource interface {
	// UserPolicies returns the policies attached to user; ok is false when
	// the user does not exist or is disabled. The slice is shared and must
	// not be modified. Safe for concurrent use.
	UserPolicies(user string) (policies []NamedPolicy, ok bool)
	// UserCreated returns when user was created, zero when unknown: a
	// bucket policy naming the user grants nothing to a user of that
	// name created at another time than the one it was written for
	// (Policy.Bound).
	UserCreated(user string) time.Time
}

// EngineOptions configures an Engine.
type EngineOptions struct {
	// Now returns the current time for aws:CurrentTime and aws:EpochTime;
	// nil means time.Now.
	Now func() time.Time
}

// Engine evaluates requests against identity policies and bucket
// policies. It is safe for concurrent use.
type Engine struct {
	src IdentitySource
	now func() time.Time
}

// NewEngine returns an engine reading identity policies from src (nil:
// no users, so only root and bucket policies grant anything).
func NewEngine(src IdentitySource, opts EngineOptions) *Engine {
	e := &Engine{src: src, now: opts.Now}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// Authorize decides a request, as AWS does within one account:
//
//  1. Root is allowed everything (even a bucket policy's Deny cannot lock
//     the operator out).
//  2. An unknown or disabled user is denied.
//  3. Every statement that applies (action, resource, conditions, and for
//     bucket policy statements the principal) is collected from the
//     user's identity policies and bucketPolicy (nil: the bucket has
//     none). Any Deny among them denies: explicit deny wins.
//  4. Otherwise any Allow allows.
//  5. Otherwise the request is denied by default.
//
// Anonymous requests have no identity policies, so only a bucket policy
// statement whose Principal is "*" can allow them.
func (e *Engine) Authorize(r Request, bucketPolicy *Policy) Decision {
	if r.Root {
		return Decision{Allowed: true, Reason: "root credentials"}
	}
	if r.KMSKey != "" {
		// A bucket policy cannot name a KMS key (its resources are the
		// bucket's), but an Action "*" with a NotResource reaches one:
		// whoever may write the bucket's policy would then grant the
		// use of keys they may not use themselves.
		bucketPolicy = nil
	}
	ec := evalContext{r: &r, action: r.Action, resource: r.resource(), now: e.now}
	identity, ok := e.userPolicies(r.Principal)
	if !ok {
		return Decision{Reason: "user " + strconv.Quote(r.Principal) + " is unknown or disabled"}
	}
	var allow *statement
	allowFrom := ""
	for _, np := range identity {
		for i := range np.Policy.statements {
			s := &np.Policy.statements[i]
			if !s.applies(&ec) {
				continue
			}
			if s.deny {
				return Decision{Explicit: true, Reason: "denied by " + s.label + " of policy " + strconv.Quote(np.Name)}
			}
			if allow == nil {
				allow, allowFrom = s, "policy "+strconv.Quote(np.Name)
			}
		}
	}
	if bucketPolicy != nil {
		late := e.late(r.Principal, bucketPolicy)
		for i := range bucketPolicy.statements {
			s := &bucketPolicy.statements[i]
			if s.principal == nil || !s.principal.matches(r.Principal, s.deny, late) || !s.applies(&ec) {
				continue
			}
			if s.deny {
				return Decision{Explicit: true, Reason: "denied by " + s.label + " of the bucket policy"}
			}
			if allow == nil {
				allow, allowFrom = s, "the bucket policy"
			}
		}
	}
	if allow != nil {
		return Decision{Allowed: true, Reason: "allowed by " + allow.label + " of " + allowFrom}
	}
	return Decision{Reason: "no statement allows " + r.Action + " on " + ec.resource}
}

// Unknown names what an early authorization check (Engine.MayAllow)
// does not know yet, because the request's body, not yet read, says it.
type Unknown struct {
	// AnyKey: the object key is unknown (DeleteObjects names its keys in
	// the body); Request.Key is ignored and any key of Request.Bucket may
	// be the one.
	AnyKey bool
	// Conditions lists condition keys (canonical names, as KeyLocation
	// Constraint) whose values are unknown: a condition on one of them
	// is taken to hold.
	Conditions []string
}

// MayAllow reports whether Authorize could allow r for some value of what
// u leaves unknown: whether some Allow statement (of the user's identity
// policies, or of bucketPolicy naming the requester) matches r's action
// and could match its resource and conditions. false means that every
// such request will be denied, so a server can refuse it before reading
// its body. Deny statements are not considered: true promises nothing,
// Authorize still decides once everything is known.
func (e *Engine) MayAllow(r Request, bucketPolicy *Policy, u Unknown) bool {
	if r.Root {
		return true
	}
	if r.KMSKey != "" {
		bucketPolicy = nil // as in Authorize
	}
	ec := evalContext{r: &r, action: r.Action, resource: r.resource(), now: e.now}
	if u.AnyKey {
		ec.resource = resourceARN(r.Bucket, "")
	}
	identity, ok := e.userPolicies(r.Principal)
	if !ok {
		return false
	}
	for _, np := range identity {
		for i := range np.Policy.statements {
			if np.Policy.statements[i].mayApply(&ec, &u) {
				return true
			}
		}
	}
	if bucketPolicy != nil {
		late := e.late(r.Principal, bucketPolicy)
		for i := range bucketPolicy.statements {
			s := &bucketPolicy.statements[i]
			if s.principal != nil && s.principal.matches(r.Principal, false, late) && s.mayApply(&ec, &u) {
				return true
			}
		}
	}
	return false
}

// userPolicies returns the identity policies of user, none for an
// anonymous request (""); ok is false for a user unknown or disabled.
func (e *Engine) userPolicies(user string) (policies []NamedPolicy, ok bool) {
	if user == "" {
		return nil, true
	}
	if e.src == nil {
		return nil, false
	}
	return e.src.UserPolicies(user)
}

// late reports whether user is not the user a bucket policy naming that
// name was written for: one created at another time is another user,
// though the name is the same (AWS keeps the named user's unique id), so
// a deleted user's grants do not pass to a newcomer.
func (e *Engine) late(user string, p *Policy) bool {
	if user == "" || p.Bound == nil {
		return false
	}
	c, ok := p.Bound[user]
	return !ok || e.src == nil || !e.src.UserCreated(user).Equal(c)
}

// mayApply reports whether the statement is an Allow that could apply
// for some value of what u leaves unknown (see MayAllow). With u.AnyKey,
// ec.resource is the bucket's ARN and a Resource must be able to match
// some object in it; a NotResource is taken to leave some object out.
// A statement whose evaluation reached a policy variable of a key in
// u.Conditions (${s3:LocationConstraint} in a Resource or in another
// condition's value) may apply: that variable has a value once the body
// is read, which Authorize then uses.
func (s *statement) mayApply(ec *evalContext, u *Unknown) bool {
	if s.deny {
		return false
	}
	ec.unresolved, ec.unknownVar, ec.unknown = false, false, u.Conditions
	defer func() { ec.unknown = nil }()
	if anyMatch(s.actions, ec.action, ec) == s.notAction {
		return ec.unknownVar
	}
	ok := s.notResource
	switch {
	case !u.AnyKey:
		ok = anyMatch(s.resources, ec.resource, ec) != s.notResource
	case !s.notResource:
		for i := range s.resources {
			if s.resources[i].matchLonger(ec.resource+"/", ec.variable) {
				ok = true
				break
			}
		}
	}
	for i := 0; ok && i < len(s.conditions); i++ {
		c := &s.conditions[i]
		ok = slices.ContainsFunc(u.Conditions, func(k string) bool { return strings.EqualFold(k, c.key.name) }) || c.eval(ec)
	}
	return ok && !ec.unresolved || ec.unknownVar
}

// resource is the ARN the request is about: its KMS key's, else its
// bucket's or object's.
func (r *Request) resource() string {
	if r.KMSKey != "" {
		return KMSKeyARN(r.KMSKey)
	}
	return resourceARN(r.Bucket, r.Key)
}

// resourceARN is the ARN of an S3 request; service-level requests get
// "arn:aws:s3:::", which "*" and "arn:aws:s3:::*" match and no bucket
// ARN does.
func resourceARN(bucket, key string) string {
	switch {
	case bucket == "":
		return s3ARNPrefix
	case key == "":
		return s3ARNPrefix + bucket
	}
	return s3ARNPrefix + bucket + "/" + key
}

// applies reports whether the statement's action, resource and
// conditions all match. A policy variable without a value makes an Allow
// statement not apply and a Deny statement apply: unknown context fails
// closed either way.
func (s *statement) applies(ec *evalContext) bool {
	ec.unresolved = false
	if anyMatch(s.actions, ec.action, ec) == s.notAction {
		return false
	}
	ok := anyMatch(s.resources, ec.resource, ec) != s.notResource
	for i := 0; ok && i < len(s.conditions); i++ {
		ok = s.conditions[i].eval(ec)
	}
	if ec.unresolved {
		return s.deny
	}
	return ok
}

func anyMatch(ps []pattern, name string, ec *evalContext) bool {
	for i := range ps {
		if ps[i].match(name, ec.variable) {
			return true
		}
	}
	return false
}

// evalContext is one request under evaluation.
type evalContext struct {
	r          *Request
	action     string
	resource   string
	now        func() time.Time
	unresolved bool // a policy variable had no value
	// unknown lists the condition keys MayAllow does not know yet;
	// unknownVar notes that a policy variable of one had no value.
	unknown    []string
	unknownVar bool
}

// values returns the request's values for a canonical key.
func (ec *evalContext) values(key string) ([]string, bool) {
	if v, ok := ec.r.Conditions[key]; ok {
		return v, len(v) > 0
	}
	for k, v := range ec.r.Conditions {
		if strings.EqualFold(k, key) {
			return v, len(v) > 0
		}
	}
	switch key {
	case KeyUsername:
		if ec.r.Principal != "" {
			return []string{ec.r.Principal}, true
		}
	case KeyCurrentTime:
		return []string{ec.now().UTC().Format(time.RFC3339)}, true
	case KeyEpochTime:
		return []string{strconv.FormatInt(ec.now().Unix(), 10)}, true
	}
	return nil, false
}

// variable resolves a policy variable, noting when it has no value.
func (ec *evalContext) variable(key string) (string, bool) {
	v, ok := ec.values(key)
	if !ok {
		ec.unresolved = true
		ec.unknownVar = ec.unknownVar || slices.ContainsFunc(ec.unknown, func(k string) bool { return strings.EqualFold(k, key) })
		return "", false
	}
	return v[0], true
}
