//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/objstore/objstore/kms"
)

// TestOneRefusedKeyDoesNotStopOthers: the HSM refuses one key (its object
// does not permit encryption: CKR_KEY_FUNCTION_NOT_PERMITTED). That is
// ErrKeyDisabled, the key's failure: before, it was ErrBackend, the
// outage breaker took it for the whole HSM being down, and calls for
// other keys failed at once while the refused key was in use.
func TestOneRefusedKeyDoesNotStopOthers(t *testing.T) {
	cfg := softhsm(t)
	cfg.LabelPrefix = "refused-key:"
	h := openHSM(t, cfg)
	defer h.Close()
	ctx := context.Background()
	if err := kms.EnsureKey(ctx, h, "good"); err != nil {
		t.Fatal(err)
	}
	// "bad" exists but the token will not encrypt with it.
	err := h.h.withSession(ctx, func(s p11.SessionHandle) error {
		tmpl := append(h.h.aesKeyTemplate(),
			p11.NewAttribute(p11.CKA_VALUE_LEN, 32),
			p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true),
			p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
			p11.NewAttribute(p11.CKA_ENCRYPT, false),
			p11.NewAttribute(p11.CKA_DECRYPT, false),
			p11.NewAttribute(p11.CKA_LABEL, cfg.label("bad", 1)),
			p11.NewAttribute(p11.CKA_ID, encodeCreated(time.Now())),
		)
		_, err := h.h.p.GenerateKey(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, tmpl)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.GenerateDataKey(ctx, "bad", nil)
	t.Logf("GenerateDataKey(bad): %v", err)
	if err == nil {
		t.Fatal("the token encrypted with a key that does not permit it")
	}
	good, err := h.GenerateDataKey(ctx, "good", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}

	// The refused key is the key's failure, not the HSM's.
	if _, err := h.GenerateDataKey(ctx, "bad", nil); !errors.Is(err, kms.ErrKeyDisabled) || errors.Is(err, kms.ErrBackend) {
		t.Fatalf("GenerateDataKey(bad): %v, want ErrKeyDisabled only", err)
	}
	// A call for the good key is in the HSM (here: waiting for its
	// session, as a call on a busy token does) while another tenant's
	// call for the good key comes: both are served once the sessions
	// free up, neither is refused as if the HSM were down.
	var held []p11.SessionHandle
	for range cap(h.h.sessions) {
		held = append(held, <-h.h.sessions)
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := h.Unseal(ctx, good.Sealed, []byte("x"))
			errs <- err
		}()
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range held {
		h.h.sessions <- s
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Unseal of a key the HSM serves, after another key was refused: %v", err)
		}
	}
}
