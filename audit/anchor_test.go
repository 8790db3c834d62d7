package audit

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKMS seals data keys with AES-GCM under a master key, as the
// server's adapter over kms.KMS does.
type fakeKMS struct {
	master [32]byte
	down   atomic.Bool
}

var errKMSDown = errors.New("fake kms: unreachable")

func newFakeKMS(t testing.TB) *fakeKMS {
	k := &fakeKMS{}
	if _, err := rand.Read(k.master[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *fakeKMS) aead() cipher.AEAD {
	b, _ := aes.NewCipher(k.master[:])
	a, _ := cipher.NewGCM(b)
	return a
}

func (k *fakeKMS) GenerateDataKey(_ context.Context, associated []byte) ([]byte, []byte, error) {
	if k.down.Load() {
		return nil, nil, errKMSDown
	}
	key, nonce := make([]byte, 32), make([]byte, 12)
	rand.Read(key)
	rand.Read(nonce)
	return key, k.aead().Seal(nonce, nonce, key, associated), nil
}

func (k *fakeKMS) UnsealDataKey(_ context.Context, sealed, associated []byte) ([]byte, error) {
	if k.down.Load() {
		return nil, errKMSDown
	}
	if len(sealed) < 12 {
		return nil, errors.New("fake kms: short blob")
	}
	return k.aead().Open(nil, sealed[:12], sealed[12:], associated)
}

// anchoredLog writes n records over several files with anchoring on and
// closes the log, which anchors the last record.
func anchoredLog(t *testing.T, k *fakeKMS, n int) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, Options{MaxFileSize: 4 << 10, AnchorKeys: k, Now: (&clock{t: t0}).Now})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func anchorIssues(rep *Report) []string {
	var out []string
	for _, is := range rep.Issues {
		if is.Kind == IssueAnchor {
			out = append(out, is.String())
		}
	}
	return out
}

// TestAnchorDetects: truncating the tail or rewriting the whole chain
// consistently passes the chain check, and the anchor catches both; so
// do a forged, deleted or foreign anchor.
func TestAnchorDetects(t *testing.T) {
	k := newFakeKMS(t)
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		keys   KeySource
		want   string // in an anchor issue; "" for none
	}{
		{"untouched", func(*testing.T, string) {}, k, ""},
		{"tail truncated", func(t *testing.T, dir string) {
			ll := readLog(t, dir)
			last := len(ll.names) - 1
			ll.lines[last] = ll.lines[last][:len(ll.lines[last])-2] // the two newest records, at a line boundary
			ll.write(t)
		}, k, "its newest records were removed"},
		{"last file deleted", func(t *testing.T, dir string) {
			ll := readLog(t, dir)
			os.Remove(filepath.Join(dir, ll.names[len(ll.names)-1]))
		}, k, "its newest records were removed"},
		{"whole chain rewritten", func(t *testing.T, dir string) {
			ll := readLog(t, dir)
			f, i := ll.find(t, 5)
			ll.lines[f][i] = strings.Replace(ll.lines[f][i], `"status":200`, `"status":403`, 1)
			ll.rechain(t, 5) // consistent from record 5 on: only the anchor knows
			ll.write(t)
		}, k, "does not match its anchored hash"},
		{"anchor forged to the rewritten head", func(t *testing.T, dir string) {
			ll := readLog(t, dir)
			f, i := ll.find(t, 5)
			ll.lines[f][i] = strings.Replace(ll.lines[f][i], `"status":200`, `"status":403`, 1)
			ll.rechain(t, 5)
			ll.write(t)
			b, _ := os.ReadFile(filepath.Join(dir, AnchorFile))
			sa, err := parseAnchor(b)
			if err != nil {
				t.Fatal(err)
			}
			sa.Hash = ll.record(t, sa.Seq).Hash // the MAC cannot follow without the key
			os.WriteFile(filepath.Join(dir, AnchorFile), encodeAnchor(sa), 0o600)
		}, k, "the MAC does not match"},
		{"anchor deleted", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, AnchorFile))
		}, k, "no anchor file"},
		{"anchor garbled", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, AnchorFile), []byte("{not json"), 0o600)
		}, k, "anchor does not authenticate"},
		{"another KMS", func(*testing.T, string) {}, newFakeKMS(t), "does not unseal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := anchoredLog(t, k, 40)
			tc.tamper(t, dir)
			rep := mustVerify(t, dir, VerifyOptions{AnchorKeys: tc.keys})
			issues := anchorIssues(rep)
			if tc.want == "" {
				if !rep.OK() || rep.Anchor == nil || rep.Anchor.Seq != 40 || len(rep.Ignored) != 0 {
					t.Fatalf("untouched log: ok=%v anchor=%+v issues=%v ignored=%v", rep.OK(), rep.Anchor, rep.Issues, rep.Ignored)
				}
				return
			}
			if rep.OK() || !strings.Contains(strings.Join(issues, "\n"), tc.want) {
				t.Fatalf("want an anchor issue with %q; ok=%v issues=%v", tc.want, rep.OK(), rep.Issues)
			}
			if tc.name == "tail truncated" || tc.name == "whole chain rewritten" {
				// The chain alone cannot tell.
				if rep := mustVerify(t, dir, VerifyOptions{}); !rep.OK() {
					t.Fatalf("without the anchor the %s log should look intact: %v", tc.name, rep.Issues)
				}
			}
		})
	}
}

// TestAnchorOpenKeepsEvidence: a log truncated while the server was down
// is found at Open; the old anchor is kept, the new head anchored, and
// Verify keeps reporting the kept anchor until it is removed.
func TestAnchorOpenKeepsEvidence(t *testing.T) {
	k := newFakeKMS(t)
	dir := anchoredLog(t, k, 30)
	ll := readLog(t, dir)
	last := len(ll.names) - 1
	ll.lines[last] = ll.lines[last][:len(ll.lines[last])-3]
	ll.write(t)

	var logs bytes.Buffer
	l := openLog(t, dir, Options{AnchorKeys: k, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "DOES NOT MATCH ITS ANCHOR") {
		t.Fatalf("Open did not report the mismatch: %s", logs.String())
	}
	kept, _ := filepath.Glob(filepath.Join(dir, anchorMismatchPrefix+"*"))
	if len(kept) != 1 {
		t.Fatalf("kept anchors: %v", kept)
	}
	if sa, ok := l.LastAnchor(); !ok || sa.Seq != 27 {
		t.Fatalf("new anchor %+v %v", sa, ok)
	}
	appendN(t, l, 100, 3)
	rep, err := l.Verify(context.Background(), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issues := strings.Join(anchorIssues(rep), "\n")
	// Records 28 to 30 were cut, then written again by the reopened log:
	// the kept anchor's record 30 now has another hash.
	if rep.OK() || !strings.Contains(issues, "kept as evidence") || !strings.Contains(issues, "does not match its anchored hash") {
		t.Fatalf("issues: %v", rep.Issues)
	}
	os.Remove(kept[0])
	if rep, _ := l.Verify(context.Background(), VerifyOptions{}); !rep.OK() {
		t.Fatalf("after removing the evidence: %v", rep.Issues)
	}
}

// TestAnchorOnline: the running log's own check uses the anchor it holds
// in memory, so deleting or rolling back the anchor file is caught.
func TestAnchorOnline(t *testing.T) {
	k := newFakeKMS(t)
	dir := t.TempDir()
	l := openLog(t, dir, Options{AnchorKeys: k})
	appendN(t, l, 0, 5)
	old, err := os.ReadFile(filepath.Join(dir, AnchorFile))
	if err != nil {
		t.Fatal(err)
	}
	if sa, _ := parseAnchor(old); sa.Seq != 0 {
		t.Fatalf("the anchor written at Open names record %d", sa.Seq)
	}
	appendN(t, l, 5, 5)
	sa, err := l.Anchor(context.Background())
	if err != nil || sa.Seq != 10 {
		t.Fatalf("Anchor: %+v %v", sa, err)
	}
	rep, err := l.Verify(context.Background(), VerifyOptions{})
	if err != nil || !rep.OK() || rep.Anchor == nil || rep.Anchor.Seq != 10 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// Roll the anchor file back to the one of the empty log: alone it
	// would pass; the anchor in memory still names record 10.
	os.WriteFile(filepath.Join(dir, AnchorFile), old, 0o600)
	if rep, _ := mustVerifyLog(t, l); !rep.OK() {
		t.Fatalf("a rolled-back anchor alone is consistent with the log: %v", rep.Issues)
	}
	ll := readLog(t, dir)
	ll.lines[0] = ll.lines[0][:8] // and cut the tail the old anchor does not cover
	ll.write(t)
	rep, _ = mustVerifyLog(t, l)
	if rep.OK() || !strings.Contains(strings.Join(anchorIssues(rep), "\n"), "newest records were removed") {
		t.Fatalf("truncation behind a rolled-back anchor: %v", rep.Issues)
	}
}

func mustVerifyLog(t *testing.T, l *Log) (*Report, error) {
	t.Helper()
	rep, err := l.Verify(context.Background(), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep, err
}

// TestAnchorDurableOnly: an anchor never names a record that a crash
// could still lose.
func TestAnchorDurableOnly(t *testing.T) {
	k := newFakeKMS(t)
	dir := t.TempDir()
	l := openLog(t, dir, Options{AnchorKeys: k, FlushInterval: time.Hour})
	appendN(t, l, 0, 3) // pending: the flusher waits an hour
	sa, err := l.writeAnchor()
	if err != nil {
		t.Fatal(err)
	}
	if seq, _ := l.Head(); sa.Seq != seq || sa.Seq != 0 {
		t.Fatalf("anchored record %d, durable head %d", sa.Seq, seq)
	}
	if sa, err = l.Anchor(context.Background()); err != nil || sa.Seq != 3 {
		t.Fatalf("Anchor after Sync: %+v %v", sa, err)
	}
}

// TestAnchorPeriodic: a changed head is anchored every AnchorInterval.
func TestAnchorPeriodic(t *testing.T) {
	k := newFakeKMS(t)
	dir := t.TempDir()
	l := openLog(t, dir, Options{AnchorKeys: k, AnchorInterval: 5 * time.Millisecond})
	appendN(t, l, 0, 4)
	deadline := time.Now().Add(5 * time.Second)
	for {
		sa, err := readAnchor(context.Background(), k, filepath.Join(dir, AnchorFile))
		if err == nil && sa.Seq == 4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the head was not anchored: %+v %v", sa, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAnchorKMSDown(t *testing.T) {
	k := newFakeKMS(t)
	k.down.Store(true)
	if _, err := Open(t.TempDir(), Options{AnchorKeys: k}); !errors.Is(err, errKMSDown) {
		t.Fatalf("Open with the KMS down: %v", err)
	}
	l := openLog(t, t.TempDir(), Options{})
	if _, err := l.Anchor(context.Background()); !errors.Is(err, ErrNoAnchorKeys) {
		t.Fatalf("Anchor without keys: %v", err)
	}
}

// FuzzParseAnchor: any anchor file content parses or fails with
// ErrAnchor, and what parses re-encodes to a file that parses the same.
func FuzzParseAnchor(f *testing.F) {
	k := newFakeKMS(f)
	key, sealed, _ := k.GenerateDataKey(context.Background(), anchorAssociated)
	sa := SignedAnchor{Anchor: Anchor{Seq: 7, Hash: [32]byte{1, 2}}, Time: t0, sealedKey: sealed}
	sa.mac = anchorMAC(key, sa.Anchor, sa.Time, sa.sealedKey)
	f.Add(encodeAnchor(sa))
	f.Add([]byte(`{"v":1,"seq":1,"hash":"","time":"","key":"","mac":""}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseAnchor(b)
		if err != nil {
			if !errors.Is(err, ErrAnchor) {
				t.Fatalf("error %v is not ErrAnchor", err)
			}
			return
		}
		again, err := parseAnchor(encodeAnchor(got))
		if err != nil || again.Anchor != got.Anchor || !again.Time.Equal(got.Time) || again.mac != got.mac || !bytes.Equal(again.sealedKey, got.sealedKey) {
			t.Fatalf("round trip: %+v %v, from %+v", again, err, got)
		}
	})
}
