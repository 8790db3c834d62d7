package pkcs11

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/objstore/objstore/kms"
)

// Config names the HSM token and how to log in. It holds the PIN: it
// prints and logs it redacted.
type Config struct {
	// Module is the path of the vendor's PKCS#11 library, for example
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token (the label given when it was
	// initialised).
	TokenLabel string
	// PIN is the user PIN of the token.
	PIN string
	// LabelPrefix is prepended to every object label ("id/vN"), so that
	// several objstore clusters, or other applications, can share a
	// token. Default empty.
	LabelPrefix string
	// Sessions is the number of PKCS#11 sessions kept open, which bounds
	// the concurrent HSM operations (default 4).
	Sessions int
}

func (c Config) validate() error {
	switch {
	case c.Module == "":
		return errors.New("config: Module is empty")
	case c.TokenLabel == "":
		return errors.New("config: TokenLabel is empty")
	case c.Sessions < 0:
		return fmt.Errorf("config: Sessions is %d", c.Sessions)
	case strings.ContainsAny(c.LabelPrefix, "\x00"):
		return errors.New("config: LabelPrefix holds a NUL byte")
	}
	return nil
}

// String redacts the PIN.
func (c Config) String() string {
	pin := "unset"
	if c.PIN != "" {
		pin = "[redacted]"
	}
	return fmt.Sprintf("pkcs11.Config{Module: %q, TokenLabel: %q, PIN: %s, LabelPrefix: %q, Sessions: %d}",
		c.Module, c.TokenLabel, pin, c.LabelPrefix, c.Sessions)
}

// GoString redacts the PIN for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue redacts the PIN in structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("module", c.Module),
		slog.String("token", c.TokenLabel),
		slog.String("pin", "[redacted]"),
		slog.String("label_prefix", c.LabelPrefix),
	)
}

// label returns the object label of id/version.
func (c Config) label(id kms.KeyID, version int) string {
	return fmt.Sprintf("%s%s/v%d", c.LabelPrefix, id, version)
}

// parseLabel is label's inverse; ok is false for objects that are not
// objstore master keys under this prefix.
func (c Config) parseLabel(label string) (id kms.KeyID, version int, ok bool) {
	rest, found := strings.CutPrefix(label, c.LabelPrefix)
	if !found {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "/v")
	if i < 0 {
		return "", 0, false
	}
	id = kms.KeyID(rest[:i])
	if id.Validate() != nil {
		return "", 0, false
	}
	v := 0
	digits := rest[i+2:]
	if digits == "" || len(digits) > 9 || digits[0] == '0' {
		return "", 0, false
	}
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return "", 0, false
		}
		v = v*10 + int(ch-'0')
	}
	return id, v, true
}

func newError(op string, err error) error {
	return &kms.Error{Op: op, Backend: kms.BackendPKCS11.String(), Err: fmt.Errorf("%w: %w", kms.ErrBackend, err)}
}
