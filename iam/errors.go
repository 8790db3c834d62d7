package iam

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with context; match them with
// errors.Is. No error text ever contains a secret key, a token or a token
// hash.
var (
	// ErrMalformedPolicy: a policy document is not valid JSON or not valid
	// policy language (S3's MalformedPolicy). The concrete error is a
	// *PolicyError naming the element at fault.
	ErrMalformedPolicy = errors.New("iam: malformed policy")
	// ErrInvalidName: a user, policy, access key or token name does not
	// follow its naming rule.
	ErrInvalidName = errors.New("iam: invalid name")
	// ErrNoSuchUser: the user does not exist.
	ErrNoSuchUser = errors.New("iam: no such user")
	// ErrUserExists: a user of that name already exists.
	ErrUserExists = errors.New("iam: user already exists")
	// ErrNoSuchAccessKey: the access key does not exist.
	ErrNoSuchAccessKey = errors.New("iam: no such access key")
	// ErrAccessKeyExists: the access key id is already taken (or is the
	// root access key).
	ErrAccessKeyExists = errors.New("iam: access key already exists")
	// ErrInvalidSecret: an imported secret key does not follow the rules.
	ErrInvalidSecret = errors.New("iam: invalid secret key")
	// ErrNoSuchPolicy: no policy of that name exists.
	ErrNoSuchPolicy = errors.New("iam: no such policy")
	// ErrPolicyInUse: the policy is attached to users and cannot be deleted.
	ErrPolicyInUse = errors.New("iam: policy is attached to users")
	// ErrBuiltinPolicy: built-in policies cannot be replaced or deleted.
	ErrBuiltinPolicy = errors.New("iam: built-in policy cannot be changed")
	// ErrStoreFormat: the store file is unreadable, of an unknown version,
	// or violates its invariants.
	ErrStoreFormat = errors.New("iam: bad store file")
	// ErrStoreLocked: another process holds the store directory.
	ErrStoreLocked = errors.New("iam: store is locked by another process")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("iam: store closed")

	// ErrInvalidToken: the admin token is malformed, unknown or wrong.
	// Deliberately one error for all three, so a caller learns nothing
	// about which tokens exist.
	ErrInvalidToken = errors.New("iam: invalid admin token")
	// ErrTokenExpired: the admin token is genuine but past its expiry.
	ErrTokenExpired = errors.New("iam: admin token expired")
	// ErrTokenRevoked: the admin token is genuine but was revoked.
	ErrTokenRevoked = errors.New("iam: admin token revoked")
	// ErrInsufficientScope: the admin token is valid but lacks the scope.
	ErrInsufficientScope = errors.New("iam: admin token lacks the required scope")
	// ErrInvalidScope: a scope name is not one of Scopes().
	ErrInvalidScope = errors.New("iam: unknown scope")
	// ErrNoSuchToken: no admin token has that id.
	ErrNoSuchToken = errors.New("iam: no such admin token")
	// ErrInvalidExpiry: an expiry is missing or already past.
	ErrInvalidExpiry = errors.New("iam: invalid expiry")
	// ErrUnknownOperation: an S3 operation name missing from the action
	// table.
	ErrUnknownOperation = errors.New("iam: unknown S3 operation")
)

// PolicyError is the error of ParsePolicy, ParseBucketPolicy and
// ParseBucketPolicyStrict: Path names the element at fault the way a
// person finds it in the document
// ("Statement[2].Condition.StringLike.s3:prefix"), Msg says what is wrong.
// It matches ErrMalformedPolicy with errors.Is.
type PolicyError struct {
	Path string
	Msg  string
}

// Error returns "iam: malformed policy: <path>: <msg>".
func (e *PolicyError) Error() string {
	if e.Path == "" {
		return "iam: malformed policy: " + e.Msg
	}
	return "iam: malformed policy: " + e.Path + ": " + e.Msg
}

// Unwrap makes errors.Is(err, ErrMalformedPolicy) true.
func (e *PolicyError) Unwrap() error { return ErrMalformedPolicy }

func policyErr(path, format string, args ...any) error {
	return &PolicyError{Path: path, Msg: fmt.Sprintf(format, args...)}
}
