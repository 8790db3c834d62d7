package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t *testing.T, dir string, c *clock) *Store {
	t.Helper()
	s, err := Open(dir, Options{Now: c.Now, RootAccessKey: "ROOTACCESSKEY0000000"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const teamPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Team","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::team/*"}]}`

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: fixedNow}
	s := openTest(t, dir, c)
	if _, err := s.PutPolicy(ctx, "team", []byte(teamPolicy)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "alice", "team", PolicyReadOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserEnabled(ctx, "bob", false); err != nil {
		t.Fatal(err)
	}
	k1, err := s.CreateAccessKey(ctx, "alice", AccessKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.CreateAccessKey(ctx, "alice", AccessKeyOptions{ID: "IMPORTEDKEY0000001", Secret: strings.Repeat("s", 40), Expires: fixedNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.MintToken(ctx, TokenOptions{Name: "ci", Scopes: []string{ScopeStatusRead}, Expires: fixedNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	users, keys, policies, tokens := s.Users(), must(s.AccessKeys("")), s.Policies(), s.Tokens()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "carol"); !errors.Is(err, ErrClosed) {
		t.Fatalf("change after Close: %v", err)
	}

	r := openTest(t, dir, c)
	if got := r.Users(); !reflect.DeepEqual(normalise(got), normalise(users)) {
		t.Fatalf("users after reopen\n got %+v\nwant %+v", got, users)
	}
	if got := must(r.AccessKeys("")); !reflect.DeepEqual(normalise(got), normalise(keys)) {
		t.Fatalf("keys after reopen\n got %+v\nwant %+v", got, keys)
	}
	if got := r.Policies(); normalise(got) != normalise(policies) {
		t.Fatalf("policies after reopen\n got %s\nwant %s", normalise(got), normalise(policies))
	}
	if got := r.Tokens(); !reflect.DeepEqual(normalise(got), normalise(tokens)) {
		t.Fatalf("tokens after reopen\n got %+v\nwant %+v", got, tokens)
	}
	for _, k := range []NewAccessKey{k1, k2} {
		if secret, user, ok := r.Secret(k.ID); !ok || secret != k.Secret || user != "alice" {
			t.Fatalf("Secret(%s) after reopen = %v %v", k.ID, user, ok)
		}
	}
	if _, err := r.CheckToken(tok, ScopeStatusRead); err != nil {
		t.Fatalf("token after reopen: %v", err)
	}
	d := NewEngine(r, EngineOptions{}).Authorize(Request{Principal: "alice", Action: "s3:PutObject", Bucket: "team", Key: "x"}, nil)
	if !d.Allowed {
		t.Fatalf("alice after reopen: %+v", d)
	}

	// The file is private, holds no leftovers, and keeps no admin token.
	info, err := os.Stat(filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode %v", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != StoreFile && e.Name() != "LOCK" {
			t.Fatalf("leftover file %s", e.Name())
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, StoreFile))
	if bytes.Contains(raw, []byte(tok[len(tok)-43:])) {
		t.Fatal("store file holds the admin token's secret part")
	}
}

// normalise round-trips through JSON so times compare by value.
func normalise(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestStoreOpenErrors(t *testing.T) {
	tests := []struct {
		name, doc string
	}{
		{"garbage", "{"},
		{"future version", `{"version":99}`},
		{"zero version", `{"users":{}}`},
		{"unknown field", `{"version":1,"groups":{}}`},
		{"key without user", `{"version":1,"accessKeys":{"ABCDEFGHIJKLMNOP":{"secretKey":"` + strings.Repeat("x", 40) + `","user":"ghost","enabled":true}}}`},
		{"missing policy", `{"version":1,"users":{"alice":{"enabled":true,"policies":["nope"]}}}`},
		{"bad policy", `{"version":1,"policies":{"p":{"document":{"Statement":"x"}}}}`},
		{"policy with principal", `{"version":1,"policies":{"p":{"document":{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}}}}`},
		{"shadowing a built-in", `{"version":1,"policies":{"readwrite":{"document":{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}}}}`},
		{"bad token hash", `{"version":1,"tokens":{"0123456789abcdef":{"sha256":"zz"}}}`},
		{"bad user name", `{"version":1,"users":{"a b":{"enabled":true}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, StoreFile), []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrStoreFormat) {
				t.Fatalf("error %v is not ErrStoreFormat", err)
			}
		})
	}
}

func TestStoreLocked(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	dir := t.TempDir()
	s := openTest(t, dir, &clock{t: fixedNow})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("second Open: %v", err)
	}
	s.Close()
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestSecret(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: fixedNow}
	s := openTest(t, t.TempDir(), c)
	must(s.CreateUser(ctx, "alice"))
	must(s.CreateUser(ctx, "bob"))
	forever := must(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{}))
	expiring := must(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{Expires: fixedNow.Add(time.Minute)}))
	bobs := must(s.CreateAccessKey(ctx, "bob", AccessKeyOptions{}))

	if len(forever.ID) != 20 || strings.Trim(forever.ID, upperAlnum) != "" || len(forever.Secret) != 40 || strings.Trim(forever.Secret, alnum) != "" {
		t.Fatalf("generated key %q / secret of %d characters", forever.ID, len(forever.Secret))
	}
	check := func(name, id string, want bool) {
		t.Helper()
		if _, _, ok := s.Secret(id); ok != want {
			t.Fatalf("%s: Secret ok=%v, want %v", name, ok, want)
		}
	}
	check("fresh", forever.ID, true)
	check("expiring", expiring.ID, true)
	check("unknown", "NOSUCHKEY00000000000", false)
	check("root key is not here", "ROOTACCESSKEY0000000", false)

	must(0, s.SetAccessKeyEnabled(ctx, forever.ID, false))
	check("disabled key", forever.ID, false)
	must(0, s.SetAccessKeyEnabled(ctx, forever.ID, true))
	check("re-enabled key", forever.ID, true)

	c.Advance(time.Minute)
	check("expired key", expiring.ID, false)
	if info := must(s.AccessKey(expiring.ID)); !info.Expired(c.Now()) {
		t.Fatal("AccessKeyInfo.Expired is false")
	}

	must(0, s.SetUserEnabled(ctx, "bob", false))
	check("disabled user", bobs.ID, false)
	if _, ok := s.UserPolicies("bob"); ok {
		t.Fatal("UserPolicies of a disabled user")
	}
	must(0, s.DeleteUser(ctx, "alice"))
	check("deleted user's key", forever.ID, false)
	if _, err := s.AccessKey(forever.ID); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("deleted user's key still listed: %v", err)
	}
	must(0, s.DeleteAccessKey(ctx, bobs.ID))
	if err := s.DeleteAccessKey(ctx, bobs.ID); !errors.Is(err, ErrNoSuchAccessKey) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestStoreErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), &clock{t: fixedNow})
	must(s.PutPolicy(ctx, "team", []byte(teamPolicy)))
	must(s.CreateUser(ctx, "alice", "team"))
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"bad user name", second(s.CreateUser(ctx, "a/b")), ErrInvalidName},
		{"long user name", second(s.CreateUser(ctx, strings.Repeat("a", 65))), ErrInvalidName},
		{"duplicate user", second(s.CreateUser(ctx, "alice")), ErrUserExists},
		{"unknown policy on create", second(s.CreateUser(ctx, "bob", "nope")), ErrNoSuchPolicy},
		{"attach unknown", s.AttachPolicies(ctx, "alice", "nope"), ErrNoSuchPolicy},
		{"attach to unknown user", s.AttachPolicies(ctx, "ghost", "team"), ErrNoSuchUser},
		{"key for unknown user", second(s.CreateAccessKey(ctx, "ghost", AccessKeyOptions{})), ErrNoSuchUser},
		{"root key id", second(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{ID: "ROOTACCESSKEY0000000"})), ErrAccessKeyExists},
		{"short key id", second(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{ID: "SHORT"})), ErrInvalidName},
		{"short secret", second(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{Secret: "short"})), ErrInvalidSecret},
		{"secret with space", second(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{Secret: strings.Repeat("a ", 20)})), ErrInvalidSecret},
		{"past expiry", second(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{Expires: fixedNow.Add(-time.Second)})), ErrInvalidExpiry},
		{"policy with principal", second(s.PutPolicy(ctx, "p", []byte(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`))), ErrMalformedPolicy},
		{"bad policy", second(s.PutPolicy(ctx, "p", []byte(`{}`))), ErrMalformedPolicy},
		{"bad policy name", second(s.PutPolicy(ctx, "a b", []byte(teamPolicy))), ErrInvalidName},
		{"replace built-in", second(s.PutPolicy(ctx, PolicyReadWrite, []byte(teamPolicy))), ErrBuiltinPolicy},
		{"delete built-in", s.DeletePolicy(ctx, PolicyReadOnly), ErrBuiltinPolicy},
		{"delete attached", s.DeletePolicy(ctx, "team"), ErrPolicyInUse},
		{"delete unknown policy", s.DeletePolicy(ctx, "nope"), ErrNoSuchPolicy},
		{"unknown user", second(s.User("ghost")), ErrNoSuchUser},
		{"keys of unknown user", second(s.AccessKeys("ghost")), ErrNoSuchUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("error %v, want %v", tt.err, tt.want)
			}
		})
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.CreateUser(ctxDone, "late"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestPolicyChangesApplyAtOnce(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), &clock{t: fixedNow})
	e := NewEngine(s, EngineOptions{})
	must(s.PutPolicy(ctx, "team", []byte(teamPolicy)))
	must(s.CreateUser(ctx, "alice"))
	put := Request{Principal: "alice", Action: "s3:PutObject", Bucket: "team", Key: "k"}
	step := func(name string, want bool) {
		t.Helper()
		if d := e.Authorize(put, nil); d.Allowed != want {
			t.Fatalf("%s: %+v, want allowed=%v", name, d, want)
		}
	}
	step("no policy", false)
	must(0, s.AttachPolicies(ctx, "alice", "team", "team"))
	if u := must(s.User("alice")); !reflect.DeepEqual(u.Policies, []string{"team"}) {
		t.Fatalf("policies %v", u.Policies)
	}
	step("attached", true)
	must(s.PutPolicy(ctx, "team", []byte(strings.Replace(teamPolicy, `"s3:PutObject"`, `"s3:ListBucket"`, 1))))
	step("policy replaced", false)
	must(0, s.SetUserPolicies(ctx, "alice", []string{PolicyWriteOnly}))
	step("write-only built-in", true)
	must(0, s.DetachPolicies(ctx, "alice", PolicyWriteOnly))
	step("detached", false)
	must(0, s.DeletePolicy(ctx, "team"))
	info := must(s.Policy(PolicyReadOnly))
	if !info.Builtin || info.Policy == nil {
		t.Fatalf("built-in %+v", info)
	}
}

func TestBuiltinPolicies(t *testing.T) {
	s := openTest(t, t.TempDir(), &clock{t: fixedNow})
	e := NewEngine(fakeSource{
		"rw": {{PolicyReadWrite, must(s.Policy(PolicyReadWrite)).Policy}},
		"ro": {{PolicyReadOnly, must(s.Policy(PolicyReadOnly)).Policy}},
		"wo": {{PolicyWriteOnly, must(s.Policy(PolicyWriteOnly)).Policy}},
	}, EngineOptions{})
	tests := []struct {
		user, op string
		want     bool
	}{
		{"rw", "ListBuckets", true}, {"rw", "DeleteBucket", true}, {"rw", "PutObject", true},
		{"ro", "ListBuckets", true}, {"ro", "GetObject", true}, {"ro", "ListObjectsV2", true},
		{"ro", "PutObject", false}, {"ro", "DeleteObject", false}, {"ro", "CreateBucket", false},
		{"wo", "PutObject", true}, {"wo", "UploadPart", true}, {"wo", "AbortMultipartUpload", true},
		{"wo", "GetObject", false}, {"wo", "ListObjectsV2", false}, {"wo", "DeleteObject", false},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.op, func(t *testing.T) {
			perms := must(Permissions(tt.op, Target{Bucket: "b", Key: "k"}))
			p := perms[0]
			d := e.Authorize(Request{Principal: tt.user, Action: p.Action, Bucket: p.Bucket, Key: p.Key}, nil)
			if d.Allowed != tt.want {
				t.Fatalf("%+v", d)
			}
		})
	}
}

func TestNewAccessKeyRedacted(t *testing.T) {
	s := openTest(t, t.TempDir(), &clock{t: fixedNow})
	must(s.CreateUser(context.Background(), "alice"))
	k := must(s.CreateAccessKey(context.Background(), "alice", AccessKeyOptions{}))
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("created", "key", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%+v %#v %s %q", k, k, k, k), logged.String()} {
		if strings.Contains(out, k.Secret) {
			t.Fatalf("secret printed: %s", out)
		}
		if !strings.Contains(out, k.ID) {
			t.Fatalf("id not printed: %s", out)
		}
	}
	b, _ := json.Marshal(k)
	if !strings.Contains(string(b), `"secretKey":"`+k.Secret+`"`) {
		t.Fatalf("the one JSON response lacks the secret: %s", b)
	}
}

// TestConcurrency runs readers (Secret, Authorize, CheckToken) against
// writers (keys, policies, users); run it with -race.
func TestConcurrency(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), &clock{t: fixedNow})
	must(s.PutPolicy(ctx, "team", []byte(teamPolicy)))
	must(s.CreateUser(ctx, "alice", "team"))
	key := must(s.CreateAccessKey(ctx, "alice", AccessKeyOptions{}))
	tok, _, err := s.MintToken(ctx, TokenOptions{Name: "t", Scopes: []string{ScopeAuditRead}, Expires: fixedNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(s, EngineOptions{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, ok := s.Secret(key.ID); !ok {
					t.Error("alice's key vanished")
					return
				}
				e.Authorize(Request{Principal: "alice", Action: "s3:GetObject", Bucket: "team", Key: "k"}, nil)
				if _, err := s.CheckToken(tok, ScopeAuditRead); err != nil {
					t.Error(err)
					return
				}
				s.Users()
				runtime.Gosched() // leave the writers CPU on a 2-core machine
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 3 {
		writers.Go(func() {
			for i := range 8 {
				name := fmt.Sprintf("u%d-%d", w, i)
				if _, err := s.CreateUser(ctx, name, "team"); err != nil {
					t.Error(err)
					return
				}
				k, err := s.CreateAccessKey(ctx, name, AccessKeyOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.PutPolicy(ctx, "team", []byte(teamPolicy)); err != nil {
					t.Error(err)
				}
				if err := s.DeleteAccessKey(ctx, k.ID); err != nil {
					t.Error(err)
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if n := len(s.Users()); n != 1+3*8 {
		t.Fatalf("%d users", n)
	}
}
