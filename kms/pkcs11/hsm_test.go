//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/objstore/objstore/kms"
	"github.com/objstore/objstore/kms/kmstest"
)

// The SoftHSM2 token every test of the package shares, set up once by
// softhsm and removed by TestMain.
var token struct {
	once sync.Once
	dir  string
	cfg  Config
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if token.dir != "" {
		os.RemoveAll(token.dir)
	}
	os.Exit(code)
}

// modulePaths are where Debian's softhsm2 package puts the module.
var modulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
}

// softhsm returns the configuration of a fresh SoftHSM2 token, initialised
// by softhsm2-util the way an operator would. Without SoftHSM2 the test is
// skipped loudly, or fails when CI is set.
func softhsm(t testing.TB) Config {
	t.Helper()
	module := ""
	for _, p := range modulePaths {
		if _, err := os.Stat(p); err == nil {
			module = p
			break
		}
	}
	_, utilErr := exec.LookPath("softhsm2-util")
	if module == "" || utilErr != nil {
		msg := "SKIPPING PKCS#11 TESTS: SoftHSM2 is not installed (Debian package softhsm2: apt-get install softhsm2)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI is set, so this is a failure")
		}
		t.Skip(msg)
	}
	token.once.Do(func() {
		dir, err := os.MkdirTemp("", "objstore-softhsm-")
		if err != nil {
			token.err = err
			return
		}
		token.dir = dir
		tokens := filepath.Join(dir, "tokens")
		conf := filepath.Join(dir, "softhsm2.conf")
		if err := os.Mkdir(tokens, 0o700); err != nil {
			token.err = err
			return
		}
		text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			token.err = err
			return
		}
		// The module reads SOFTHSM2_CONF when it is initialised; the
		// whole test binary uses this one token.
		os.Setenv("SOFTHSM2_CONF", conf)
		out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "objstore-test",
			"--pin", "1234", "--so-pin", "5678").CombinedOutput()
		if err != nil {
			token.err = fmt.Errorf("softhsm2-util --init-token: %v: %s", err, out)
			return
		}
		token.cfg = Config{Module: module, TokenLabel: "objstore-test", PIN: "1234"}
	})
	if token.err != nil {
		t.Fatal(token.err)
	}
	return token.cfg
}

func openHSM(t testing.TB, cfg Config) *HSM {
	t.Helper()
	h, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return h
}

func TestSuite(t *testing.T) {
	cfg := softhsm(t)
	kmstest.Run(t, kmstest.Harness{
		Backend: "pkcs11",
		Open:    func(t testing.TB) kms.KMS { return openHSM(t, cfg) },
	})
}

// TestKeyStaysInHSM checks the attributes that keep a master key inside
// the token, and that the token refuses to reveal it.
func TestKeyStaysInHSM(t *testing.T) {
	cfg := softhsm(t)
	cfg.LabelPrefix = "attr:"
	h := openHSM(t, cfg)
	defer h.Close()
	ctx := context.Background()
	if err := h.CreateKey(ctx, "sealed-in"); err != nil {
		t.Fatal(err)
	}
	if err := h.RotateKey(ctx, "sealed-in"); err != nil {
		t.Fatal(err)
	}
	k, err := h.h.lookup(ctx, "sealed-in")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.handles) != 2 || k.current != 2 {
		t.Fatalf("%d objects, current v%d; want v1 and v2", len(k.handles), k.current)
	}
	err = h.h.withSession(ctx, func(s p11.SessionHandle) error {
		objs := []p11.ObjectHandle{k.handles[1], k.handles[2]}
		var labels []string
		for _, o := range objs {
			attrs, err := h.h.p.GetAttributeValue(s, o, []*p11.Attribute{
				p11.NewAttribute(p11.CKA_EXTRACTABLE, nil),
				p11.NewAttribute(p11.CKA_SENSITIVE, nil),
				p11.NewAttribute(p11.CKA_NEVER_EXTRACTABLE, nil),
				p11.NewAttribute(p11.CKA_ALWAYS_SENSITIVE, nil),
				p11.NewAttribute(p11.CKA_TOKEN, nil),
				p11.NewAttribute(p11.CKA_PRIVATE, nil),
				p11.NewAttribute(p11.CKA_WRAP, nil),
				p11.NewAttribute(p11.CKA_LABEL, nil),
			})
			if err != nil {
				return err
			}
			want := []byte{0, 1, 1, 1, 1, 1, 0}
			for i, w := range want {
				if !bytes.Equal(attrs[i].Value, []byte{w}) {
					return fmt.Errorf("attribute %#x = %v, want %d", attrs[i].Type, attrs[i].Value, w)
				}
			}
			labels = append(labels, string(attrs[7].Value))
			if _, err := h.h.p.GetAttributeValue(s, o, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)}); !isCode(err, p11.CKR_ATTRIBUTE_SENSITIVE) {
				return fmt.Errorf("reading CKA_VALUE: %v, want CKR_ATTRIBUTE_SENSITIVE", err)
			}
		}
		if strings.Join(labels, ",") != "attr:sealed-in/v1,attr:sealed-in/v2" && strings.Join(labels, ",") != "attr:sealed-in/v2,attr:sealed-in/v1" {
			return fmt.Errorf("labels %v", labels)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Keys under another prefix are invisible.
	other := cfg
	other.LabelPrefix = "other:"
	h.Close()
	h2 := openHSM(t, other)
	defer h2.Close()
	if _, err := h2.Status(ctx, "sealed-in"); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("key under another prefix: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	cfg := softhsm(t)
	ctx := context.Background()
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"WrongPIN", func(c *Config) { c.PIN = "0000" }, "CKR_PIN_INCORRECT"},
		{"NoSuchToken", func(c *Config) { c.TokenLabel = "nope" }, `no token labelled "nope"`},
		{"NoSuchModule", func(c *Config) { c.Module = "/nonexistent/libpkcs11.so" }, "cannot load"},
		{"NoModule", func(c *Config) { c.Module = "" }, "Module is empty"},
		{"NoToken", func(c *Config) { c.TokenLabel = "" }, "TokenLabel is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.mod(&c)
			h, err := Open(ctx, c)
			if err == nil {
				h.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, kms.ErrBackend) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBackend containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), c.PIN) && c.PIN != "" {
				t.Errorf("error holds the PIN: %v", err)
			}
		})
	}
	// A failed Open leaves the module usable.
	openHSM(t, cfg).Close()
}

func TestParseLabel(t *testing.T) {
	c := Config{LabelPrefix: "p:"}
	for _, tc := range []struct {
		label   string
		id      kms.KeyID
		version int
		ok      bool
	}{
		{"p:default/v1", "default", 1, true},
		{"p:a.b-c/v123", "a.b-c", 123, true},
		{"p:a/v1/v2", "", 0, false}, // id "a/v1" is invalid
		{"default/v1", "", 0, false},
		{"p:default/v0", "", 0, false},
		{"p:default/v01", "", 0, false},
		{"p:default/v", "", 0, false},
		{"p:default/vx", "", 0, false},
		{"p:default/v9999999999", "", 0, false},
		{"p:/v1", "", 0, false},
	} {
		t.Run(tc.label, func(t *testing.T) {
			id, v, ok := c.parseLabel(tc.label)
			if ok != tc.ok || id != tc.id || v != tc.version {
				t.Fatalf("parseLabel = %q %d %v, want %q %d %v", id, v, ok, tc.id, tc.version, tc.ok)
			}
			if ok && c.label(id, v) != tc.label {
				t.Fatalf("label(%s, %d) = %s", id, v, c.label(id, v))
			}
		})
	}
}

func TestConfigRedaction(t *testing.T) {
	c := Config{Module: "m", TokenLabel: "t", PIN: "SECRET-PIN-42"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", c)
	for _, s := range []string{buf.String(), fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c)} {
		if strings.Contains(s, "SECRET-PIN-42") {
			t.Errorf("PIN leaked: %s", s)
		}
	}
}

func BenchmarkPKCS11(b *testing.B) {
	cfg := softhsm(b)
	kmstest.Bench(b, func(tb testing.TB) kms.KMS { return openHSM(tb, cfg) })
}
