package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// KeySource hands out data keys sealed by a KMS master key: the server
// adapts its kms.KMS (audit imports nothing of objstore). Implementations
// must be safe for concurrent use.
type KeySource interface {
	// GenerateDataKey returns a fresh 256-bit key and its sealed form,
	// bound to associated.
	GenerateDataKey(ctx context.Context, associated []byte) (plaintext, sealed []byte, err error)
	// UnsealDataKey returns the key sealed in sealed; wrong associated
	// data, a wrong master key or tampered bytes fail.
	UnsealDataKey(ctx context.Context, sealed, associated []byte) ([]byte, error)
}

// AnchorFile is the anchor's name in the log directory. A file that
// Open found not to match the log is kept beside it as
// ANCHOR.mismatch-<unix nanoseconds>, as evidence, until an operator
// removes it.
const AnchorFile = "ANCHOR"

const (
	anchorMismatchPrefix = AnchorFile + ".mismatch-"
	anchorVersion        = 1
	maxAnchorFile        = 8 << 10
	// DefaultAnchorInterval is how often a changed head is anchored.
	DefaultAnchorInterval = 30 * time.Second
)

// anchorAssociated binds the anchor's data key to its use.
var anchorAssociated = []byte("objstore/audit/anchor")

// ErrAnchor: an anchor file that does not parse or authenticate.
var ErrAnchor = errors.New("audit: anchor does not authenticate")

// SignedAnchor is an anchor as stored in AnchorFile: the head (sequence
// number and hash of the last durable record) when it was written, and a
// MAC under a data key the KMS sealed.
type SignedAnchor struct {
	Anchor
	// Time is when the anchor was written.
	Time      time.Time
	sealedKey []byte
	mac       [32]byte
}

// anchorDoc is AnchorFile's JSON form:
//
//	{"v":1,"seq":N,"hash":"<hex>","time":"<RFC 3339>","key":"<base64 sealed data key>","mac":"<hex>"}
//
// mac = HMAC-SHA256(data key, "objstore audit anchor v1" 0x00 seq(u64 BE)
// hash time(unix ns, i64 BE) sealed key).
type anchorDoc struct {
	V    int    `json:"v"`
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Time string `json:"time"`
	Key  string `json:"key"`
	MAC  string `json:"mac"`
}

func anchorMAC(key []byte, a Anchor, t time.Time, sealedKey []byte) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("objstore audit anchor v1\x00"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], a.Seq)
	m.Write(b[:])
	m.Write(a.Hash[:])
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	m.Write(b[:])
	m.Write(sealedKey)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// encodeAnchor renders a signed anchor as AnchorFile's content.
func encodeAnchor(sa SignedAnchor) []byte {
	b, _ := json.Marshal(anchorDoc{V: anchorVersion, Seq: sa.Seq, Hash: hex.EncodeToString(sa.Hash[:]),
		Time: sa.Time.UTC().Format(time.RFC3339Nano), Key: base64.StdEncoding.EncodeToString(sa.sealedKey),
		MAC: hex.EncodeToString(sa.mac[:])})
	return append(b, '\n')
}

// parseAnchor reads AnchorFile's content without authenticating it.
func parseAnchor(b []byte) (SignedAnchor, error) {
	var d anchorDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return SignedAnchor{}, fmt.Errorf("%w: %v", ErrAnchor, err)
	}
	if d.V != anchorVersion {
		return SignedAnchor{}, fmt.Errorf("%w: version %d, this build reads %d", ErrAnchor, d.V, anchorVersion)
	}
	sa := SignedAnchor{Anchor: Anchor{Seq: d.Seq}}
	var err error
	if sa.Time, err = time.Parse(time.RFC3339Nano, d.Time); err != nil {
		return SignedAnchor{}, fmt.Errorf("%w: time: %v", ErrAnchor, err)
	}
	if n, err := hex.Decode(sa.Hash[:], []byte(d.Hash)); err != nil || n != 32 || len(d.Hash) != 64 {
		return SignedAnchor{}, fmt.Errorf("%w: hash is not 64 hex digits", ErrAnchor)
	}
	if n, err := hex.Decode(sa.mac[:], []byte(d.MAC)); err != nil || n != 32 || len(d.MAC) != 64 {
		return SignedAnchor{}, fmt.Errorf("%w: mac is not 64 hex digits", ErrAnchor)
	}
	if sa.sealedKey, err = base64.StdEncoding.DecodeString(d.Key); err != nil || len(sa.sealedKey) == 0 {
		return SignedAnchor{}, fmt.Errorf("%w: sealed key is not base64", ErrAnchor)
	}
	return sa, nil
}

// readAnchor reads and authenticates an anchor file.
func readAnchor(ctx context.Context, keys KeySource, path string) (SignedAnchor, error) {
	f, err := os.Open(path)
	if err != nil {
		return SignedAnchor{}, fmt.Errorf("audit: anchor: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAnchorFile+1))
	if err != nil {
		return SignedAnchor{}, fmt.Errorf("audit: anchor: %w", err)
	}
	if len(b) > maxAnchorFile {
		return SignedAnchor{}, fmt.Errorf("%w: file larger than %d bytes", ErrAnchor, maxAnchorFile)
	}
	sa, err := parseAnchor(b)
	if err != nil {
		return SignedAnchor{}, err
	}
	key, err := keys.UnsealDataKey(ctx, sa.sealedKey, anchorAssociated)
	if err != nil {
		return SignedAnchor{}, fmt.Errorf("%w: its data key does not unseal: %v", ErrAnchor, err)
	}
	defer clear(key)
	want := anchorMAC(key, sa.Anchor, sa.Time, sa.sealedKey)
	if !hmac.Equal(want[:], sa.mac[:]) {
		return SignedAnchor{}, fmt.Errorf("%w: the MAC does not match", ErrAnchor)
	}
	return sa, nil
}

// isAnchorName reports whether a directory entry is an anchor file (or
// its temporary file).
func isAnchorName(name string) bool {
	return name == AnchorFile || strings.HasPrefix(name, anchorMismatchPrefix) || strings.HasPrefix(name, AnchorFile+".tmp-")
}

// startAnchoring takes the data key anchors are MACed with, checks the
// anchor a previous run left against the recovered head (keeping a
// mismatch as evidence), and anchors the head now.
func (l *Log) startAnchoring(ctx context.Context) error {
	key, sealed, err := l.opts.AnchorKeys.GenerateDataKey(ctx, anchorAssociated)
	if err != nil {
		return fmt.Errorf("audit: anchor data key: %w", err)
	}
	l.anchorKey, l.anchorSealed = key, sealed
	l.checkPreviousAnchor(ctx)
	if _, err := l.writeAnchor(); err != nil {
		clear(l.anchorKey)
		return err
	}
	return nil
}

// checkPreviousAnchor compares the anchor on disk with the log as Open
// found it. Open does not fail on a mismatch (the server must run to be
// investigated); the anchor is kept under another name, which Verify
// reports until an operator removes it.
func (l *Log) checkPreviousAnchor(ctx context.Context) {
	path := filepath.Join(l.dir, AnchorFile)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if l.seq > 0 {
			l.opts.Logger.Warn("audit: the log has records but no anchor: anchoring starts now (after an upgrade), or the anchor was deleted",
				"records", l.seq)
		}
		return
	}
	sa, err := readAnchor(ctx, l.opts.AnchorKeys, path)
	problem := ""
	switch {
	case err != nil:
		problem = err.Error()
	case sa.Seq > l.durSeq:
		problem = fmt.Sprintf("the anchor names record %d but the log ends at record %d: its newest records were removed", sa.Seq, l.durSeq)
	case sa.Seq > 0:
		h, found, ferr := recordHash(l.dir, sa.Seq)
		switch {
		case ferr != nil:
			problem = ferr.Error()
		case !found:
			problem = fmt.Sprintf("anchored record %d is not in the log", sa.Seq)
		case h != sa.Hash:
			problem = fmt.Sprintf("record %d does not match its anchored hash: the log was rewritten", sa.Seq)
		}
	}
	if problem == "" {
		return
	}
	keep := anchorMismatchPrefix + strconv.FormatInt(l.opts.Now().UnixNano(), 10)
	if err := os.Rename(path, filepath.Join(l.dir, keep)); err != nil {
		l.opts.Logger.Error("audit: keep the mismatching anchor", "err", err)
	} else {
		_ = syncDir(l.dir)
	}
	l.opts.Logger.Error("audit: THE LOG DOES NOT MATCH ITS ANCHOR; kept as evidence, run `objstore admin audit verify`",
		"problem", problem, "kept", keep)
}

// writeAnchor anchors the durable head in AnchorFile (temporary file,
// fsync, rename, directory fsync), unless it is already anchored.
func (l *Log) writeAnchor() (SignedAnchor, error) {
	l.anchorMu.Lock()
	defer l.anchorMu.Unlock()
	return l.writeAnchorLocked(false)
}

// signAnchorLocked signs an anchor of record seq, now, under the log's
// anchor key (anchorMu held).
func (l *Log) signAnchorLocked(seq uint64, hash [32]byte) SignedAnchor {
	sa := SignedAnchor{Anchor: Anchor{Seq: seq, Hash: hash}, Time: l.opts.Now().UTC(), sealedKey: l.anchorSealed}
	sa.mac = anchorMAC(l.anchorKey, sa.Anchor, sa.Time, sa.sealedKey)
	return sa
}

// writeSynced writes b to f, syncs and closes it: an anchor file is
// whole on disk, or reported not to be.
func writeSynced(f File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeAnchorLocked is writeAnchor with anchorMu held; force writes even
// an unchanged head (under a new key).
func (l *Log) writeAnchorLocked(force bool) (SignedAnchor, error) {
	if l.anchorClosed {
		return SignedAnchor{}, ErrClosed
	}
	seq, hash := l.Head()
	if !force && l.anchored.Seq == seq && l.anchored.Hash == hash && !l.anchored.Time.IsZero() {
		return l.anchored, nil
	}
	sa := l.signAnchorLocked(seq, hash)
	f, err := os.CreateTemp(l.dir, AnchorFile+".tmp-*")
	if err != nil {
		return SignedAnchor{}, fmt.Errorf("audit: anchor: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	err = writeSynced(f, encodeAnchor(sa))
	if err == nil {
		err = os.Rename(tmp, filepath.Join(l.dir, AnchorFile))
	}
	if err != nil {
		return SignedAnchor{}, fmt.Errorf("audit: anchor: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		return SignedAnchor{}, err
	}
	l.anchored = sa
	l.opts.Logger.Debug("audit: head anchored", "seq", seq, "hash", hex.EncodeToString(hash[:]))
	return sa, nil
}

// Anchor syncs the log and anchors its head now; the server anchors
// periodically and at Close on its own. It fails with ErrNoAnchorKeys on
// a log opened without Options.AnchorKeys.
func (l *Log) Anchor(ctx context.Context) (SignedAnchor, error) {
	if l.opts.AnchorKeys == nil {
		return SignedAnchor{}, ErrNoAnchorKeys
	}
	if err := l.Sync(ctx); err != nil {
		return SignedAnchor{}, err
	}
	return l.writeAnchor()
}

// RekeyAnchor takes a new data key from Options.AnchorKeys and anchors
// the head under it now: after a rotation of the master key, so that the
// anchor no longer needs the old version to be checked at the next start.
func (l *Log) RekeyAnchor(ctx context.Context) error {
	if l.opts.AnchorKeys == nil {
		return ErrNoAnchorKeys
	}
	key, sealed, err := l.opts.AnchorKeys.GenerateDataKey(ctx, anchorAssociated)
	if err != nil {
		return fmt.Errorf("audit: anchor data key: %w", err)
	}
	if err := l.Sync(ctx); err != nil {
		clear(key)
		return err
	}
	l.anchorMu.Lock()
	defer l.anchorMu.Unlock()
	if l.anchorClosed {
		clear(key)
		return ErrClosed
	}
	old := l.anchorKey
	l.anchorKey, l.anchorSealed = key, sealed
	clear(old)
	_, err = l.writeAnchorLocked(true)
	return err
}

// ErrNoAnchorKeys: the log was opened without Options.AnchorKeys.
var ErrNoAnchorKeys = errors.New("audit: no anchor keys")

// LastAnchor returns the anchor this process wrote last, from memory: a
// check that survives the anchor file being deleted or replaced while the
// server runs.
func (l *Log) LastAnchor() (SignedAnchor, bool) {
	l.anchorMu.Lock()
	defer l.anchorMu.Unlock()
	return l.anchored, !l.anchored.Time.IsZero()
}

// anchorer anchors the head every AnchorInterval while it changes, and
// at once when a resumed log's gap record is durable.
func (l *Log) anchorer() {
	defer close(l.anchorDone)
	t := time.NewTicker(l.opts.AnchorInterval)
	defer t.Stop()
	for {
		select {
		case <-l.anchorStop:
			return
		case <-t.C:
		case <-l.anchorKick:
		}
		if _, err := l.writeAnchor(); err != nil {
			l.opts.Logger.Error("audit: anchoring the head failed", "err", err)
		}
	}
}

// Verify syncs the log and verifies it (see the package function), with
// the anchor keys it was opened with and the anchor it wrote last.
func (l *Log) Verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	if err := l.Sync(ctx); err != nil {
		return nil, err
	}
	if l.opts.AnchorKeys != nil {
		opts.AnchorKeys = l.opts.AnchorKeys
		if sa, ok := l.LastAnchor(); ok && sa.Seq > 0 {
			opts.Anchors = append(opts.Anchors, sa.Anchor)
		}
	}
	return Verify(ctx, l.dir, opts)
}

// recordHash finds record seq in the log in dir and returns the hash of
// its line. It reads only the file that should hold it.
func recordHash(dir string, seq uint64) (hash [32]byte, found bool, err error) {
	files, _, err := listFiles(dir)
	if err != nil {
		return hash, false, err
	}
	prefix := []byte(`{"v":` + strconv.Itoa(FormatVersion) + `,"seq":` + strconv.FormatUint(seq, 10) + `,`)
	for i := len(files) - 1; i >= 0; i-- {
		if files[i].seq > seq {
			continue
		}
		f, err := os.Open(filePath(dir, files[i]))
		if err != nil {
			return hash, false, fmt.Errorf("audit: %w", err)
		}
		br := bufio.NewReaderSize(f, MaxLineSize+1)
		for {
			line, err := br.ReadSlice('\n')
			if err == nil && bytes.HasPrefix(line, prefix) {
				f.Close()
				return sha256.Sum256(line[:len(line)-1]), true, nil
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = br.ReadSlice('\n')
				}
				continue
			}
			if err != nil {
				break
			}
		}
		f.Close()
		return hash, false, nil // the file that should hold it does not
	}
	return hash, false, nil
}
