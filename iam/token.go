package iam

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Admin token scopes. A token holding "<area>:write" also holds
// "<area>:read".
const (
	ScopeStatusRead    = "status:read"    // cluster, zones, drives, health
	ScopeBucketsRead   = "buckets:read"   // bucket settings, quotas, usage
	ScopeBucketsWrite  = "buckets:write"  // create buckets, change settings and quotas
	ScopeIdentityRead  = "identity:read"  // users, access keys (never secrets), policies
	ScopeIdentityWrite = "identity:write" // create, disable, delete them
	ScopeKMSRead       = "kms:read"       // key status
	ScopeKMSWrite      = "kms:write"      // create, rotate, shred
	ScopeHealRead      = "heal:read"      // heal progress
	ScopeHealWrite     = "heal:write"     // start and stop heals
	ScopeAuditRead     = "audit:read"     // query, export and verify the audit log
	ScopeMetricsRead   = "metrics:read"   // scrape /metrics (Prometheus)
)

// Scopes returns every scope a token may hold, sorted.
func Scopes() []string {
	return []string{
		ScopeAuditRead, ScopeBucketsRead, ScopeBucketsWrite, ScopeHealRead, ScopeHealWrite,
		ScopeIdentityRead, ScopeIdentityWrite, ScopeKMSRead, ScopeKMSWrite, ScopeMetricsRead,
		ScopeStatusRead,
	}
}

// MaxTokenLifetime bounds how far in the future an admin token may
// expire. A token is a bearer credential: one that leaks keeps working
// until it expires or someone notices and revokes it, so tokens must be
// minted again at least this often.
const MaxTokenLifetime = 90 * 24 * time.Hour

// tokenPrefix starts every admin token, so that secret scanners and
// people recognise one.
const tokenPrefix = "ost_"

// TokenInfo describes an admin token, without the token itself.
type TokenInfo struct {
	ID      string // 16 hex digits, public: it appears in audit records
	Name    string // what it is for
	Scopes  []string
	Created time.Time
	Expires time.Time
	Revoked time.Time // zero unless revoked
}

// Has reports whether the token holds scope; a write scope implies the
// read scope of the same area.
func (t TokenInfo) Has(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
		if area, ok := strings.CutSuffix(s, ":write"); ok && scope == area+":read" {
			return true
		}
	}
	return false
}

// TokenOptions are the settings of a new admin token.
type TokenOptions struct {
	// Name says what the token is for: 1 to 128 printable characters.
	Name string
	// Scopes are the management areas it may use; at least one of
	// Scopes().
	Scopes []string
	// Expires is required, must be in the future and at most
	// MaxTokenLifetime ahead: no token lives forever.
	Expires time.Time
}

// MintToken creates an admin token and returns it; only its SHA-256 is
// stored, so this is the one time it can be shown. The admin API must let
// only the root credentials call it.
//
// A token is "ost_" + 16 hex digits of id + "_" + 43 base64url
// characters of 256 random bits. Because the secret part has full
// entropy, a plain SHA-256 is enough to store it: there is nothing for a
// slow password hash to protect against, since guessing 2^256 values is
// out of reach either way, and CheckToken stays fast.
//
// Tokens expired or revoked for more than 30 days are forgotten when a
// new one is minted, so the store does not grow without bound.
func (s *Store) MintToken(ctx context.Context, opts TokenOptions) (string, TokenInfo, error) {
	if opts.Name == "" || len(opts.Name) > 128 || strings.IndexFunc(opts.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return "", TokenInfo{}, fmt.Errorf("%w: token name must be 1 to 128 printable characters", ErrInvalidName)
	}
	if len(opts.Scopes) == 0 {
		return "", TokenInfo{}, fmt.Errorf("%w: a token needs at least one scope", ErrInvalidScope)
	}
	known := Scopes()
	for _, sc := range opts.Scopes {
		if !slices.Contains(known, sc) {
			return "", TokenInfo{}, fmt.Errorf("%w: %q", ErrInvalidScope, sc)
		}
	}
	var idBytes [8]byte
	var secret [32]byte
	rand.Read(idBytes[:]) // never fails (crypto/rand, Go 1.24+)
	rand.Read(secret[:])
	id := hex.EncodeToString(idBytes[:])
	secretPart := base64.RawURLEncoding.EncodeToString(secret[:])
	hash := sha256.Sum256([]byte(secretPart))
	var info TokenInfo
	err := s.update(ctx, func(st *state, now time.Time) error {
		if !opts.Expires.After(now) {
			return fmt.Errorf("%w: token expiry must be in the future", ErrInvalidExpiry)
		}
		if opts.Expires.Sub(now) > MaxTokenLifetime {
			return fmt.Errorf("%w: token expiry must be at most %d days ahead", ErrInvalidExpiry, MaxTokenLifetime/(24*time.Hour))
		}
		if st.tokens[id] != nil {
			return fmt.Errorf("iam: token id collision, retry")
		}
		maps.DeleteFunc(st.tokens, func(_ string, t *tokenRec) bool {
			end := t.expires()
			if !t.Revoked.IsZero() && t.Revoked.Before(end) {
				end = t.Revoked
			}
			return now.Sub(end) > 30*24*time.Hour
		})
		rec := &tokenRec{SHA256: hex.EncodeToString(hash[:]), Name: opts.Name, Scopes: slices.Clone(opts.Scopes),
			Created: now, Expires: opts.Expires.UTC(), hash: hash}
		st.tokens[id] = rec
		info = rec.info(id)
		return nil
	})
	if err != nil {
		return "", TokenInfo{}, err
	}
	return tokenPrefix + id + "_" + secretPart, info, nil
}

func (t *tokenRec) info(id string) TokenInfo {
	return TokenInfo{ID: id, Name: t.Name, Scopes: slices.Clone(t.Scopes), Created: t.Created, Expires: t.expires(), Revoked: t.Revoked}
}

// expires is when the token stops working: its expiry, or for one minted
// before MaxTokenLifetime with a later expiry, where a new token would
// end.
func (t *tokenRec) expires() time.Time {
	if limit := t.Created.Add(MaxTokenLifetime); t.Expires.After(limit) {
		return limit
	}
	return t.Expires
}

// Tokens lists the admin tokens, revoked and expired ones included,
// sorted by id.
func (s *Store) Tokens() []TokenInfo {
	st := s.snap.Load()
	out := make([]TokenInfo, 0, len(st.tokens))
	for _, id := range slices.Sorted(maps.Keys(st.tokens)) {
		out = append(out, st.tokens[id].info(id))
	}
	return out
}

// Token describes one admin token.
func (s *Store) Token(id string) (TokenInfo, error) {
	t := s.snap.Load().tokens[id]
	if t == nil {
		return TokenInfo{}, fmt.Errorf("%w: %q", ErrNoSuchToken, id)
	}
	return t.info(id), nil
}

// RevokeToken revokes an admin token at once; revoking twice is not an
// error. The record stays, so that its use is refused as revoked.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.update(ctx, func(st *state, now time.Time) error {
		cur := st.tokens[id]
		if cur == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchToken, id)
		}
		if !cur.Revoked.IsZero() {
			return nil
		}
		t := *cur
		t.Revoked = now
		st.tokens[id] = &t
		return nil
	})
}

// CheckToken authenticates an admin token and checks that it holds
// scope ("" checks only that it is valid). Errors, in order:
// ErrInvalidToken (malformed, unknown or wrong: one error for all, and
// the hash comparison is constant-time), ErrTokenRevoked,
// ErrTokenExpired, ErrInsufficientScope. Only a caller holding the
// genuine token learns that it was revoked or expired.
func (s *Store) CheckToken(token, scope string) (TokenInfo, error) {
	id, secretPart, ok := splitToken(token)
	st := s.snap.Load()
	rec := st.tokens[id]
	want := [32]byte{}
	if rec != nil {
		want = rec.hash
	}
	got := sha256.Sum256([]byte(secretPart))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ok || rec == nil {
		return TokenInfo{}, ErrInvalidToken
	}
	info := rec.info(id)
	switch {
	case !rec.Revoked.IsZero():
		return info, fmt.Errorf("%w: token %s", ErrTokenRevoked, id)
	case !s.opts.Now().Before(rec.expires()):
		return info, fmt.Errorf("%w: token %s expired %s", ErrTokenExpired, id, rec.expires().Format(time.RFC3339))
	case scope != "" && !info.Has(scope):
		return info, fmt.Errorf("%w: token %s lacks %s", ErrInsufficientScope, id, scope)
	}
	return info, nil
}

// splitToken parses "ost_<16 hex>_<43 base64url>".
func splitToken(token string) (id, secretPart string, ok bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secretPart, ok = strings.Cut(rest, "_")
	if !ok || !validTokenID(id) || len(secretPart) != 43 {
		return "", "", false
	}
	return id, secretPart, true
}

func validTokenID(id string) bool {
	return len(id) == 16 && onlyChars(id, "0123456789abcdef")
}

// decodeTokenHash fills t.hash from its hex form.
func decodeTokenHash(t *tokenRec) bool {
	b, err := hex.DecodeString(t.SHA256)
	if err != nil || len(b) != len(t.hash) {
		return false
	}
	copy(t.hash[:], b)
	return true
}
