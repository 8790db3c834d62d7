package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FormatVersion is the record format version written in every line ("v").
const FormatVersion = 1

// MaxLineSize bounds one encoded record; field limits keep real records
// far below it, so a longer line is damage, not data.
const MaxLineSize = 64 << 10

// Field limits in bytes. Longer values are cut on a character boundary
// and end with "…", so that an oversized request is still recorded.
const (
	maxKey    = 1024 // S3's key limit
	maxReason = 512
	maxShort  = 256 // every other string field
)

// Identities. An identity is one of:
//
//	root                 the root credentials
//	user:<name>          a user (AccessKey names the key it signed with)
//	admin-token:<id>     an admin token, by its public id
//	anonymous            an unsigned request
const (
	Root      = "root"
	Anonymous = "anonymous"
)

// User returns the identity of a user.
func User(name string) string { return "user:" + name }

// AdminToken returns the identity of an admin token, by its public id.
func AdminToken(id string) string { return "admin-token:" + id }

// validIdentity reports whether s is one of the identity forms.
func validIdentity(s string) bool {
	switch {
	case s == Root, s == Anonymous:
		return true
	case strings.HasPrefix(s, "user:"):
		return len(s) > len("user:")
	case strings.HasPrefix(s, "admin-token:"):
		return len(s) > len("admin-token:")
	}
	return false
}

// Entry is what a caller records about one request. It has explicit
// fields only, and no place for headers, bodies or credentials: an access
// key id is public, its secret has nowhere to go.
type Entry struct {
	// Identity is who made the request: Root, Anonymous, User(name) or
	// AdminToken(id). Append refuses anything else.
	Identity string
	// AccessKey is the access key id the request was signed with, if any.
	AccessKey string
	// Source is the client's address ("ip:port" or "ip").
	Source string
	// Action is the S3 operation ("PutObject") or the admin endpoint
	// ("admin:CreateUser").
	Action string
	// Bucket and Key name the resource, when there is one.
	Bucket, Key string
	// Status is the HTTP status of the response.
	Status int
	// Error is the S3 or admin error code ("AccessDenied"), "" on success.
	Error string
	// RequestID is the request's id, as sent to the client.
	RequestID string
	// BytesIn and BytesOut count the request and response bodies.
	BytesIn, BytesOut int64
	// Reason says why, for denials: the authorization decision
	// ("denied by statement ... of policy ..."); for admin changes, also
	// what the change was about (its target and non-secret parameters).
	Reason string
}

// Record is one line of the log: an Entry with its place in the chain.
type Record struct {
	Entry
	// Seq numbers records from 1, without gaps, across files.
	Seq uint64
	// Time is when the log appended the record (UTC); it never goes
	// backwards within a log.
	Time time.Time
	// Prev is the SHA-256 of the previous record's line (zero for the
	// first record).
	Prev [32]byte
	// Hash is the SHA-256 of this record's line; not stored in the line,
	// it is the next record's Prev.
	Hash [32]byte
	// era is the log's era when Append returned the record, nil for one
	// read from a file: Log.Sync tells by it whether a stop lost it.
	era *era
}

// sanitize makes an entry's strings valid UTF-8, shortens what the
// reason quotes (shortenReason) and cuts every string to its limit.
func (e *Entry) sanitize() {
	fields := []struct {
		s   *string
		max int
	}{
		{&e.Identity, maxShort}, {&e.AccessKey, maxShort}, {&e.Source, maxShort}, {&e.Action, maxShort},
		{&e.Bucket, maxShort}, {&e.Key, maxKey}, {&e.Error, maxShort}, {&e.RequestID, maxShort}, {&e.Reason, maxReason},
	}
	for _, f := range fields {
		*f.s = strings.ToValidUTF8(*f.s, "\uFFFD")
	}
	e.Reason = shortenReason(e.Reason, e.Key)
	for _, f := range fields {
		*f.s = limit(*f.s, f.max)
	}
}

// Quoting limits in a reason, in bytes.
const (
	// maxQuotedKey is how much of the request's key a reason keeps: a
	// denial's reason names the resource ARN, and repeating a 1,024-byte
	// key there doubled the size of the record an anonymous client can
	// make the server write. The whole key is in its own field.
	maxQuotedKey = 64
	// maxReasonWord bounds any other run without a space (another key's
	// ARN, a copy source). Longer than an ARN with a bucket name (63)
	// and a key cut to maxQuotedKey, so those stay whole.
	maxReasonWord = 192
)

// shortenReason cuts what a reason quotes: the key, where it is longer
// than maxQuotedKey, and any other word longer than maxReasonWord, each
// to its first bytes followed by "…(N bytes)", N its full length. The
// key is matched whole first because keys may hold spaces.
func shortenReason(reason, key string) string {
	if len(key) > maxQuotedKey && strings.Contains(reason, key) {
		reason = strings.ReplaceAll(reason, key, elide(key, maxQuotedKey))
	}
	if len(reason) <= maxReasonWord {
		return reason
	}
	var b strings.Builder
	for i, w := range strings.Split(reason, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		if len(w) > maxReasonWord {
			w = elide(w, maxReasonWord-len("…(99999 bytes)"))
		}
		b.WriteString(w)
	}
	return b.String()
}

// elide keeps the first n bytes of s (on a character boundary) and
// says how long s was.
func elide(s string, n int) string {
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// limit cuts s to at most max bytes on a character boundary, marking the
// cut with "…".
func limit(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// appendLine appends the canonical encoding of r (without newline): a
// JSON object with every field, always in this order, strings escaped one
// way only. The chain hashes these exact bytes, and Verify refuses lines
// that are not in this form, so a line has one meaning for every reader.
//
//	{"v":1,"seq":42,"time":"2025-06-15T12:00:00.123456789Z",
//	 "identity":"user:alice","accessKey":"AK…","source":"192.0.2.7:51234",
//	 "action":"PutObject","bucket":"photos","key":"2025/cat.jpg",
//	 "status":200,"error":"","requestId":"17F…","bytesIn":1048576,
//	 "bytesOut":0,"reason":"","prev":"<64 hex digits>"}
func appendLine(b []byte, r *Record) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, FormatVersion, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, `,"time":"`...)
	b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "identity", r.Identity)
	b = appendField(b, "accessKey", r.AccessKey)
	b = appendField(b, "source", r.Source)
	b = appendField(b, "action", r.Action)
	b = appendField(b, "bucket", r.Bucket)
	b = appendField(b, "key", r.Key)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = appendField(b, "error", r.Error)
	b = appendField(b, "requestId", r.RequestID)
	b = append(b, `,"bytesIn":`...)
	b = strconv.AppendInt(b, r.BytesIn, 10)
	b = append(b, `,"bytesOut":`...)
	b = strconv.AppendInt(b, r.BytesOut, 10)
	b = appendField(b, "reason", r.Reason)
	b = append(b, `,"prev":"`...)
	b = hex.AppendEncode(b, r.Prev[:])
	return append(b, `"}`...)
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":`...)
	return appendString(b, value)
}

// appendString writes a JSON string: '"' and '\' escaped, control
// characters as \u00XX, everything else (valid UTF-8) as is.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// lineJSON is a line as encoding/json reads it.
type lineJSON struct {
	V         int    `json:"v"`
	Seq       uint64 `json:"seq"`
	Time      string `json:"time"`
	Identity  string `json:"identity"`
	AccessKey string `json:"accessKey"`
	Source    string `json:"source"`
	Action    string `json:"action"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	Status    int    `json:"status"`
	Error     string `json:"error"`
	RequestID string `json:"requestId"`
	BytesIn   int64  `json:"bytesIn"`
	BytesOut  int64  `json:"bytesOut"`
	Reason    string `json:"reason"`
	Prev      string `json:"prev"`
}

// errNotCanonical: the line decodes but is not the canonical encoding of
// what it decodes to.
var errNotCanonical = errors.New("audit: line is not in canonical form")

// parseLine decodes one line (without newline). The record's hash is
// that of its canonical encoding; with strict, the line must be exactly
// that encoding (so that the hash is the hash of the line as stored).
func parseLine(line []byte, strict bool) (Record, error) {
	var j lineJSON
	if err := json.Unmarshal(line, &j); err != nil {
		return Record{}, fmt.Errorf("audit: decode record: %w", err)
	}
	if j.V != FormatVersion {
		return Record{}, fmt.Errorf("audit: record format version %d, this build reads %d", j.V, FormatVersion)
	}
	t, err := time.Parse(time.RFC3339Nano, j.Time)
	if err != nil {
		return Record{}, fmt.Errorf("audit: record time: %w", err)
	}
	r := Record{
		Entry: Entry{Identity: j.Identity, AccessKey: j.AccessKey, Source: j.Source, Action: j.Action,
			Bucket: j.Bucket, Key: j.Key, Status: j.Status, Error: j.Error, RequestID: j.RequestID,
			BytesIn: j.BytesIn, BytesOut: j.BytesOut, Reason: j.Reason},
		Seq: j.Seq, Time: t.UTC(),
	}
	if n, err := hex.Decode(r.Prev[:], []byte(j.Prev)); err != nil || n != len(r.Prev) || len(j.Prev) != 2*len(r.Prev) {
		return Record{}, fmt.Errorf("audit: record prev hash %q is not 64 hex digits", j.Prev)
	}
	var buf [1024]byte
	canonical := appendLine(buf[:0], &r)
	r.Hash = sha256.Sum256(canonical)
	if strict && !bytes.Equal(canonical, line) {
		return r, errNotCanonical
	}
	return r, nil
}

// MarshalJSON returns the record's canonical line: the form stored,
// exported and hashed (prev included, the record's own hash not).
func (r Record) MarshalJSON() ([]byte, error) {
	return appendLine(nil, &r), nil
}

// UnmarshalJSON reads a record line, also one that passed through another
// JSON encoder (escaping differently); Hash is recomputed from the
// canonical form.
func (r *Record) UnmarshalJSON(b []byte) error {
	rec, err := parseLine(b, false)
	if err != nil {
		return err
	}
	*r = rec
	return nil
}
