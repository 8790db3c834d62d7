package iam

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: fixedNow}
	s := openTest(t, t.TempDir(), c)
	mint := func(scopes []string, ttl time.Duration) (string, TokenInfo) {
		t.Helper()
		tok, info, err := s.MintToken(ctx, TokenOptions{Name: "test", Scopes: scopes, Expires: c.Now().Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
		return tok, info
	}
	idTok, idInfo := mint([]string{ScopeIdentityWrite, ScopeAuditRead}, time.Hour)
	shortTok, _ := mint([]string{ScopeStatusRead}, time.Minute)
	revTok, revInfo := mint([]string{ScopeStatusRead}, time.Hour)
	must(0, s.RevokeToken(ctx, revInfo.ID))
	must(0, s.RevokeToken(ctx, revInfo.ID)) // twice is fine

	if !strings.HasPrefix(idTok, "ost_"+idInfo.ID+"_") || len(idTok) != 4+16+1+43 {
		t.Fatalf("token shape %q", idTok)
	}
	flipped := []byte(idTok)
	if flipped[len(flipped)-5] == 'A' {
		flipped[len(flipped)-5] = 'B'
	} else {
		flipped[len(flipped)-5] = 'A'
	}
	tests := []struct {
		name, token, scope string
		want               error
	}{
		{"exact scope", idTok, ScopeIdentityWrite, nil},
		{"write implies read", idTok, ScopeIdentityRead, nil},
		{"second scope", idTok, ScopeAuditRead, nil},
		{"validity only", idTok, "", nil},
		{"missing scope", idTok, ScopeKMSWrite, ErrInsufficientScope},
		{"read does not imply write", shortTok, "status:write", ErrInsufficientScope},
		{"revoked", revTok, ScopeStatusRead, ErrTokenRevoked},
		{"wrong secret", string(flipped), ScopeIdentityWrite, ErrInvalidToken},
		{"unknown id", "ost_0000000000000000_" + idTok[len(idTok)-43:], "", ErrInvalidToken},
		{"no prefix", strings.TrimPrefix(idTok, "ost_"), "", ErrInvalidToken},
		{"truncated", idTok[:len(idTok)-1], "", ErrInvalidToken},
		{"empty", "", "", ErrInvalidToken},
		{"garbage", "Bearer xyz", "", ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := s.CheckToken(tt.token, tt.scope)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if err == nil && info.ID != idInfo.ID {
				t.Fatalf("info %+v", info)
			}
			if err != nil && strings.Contains(err.Error(), tt.token[min(len(tt.token), 21):]) && len(tt.token) > 21 {
				t.Fatalf("error text %q contains the token's secret", err)
			}
		})
	}

	c.Advance(time.Minute)
	if _, err := s.CheckToken(shortTok, ScopeStatusRead); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := s.CheckToken(idTok, ScopeIdentityWrite); err != nil {
		t.Fatalf("unexpired token: %v", err)
	}

	list := s.Tokens()
	if len(list) != 3 {
		t.Fatalf("%d tokens listed", len(list))
	}
	if got := must(s.Token(revInfo.ID)); got.Revoked.IsZero() {
		t.Fatalf("revoked token listed as %+v", got)
	}
	if err := s.RevokeToken(ctx, "0000000000000000"); !errors.Is(err, ErrNoSuchToken) {
		t.Fatalf("revoke unknown: %v", err)
	}

	// Long-dead tokens are forgotten at the next mint.
	c.Advance(31 * 24 * time.Hour)
	mint([]string{ScopeHealRead}, time.Hour)
	if n := len(s.Tokens()); n != 1 {
		t.Fatalf("%d tokens after pruning, want 1", n)
	}
}

func TestMintTokenErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), &clock{t: fixedNow})
	later := fixedNow.Add(time.Hour)
	tests := []struct {
		name string
		opts TokenOptions
		want error
	}{
		{"no name", TokenOptions{Scopes: []string{ScopeStatusRead}, Expires: later}, ErrInvalidName},
		{"control character", TokenOptions{Name: "a\nb", Scopes: []string{ScopeStatusRead}, Expires: later}, ErrInvalidName},
		{"no scopes", TokenOptions{Name: "x", Expires: later}, ErrInvalidScope},
		{"unknown scope", TokenOptions{Name: "x", Scopes: []string{"objects:read"}, Expires: later}, ErrInvalidScope},
		{"no expiry", TokenOptions{Name: "x", Scopes: []string{ScopeStatusRead}}, ErrInvalidExpiry},
		{"past expiry", TokenOptions{Name: "x", Scopes: []string{ScopeStatusRead}, Expires: fixedNow}, ErrInvalidExpiry},
		{"beyond the longest lifetime", TokenOptions{Name: "x", Scopes: []string{ScopeStatusRead}, Expires: fixedNow.Add(MaxTokenLifetime + time.Second)}, ErrInvalidExpiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.MintToken(ctx, tt.opts); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	if len(s.Tokens()) != 0 {
		t.Fatal("a refused token was stored")
	}
	if _, _, err := s.MintToken(ctx, TokenOptions{Name: "x", Scopes: []string{ScopeStatusRead}, Expires: fixedNow.Add(MaxTokenLifetime)}); err != nil {
		t.Fatalf("a token living exactly MaxTokenLifetime: %v", err)
	}
}

// TestTokenLifetimeCapOnCheck: a token minted before the lifetime cap
// with a later expiry stops working where a new token would.
func TestTokenLifetimeCapOnCheck(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: fixedNow}
	s := openTest(t, t.TempDir(), c)
	tok, info, err := s.MintToken(ctx, TokenOptions{Name: "old", Scopes: []string{ScopeStatusRead}, Expires: c.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// As an older build could have minted it: a year long.
	must(0, s.update(ctx, func(st *state, _ time.Time) error {
		st.tokens[info.ID].Expires = info.Created.Add(365 * 24 * time.Hour)
		return nil
	}))
	c.Advance(MaxTokenLifetime - time.Nanosecond)
	got, err := s.CheckToken(tok, ScopeStatusRead)
	if err != nil {
		t.Fatalf("a nanosecond before the cap: %v", err)
	}
	if want := info.Created.Add(MaxTokenLifetime); !got.Expires.Equal(want) {
		t.Fatalf("shown expiry %s, want the cap %s", got.Expires, want)
	}
	c.Advance(time.Nanosecond)
	if _, err := s.CheckToken(tok, ScopeStatusRead); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("at the cap: %v, want ErrTokenExpired", err)
	}
}
