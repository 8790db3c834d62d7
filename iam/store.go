package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// StoreFile is the name of the store's document inside its directory.
const StoreFile = "iam.json"

// StoreVersion is the format version Store writes; Open reads 1..StoreVersion.
const StoreVersion = 1

// Options configures a Store.
type Options struct {
	// RootAccessKey is the root credentials' access key id: no user
	// access key may take it. "" disables the check.
	RootAccessKey string
	// Now returns the current time (expiries, creation times); nil means
	// time.Now.
	Now func() time.Time
	// Keys, when set, seals the store file with a data key of the KMS
	// (AES-256-GCM, a fresh key per write). A plaintext file found at
	// Open is read and at once rewritten sealed; a sealed file cannot be
	// opened without Keys.
	Keys KeySource
}

// Store holds users, access keys, named policies and admin tokens in one
// JSON document in a directory. Reads (Secret, UserPolicies, CheckToken
// and the listings) are lock-free loads of an immutable snapshot; each
// change builds the next snapshot, writes it durably, and only then
// publishes it, one change at a time. A Store is safe for concurrent use.
type Store struct {
	dir  string
	opts Options
	lock *os.File

	writeMu sync.Mutex // serialises changes; held across the file write
	closed  bool       // under writeMu
	snap    atomic.Pointer[state]
}

// state is one immutable snapshot. Records are never modified once
// published: a change replaces them.
type state struct {
	users    map[string]*userRec
	keys     map[string]*keyRec
	policies map[string]*policyRec
	tokens   map[string]*tokenRec
	builtins map[string]*policyRec    // shared by all snapshots
	resolved map[string][]NamedPolicy // enabled users -> attached policies
}

// storeDoc is the file's JSON document.
type storeDoc struct {
	Version    int                   `json:"version"`
	Users      map[string]*userRec   `json:"users"`
	AccessKeys map[string]*keyRec    `json:"accessKeys"`
	Policies   map[string]*policyRec `json:"policies"`
	Tokens     map[string]*tokenRec  `json:"tokens"`
}

type userRec struct {
	Enabled  bool      `json:"enabled"`
	Policies []string  `json:"policies"`
	Created  time.Time `json:"created"`
}

type keyRec struct {
	Secret  string    `json:"secretKey"`
	User    string    `json:"user"`
	Enabled bool      `json:"enabled"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

type policyRec struct {
	Document json.RawMessage `json:"document"`
	Created  time.Time       `json:"created"`
	Updated  time.Time       `json:"updated"`
	policy   *Policy
	builtin  bool
}

type tokenRec struct {
	SHA256  string    `json:"sha256"` // hex SHA-256 of the token's secret part
	Name    string    `json:"name"`
	Scopes  []string  `json:"scopes"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Revoked time.Time `json:"revoked,omitzero"`
	hash    [32]byte
}

// Open opens (creating if needed, mode 0700) the store in dir and loads
// its document. The directory is locked against other processes until
// Close.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("iam: open: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, opts: opts, lock: lock}
	st, plaintext, err := load(context.Background(), filepath.Join(dir, StoreFile), opts.Keys)
	if err != nil {
		lock.Close()
		return nil, err
	}
	st.resolve()
	if plaintext && opts.Keys != nil {
		// Migrate: the secrets must not stay readable on disk a moment
		// longer than needed.
		if err := s.persist(context.Background(), st); err != nil {
			lock.Close()
			return nil, fmt.Errorf("iam: seal the plaintext store: %w", err)
		}
	}
	s.snap.Store(st)
	return s, nil
}

// Sealed reports whether the store file is sealed by the KMS.
func (s *Store) Sealed() bool { return s.opts.Keys != nil }

// Close releases the directory lock. Changes after Close fail with
// ErrClosed; reads keep working on the last snapshot.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.lock.Close()
}

// load reads the store file at path, opening it with keys if it is
// sealed; plaintext reports a plaintext (or absent) file.
func load(ctx context.Context, path string, keys KeySource) (st *state, plaintext bool, err error) {
	st = &state{
		users: map[string]*userRec{}, keys: map[string]*keyRec{},
		policies: map[string]*policyRec{}, tokens: map[string]*tokenRec{},
		builtins: builtinPolicies(),
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("iam: read store: %w", err)
	}
	plaintext = !isSealed(b)
	if !plaintext {
		if b, err = openStore(ctx, keys, b); err != nil {
			return nil, false, fmt.Errorf("%w (file %s)", err, path)
		}
	}
	st, err = decodeStore(st, path, b)
	return st, plaintext, err
}

// decodeStore parses the JSON document b into st, checking its
// invariants.
func decodeStore(st *state, path string, b []byte) (*state, error) {
	var err error
	var doc storeDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStoreFormat, path, err)
	}
	if doc.Version < 1 || doc.Version > StoreVersion {
		return nil, fmt.Errorf("%w: %s: version %d, this build reads 1 to %d", ErrStoreFormat, path, doc.Version, StoreVersion)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrStoreFormat, path, fmt.Sprintf(format, args...))
	}
	for name, p := range doc.Policies {
		if p == nil || !validPolicyName(name) || st.builtins[name] != nil {
			return nil, bad("policy %q: invalid name", name)
		}
		if p.policy, err = parseIdentityPolicy(p.Document); err != nil {
			return nil, bad("policy %q: %v", name, err)
		}
		// The file is indented; keep the document as PutPolicy stored it.
		var compact bytes.Buffer
		if err := json.Compact(&compact, p.Document); err != nil {
			return nil, bad("policy %q: %v", name, err)
		}
		p.Document = compact.Bytes()
		st.policies[name] = p
	}
	for name, u := range doc.Users {
		if u == nil || !validUserName(name) {
			return nil, bad("user %q: invalid name", name)
		}
		for _, p := range u.Policies {
			if st.policies[p] == nil && st.builtins[p] == nil {
				return nil, bad("user %q: attached policy %q does not exist", name, p)
			}
		}
		st.users[name] = u
	}
	for id, k := range doc.AccessKeys {
		if k == nil || !validAccessKeyID(id) || !validSecret(k.Secret) || st.users[k.User] == nil {
			return nil, bad("access key %q: invalid id, secret or owner", id)
		}
		st.keys[id] = k
	}
	for id, t := range doc.Tokens {
		if t == nil || !validTokenID(id) || !decodeTokenHash(t) {
			return nil, bad("admin token %q: invalid id or hash", id)
		}
		st.tokens[id] = t
	}
	return st, nil
}

// Reseal writes the store again unchanged, sealed under a fresh data key
// from the current version of its master key: after a rotation, so that
// the old version may be retired. Without Keys it rewrites the file.
func (s *Store) Reseal(ctx context.Context) error {
	return s.update(ctx, func(*state, time.Time) error { return nil })
}

// update applies fn to a copy of the current snapshot, writes it and
// publishes it. fn must replace records, never modify them: the current
// snapshot is being read concurrently.
func (s *Store) update(ctx context.Context, fn func(st *state, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("iam: %w", err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	cur := s.snap.Load()
	next := &state{
		users: maps.Clone(cur.users), keys: maps.Clone(cur.keys),
		policies: maps.Clone(cur.policies), tokens: maps.Clone(cur.tokens),
		builtins: cur.builtins,
	}
	if err := fn(next, s.opts.Now().UTC()); err != nil {
		return err
	}
	next.resolve()
	if err := s.persist(ctx, next); err != nil {
		return err
	}
	s.snap.Store(next)
	return nil
}

// resolve rebuilds the per-user policy lists the engine reads.
func (st *state) resolve() {
	st.resolved = make(map[string][]NamedPolicy, len(st.users))
	for name, u := range st.users {
		if !u.Enabled {
			continue
		}
		list := make([]NamedPolicy, 0, len(u.Policies))
		for _, p := range u.Policies {
			if rec := st.policy(p); rec != nil {
				list = append(list, NamedPolicy{Name: p, Policy: rec.policy})
			}
		}
		st.resolved[name] = list
	}
}

func (st *state) policy(name string) *policyRec {
	if p := st.builtins[name]; p != nil {
		return p
	}
	return st.policies[name]
}

// persist writes the snapshot, sealed when the store has Keys: a
// temporary file (mode 0600, it holds secret keys), fsync, rename over
// the store file, fsync of the directory. A crash leaves either the old
// or the new document.
func (s *Store) persist(ctx context.Context, st *state) error {
	doc := storeDoc{Version: StoreVersion, Users: st.users, AccessKeys: st.keys, Policies: st.policies, Tokens: st.tokens}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("iam: encode store: %w", err)
	}
	b = append(b, '\n')
	if s.opts.Keys != nil {
		sealed, err := sealStore(ctx, s.opts.Keys, b)
		clear(b) // the plaintext document holds every secret key
		if err != nil {
			return err
		}
		b = sealed
	}
	return writeFileAtomic(s.dir, StoreFile, b)
}

func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("iam: write store: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("iam: write store: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("iam: write store: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("iam: sync store: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("iam: write store: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("iam: replace store: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("iam: sync store directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("iam: sync store directory: %w", err)
	}
	return nil
}

// User is a data identity: it signs S3 requests with its access keys and
// may do what its attached policies allow.
type User struct {
	Name     string
	Enabled  bool
	Policies []string // attached policy names, in attachment order
	Created  time.Time
}

func (u *userRec) export(name string) User {
	return User{Name: name, Enabled: u.Enabled, Policies: slices.Clone(u.Policies), Created: u.Created}
}

// CreateUser creates an enabled user with the named policies attached.
// Names are 1 to 64 characters of A-Z a-z 0-9 + = , . @ _ -, as AWS's.
func (s *Store) CreateUser(ctx context.Context, name string, policies ...string) (User, error) {
	if !validUserName(name) {
		return User{}, fmt.Errorf("%w: user %q", ErrInvalidName, name)
	}
	var out User
	err := s.update(ctx, func(st *state, now time.Time) error {
		if st.users[name] != nil {
			return fmt.Errorf("%w: %q", ErrUserExists, name)
		}
		list, err := checkPolicies(st, nil, policies)
		if err != nil {
			return err
		}
		u := &userRec{Enabled: true, Policies: list, Created: now}
		st.users[name] = u
		out = u.export(name)
		return nil
	})
	return out, err
}

// checkPolicies appends the names in add to list, skipping those already
// there, after checking that each exists.
func checkPolicies(st *state, list, add []string) ([]string, error) {
	out := slices.Clone(list)
	for _, p := range add {
		if st.policy(p) == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoSuchPolicy, p)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// User returns a user.
func (s *Store) User(name string) (User, error) {
	u := s.snap.Load().users[name]
	if u == nil {
		return User{}, fmt.Errorf("%w: %q", ErrNoSuchUser, name)
	}
	return u.export(name), nil
}

// Users returns all users, sorted by name.
func (s *Store) Users() []User {
	st := s.snap.Load()
	out := make([]User, 0, len(st.users))
	for _, name := range slices.Sorted(maps.Keys(st.users)) {
		out = append(out, st.users[name].export(name))
	}
	return out
}

// modifyUser replaces a user's record with fn's change of a copy.
func (s *Store) modifyUser(ctx context.Context, name string, fn func(st *state, u *userRec) error) error {
	return s.update(ctx, func(st *state, _ time.Time) error {
		cur := st.users[name]
		if cur == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchUser, name)
		}
		u := *cur
		if err := fn(st, &u); err != nil {
			return err
		}
		st.users[name] = &u
		return nil
	})
}

// SetUserEnabled enables or disables a user. A disabled user's access
// keys stop working at once (Secret refuses them) and the engine denies
// its requests.
func (s *Store) SetUserEnabled(ctx context.Context, name string, enabled bool) error {
	return s.modifyUser(ctx, name, func(_ *state, u *userRec) error {
		u.Enabled = enabled
		return nil
	})
}

// AttachPolicies attaches policies to a user (already attached ones are
// kept once).
func (s *Store) AttachPolicies(ctx context.Context, user string, policies ...string) error {
	return s.modifyUser(ctx, user, func(st *state, u *userRec) error {
		list, err := checkPolicies(st, u.Policies, policies)
		u.Policies = list
		return err
	})
}

// DetachPolicies detaches policies from a user; names not attached are
// ignored.
func (s *Store) DetachPolicies(ctx context.Context, user string, policies ...string) error {
	return s.modifyUser(ctx, user, func(_ *state, u *userRec) error {
		u.Policies = slices.DeleteFunc(slices.Clone(u.Policies), func(p string) bool { return slices.Contains(policies, p) })
		return nil
	})
}

// SetUserPolicies replaces the list of policies attached to a user.
func (s *Store) SetUserPolicies(ctx context.Context, user string, policies []string) error {
	return s.modifyUser(ctx, user, func(st *state, u *userRec) error {
		list, err := checkPolicies(st, nil, policies)
		u.Policies = list
		return err
	})
}

// DeleteUser deletes a user and all its access keys.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.update(ctx, func(st *state, _ time.Time) error {
		if st.users[name] == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchUser, name)
		}
		delete(st.users, name)
		maps.DeleteFunc(st.keys, func(_ string, k *keyRec) bool { return k.User == name })
		return nil
	})
}

// UserCreated implements IdentitySource.
func (s *Store) UserCreated(user string) time.Time {
	if u := s.snap.Load().users[user]; u != nil {
		return u.Created
	}
	return time.Time{}
}

// UserPolicies implements IdentitySource.
func (s *Store) UserPolicies(user string) ([]NamedPolicy, bool) {
	list, ok := s.snap.Load().resolved[user]
	return list, ok
}

// PolicyInfo describes a named policy.
type PolicyInfo struct {
	Name    string
	Builtin bool // one of the built-in policies, which cannot change
	Policy  *Policy
	// Document is the policy as it was written (compacted).
	Document json.RawMessage
	Created  time.Time
	Updated  time.Time
	// Users lists the users it is attached to, sorted.
	Users []string
}

// PutPolicy creates or replaces a named identity policy (no Principal).
// Users it is attached to get the new version at once. Names are 1 to 128
// characters of A-Z a-z 0-9 + = , . @ _ -.
func (s *Store) PutPolicy(ctx context.Context, name string, doc []byte) (PolicyInfo, error) {
	if !validPolicyName(name) {
		return PolicyInfo{}, fmt.Errorf("%w: policy %q", ErrInvalidName, name)
	}
	p, err := parseIdentityPolicy(doc)
	if err != nil {
		return PolicyInfo{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return PolicyInfo{}, policyErr("", "invalid JSON: %v", err)
	}
	var out PolicyInfo
	err = s.update(ctx, func(st *state, now time.Time) error {
		if st.builtins[name] != nil {
			return fmt.Errorf("%w: %q", ErrBuiltinPolicy, name)
		}
		rec := &policyRec{Document: compact.Bytes(), Created: now, Updated: now, policy: p}
		if old := st.policies[name]; old != nil {
			rec.Created = old.Created
		}
		st.policies[name] = rec
		out = st.policyInfo(name, rec)
		return nil
	})
	return out, err
}

func parseIdentityPolicy(doc []byte) (*Policy, error) {
	p, err := ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	if err := checkIdentityPolicy(p); err != nil {
		return nil, err
	}
	return p, nil
}

func (st *state) policyInfo(name string, rec *policyRec) PolicyInfo {
	info := PolicyInfo{Name: name, Builtin: rec.builtin, Policy: rec.policy, Document: rec.Document,
		Created: rec.Created, Updated: rec.Updated, Users: []string{}}
	for _, u := range slices.Sorted(maps.Keys(st.users)) {
		if slices.Contains(st.users[u].Policies, name) {
			info.Users = append(info.Users, u)
		}
	}
	return info
}

// Policy returns a named policy, built-in or stored.
func (s *Store) Policy(name string) (PolicyInfo, error) {
	st := s.snap.Load()
	rec := st.policy(name)
	if rec == nil {
		return PolicyInfo{}, fmt.Errorf("%w: %q", ErrNoSuchPolicy, name)
	}
	return st.policyInfo(name, rec), nil
}

// Policies returns all policies, built-in ones included, sorted by name.
func (s *Store) Policies() []PolicyInfo {
	st := s.snap.Load()
	names := slices.Sorted(maps.Keys(st.policies))
	names = append(names, slices.Collect(maps.Keys(st.builtins))...)
	slices.Sort(names)
	out := make([]PolicyInfo, 0, len(names))
	for _, n := range names {
		out = append(out, st.policyInfo(n, st.policy(n)))
	}
	return out
}

// DeletePolicy deletes a stored policy; it must first be detached from
// every user (ErrPolicyInUse), so that deleting never silently widens or
// narrows anyone's access.
func (s *Store) DeletePolicy(ctx context.Context, name string) error {
	return s.update(ctx, func(st *state, _ time.Time) error {
		if st.builtins[name] != nil {
			return fmt.Errorf("%w: %q", ErrBuiltinPolicy, name)
		}
		if st.policies[name] == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchPolicy, name)
		}
		for u, rec := range st.users {
			if slices.Contains(rec.Policies, name) {
				return fmt.Errorf("%w: %q is attached to user %q", ErrPolicyInUse, name, u)
			}
		}
		delete(st.policies, name)
		return nil
	})
}

// Built-in policy names.
const (
	PolicyReadWrite = "readwrite"
	PolicyReadOnly  = "readonly"
	PolicyWriteOnly = "writeonly"
)

// builtinPolicies returns the built-in policies: readwrite (every S3
// action), readonly (list and read), writeonly (upload, including
// multipart). They exist in every store and cannot be changed.
func builtinPolicies() map[string]*policyRec {
	docs := map[string]string{
		PolicyReadWrite: `{"Version":"2012-10-17","Statement":[{"Sid":"ReadWrite","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"}]}`,
		PolicyReadOnly: `{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Allow","Action":["s3:ListAllMyBuckets",` +
			`"s3:GetBucketLocation","s3:GetBucketVersioning","s3:ListBucket","s3:ListBucketVersions","s3:GetObject",` +
			`"s3:GetObjectVersion","s3:GetObjectAttributes","s3:GetObjectVersionAttributes"],"Resource":"arn:aws:s3:::*"}]}`,
		PolicyWriteOnly: `{"Version":"2012-10-17","Statement":[{"Sid":"WriteOnly","Effect":"Allow","Action":["s3:GetBucketLocation",` +
			`"s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts","s3:ListBucketMultipartUploads"],` +
			`"Resource":"arn:aws:s3:::*"}]}`,
	}
	out := make(map[string]*policyRec, len(docs))
	for name, doc := range docs {
		p, err := ParsePolicy([]byte(doc))
		if err != nil {
			// The documents are constants checked by the tests; a failure
			// here is a programming error, reported as an empty policy
			// (denying everything) rather than a panic.
			p = &Policy{version: Version2012}
		}
		out[name] = &policyRec{Document: json.RawMessage(doc), policy: p, builtin: true}
	}
	return out
}
