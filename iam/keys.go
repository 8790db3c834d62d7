package iam

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"
)

// AccessKeyInfo describes an access key, without its secret.
type AccessKeyInfo struct {
	ID      string
	User    string
	Enabled bool
	Created time.Time
	// Expires is when the key stops working; zero means never.
	Expires time.Time
}

// Expired reports whether the key is past its expiry at now.
func (k AccessKeyInfo) Expired(now time.Time) bool {
	return !k.Expires.IsZero() && !now.Before(k.Expires)
}

// NewAccessKey is a created access key with its secret, which the store
// shows this once: later listings return AccessKeyInfo only. It prints
// and logs with the secret redacted; only an explicit read of Secret (or
// JSON encoding, for the one response that shows it) reveals it.
type NewAccessKey struct {
	AccessKeyInfo
	Secret string `json:"secretKey"`
}

// Format prints the key with its secret redacted, for every verb.
func (k NewAccessKey) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{ID:%s User:%s Enabled:%t Secret:[REDACTED]}", k.ID, k.User, k.Enabled)
}

// LogValue logs the key with its secret redacted.
func (k NewAccessKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("user", k.User), slog.String("secret", "[REDACTED]"))
}

// AccessKeyOptions are the optional settings of CreateAccessKey.
type AccessKeyOptions struct {
	// ID and Secret import an existing key pair (for migrations and
	// tests); "" generates them: a 20-character [A-Z0-9] id and a
	// 40-character [A-Za-z0-9] secret (238 bits) from crypto/rand.
	// Imported ids are 16 to 128 characters of [A-Za-z0-9]; secrets 40 to
	// 128 printable ASCII characters without spaces.
	ID, Secret string
	// Expires, if not zero, is when the key stops working; it must be in
	// the future.
	Expires time.Time
}

// CreateAccessKey creates an enabled access key for user.
func (s *Store) CreateAccessKey(ctx context.Context, user string, opts AccessKeyOptions) (NewAccessKey, error) {
	id, secret := opts.ID, opts.Secret
	switch {
	case id == "":
		id = randomString(20, upperAlnum)
	case !validAccessKeyID(id):
		return NewAccessKey{}, fmt.Errorf("%w: access key id must be 16 to 128 characters of A-Z a-z 0-9", ErrInvalidName)
	}
	switch {
	case secret == "":
		secret = randomString(40, alnum)
	case !validSecret(secret):
		return NewAccessKey{}, fmt.Errorf("%w: must be 40 to 128 printable ASCII characters without spaces", ErrInvalidSecret)
	}
	if s.opts.RootAccessKey != "" && id == s.opts.RootAccessKey {
		return NewAccessKey{}, fmt.Errorf("%w: %q is the root access key", ErrAccessKeyExists, id)
	}
	var out NewAccessKey
	err := s.update(ctx, func(st *state, now time.Time) error {
		if !opts.Expires.IsZero() && !opts.Expires.After(now) {
			return fmt.Errorf("%w: access key expiry %s is not in the future", ErrInvalidExpiry, opts.Expires.UTC().Format(time.RFC3339))
		}
		if st.users[user] == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchUser, user)
		}
		if st.keys[id] != nil {
			return fmt.Errorf("%w: %q", ErrAccessKeyExists, id)
		}
		k := &keyRec{Secret: secret, User: user, Enabled: true, Created: now}
		if !opts.Expires.IsZero() {
			k.Expires = opts.Expires.UTC()
		}
		st.keys[id] = k
		out = NewAccessKey{AccessKeyInfo: k.info(id), Secret: secret}
		return nil
	})
	return out, err
}

func (k *keyRec) info(id string) AccessKeyInfo {
	return AccessKeyInfo{ID: id, User: k.User, Enabled: k.Enabled, Created: k.Created, Expires: k.Expires}
}

// AccessKey returns an access key's description.
func (s *Store) AccessKey(id string) (AccessKeyInfo, error) {
	k := s.snap.Load().keys[id]
	if k == nil {
		return AccessKeyInfo{}, fmt.Errorf("%w: %q", ErrNoSuchAccessKey, id)
	}
	return k.info(id), nil
}

// AccessKeys returns the access keys of user ("" for every user), sorted
// by id. It fails with ErrNoSuchUser for an unknown user.
func (s *Store) AccessKeys(user string) ([]AccessKeyInfo, error) {
	st := s.snap.Load()
	if user != "" && st.users[user] == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchUser, user)
	}
	out := []AccessKeyInfo{}
	for _, id := range slices.Sorted(maps.Keys(st.keys)) {
		if k := st.keys[id]; user == "" || k.User == user {
			out = append(out, k.info(id))
		}
	}
	return out, nil
}

// SetAccessKeyEnabled enables or disables an access key; a disabled key
// stops working at once.
func (s *Store) SetAccessKeyEnabled(ctx context.Context, id string, enabled bool) error {
	return s.update(ctx, func(st *state, _ time.Time) error {
		cur := st.keys[id]
		if cur == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchAccessKey, id)
		}
		k := *cur
		k.Enabled = enabled
		st.keys[id] = &k
		return nil
	})
}

// DeleteAccessKey deletes an access key.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	return s.update(ctx, func(st *state, _ time.Time) error {
		if st.keys[id] == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchAccessKey, id)
		}
		delete(st.keys, id)
		return nil
	})
}

// Secret returns the secret key of accessKey and the user it belongs to,
// for SigV4 verification; ok is false when the key is unknown, disabled,
// expired, or its user is disabled. It is called on every S3 request: a
// lock-free snapshot load and two map lookups. The root access key is
// not stored here; the caller checks it first.
func (s *Store) Secret(accessKey string) (secret, user string, ok bool) {
	st := s.snap.Load()
	k := st.keys[accessKey]
	if k == nil || !k.Enabled {
		return "", "", false
	}
	if !k.Expires.IsZero() && !s.opts.Now().Before(k.Expires) {
		return "", "", false
	}
	if u := st.users[k.User]; u == nil || !u.Enabled {
		return "", "", false
	}
	return k.Secret, k.User, true
}
