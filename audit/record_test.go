package audit

import (
	"crypto/sha256"
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var t0 = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func TestCanonicalLineGolden(t *testing.T) {
	r := Record{Seq: 7, Time: t0.Add(123456789 * time.Nanosecond),
		Entry: Entry{Identity: User("alice"), AccessKey: "AKEXAMPLE0000000000A", Source: "192.0.2.7:51234", Action: "PutObject",
			Bucket: "photos", Key: "a \"quoted\" \\ key\n\x01€", Status: 200, RequestID: "17F0A", BytesIn: 1048576}}
	r.Prev[0] = 0xab
	got := string(appendLine(nil, &r))
	want := `{"v":1,"seq":7,"time":"2025-06-15T12:00:00.123456789Z","identity":"user:alice","accessKey":"AKEXAMPLE0000000000A",` +
		`"source":"192.0.2.7:51234","action":"PutObject","bucket":"photos","key":"a \"quoted\" \\ key\u000a\u0001€","status":200,` +
		`"error":"","requestId":"17F0A","bytesIn":1048576,"bytesOut":0,"reason":"","prev":"ab` + strings.Repeat("0", 62) + `"}`
	if got != want {
		t.Fatalf("line\n got %s\nwant %s", got, want)
	}
	back, err := parseLine([]byte(got), true)
	if err != nil {
		t.Fatal(err)
	}
	r.Hash = sha256.Sum256([]byte(got))
	if back != r {
		t.Fatalf("parsed\n got %+v\nwant %+v", back, r)
	}
}

func randomString(rng *rand.Rand, n int) string {
	pool := []rune{'a', 'Z', '0', '/', ' ', '"', '\\', '\n', '\t', 0, 0x1f, 0x7f, 'é', '€', '𝄞', 0x2028, '<', '&'}
	var b strings.Builder
	for range rng.Intn(n + 1) {
		b.WriteRune(pool[rng.Intn(len(pool))])
	}
	return b.String()
}

// TestEncodeParseRoundTrip: every sanitized entry encodes to a line that
// parses strictly back to the same record.
func TestEncodeParseRoundTrip(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for i := range 5000 {
		e := Entry{Identity: User(randomString(rng, 8)), AccessKey: randomString(rng, 4), Source: randomString(rng, 6),
			Action: randomString(rng, 6), Bucket: randomString(rng, 6), Key: randomString(rng, 1100), Status: rng.Intn(600),
			Error: randomString(rng, 5), RequestID: randomString(rng, 5), BytesIn: rng.Int63(), BytesOut: -rng.Int63n(5),
			Reason: randomString(rng, 600)}
		if rng.Intn(4) == 0 {
			e.Key += "\xff\xfe" // invalid UTF-8
		}
		e.sanitize()
		r := Record{Entry: e, Seq: rng.Uint64(), Time: t0.Add(time.Duration(rng.Int63n(int64(1e18))))}
		rng.Read(r.Prev[:])
		line := appendLine(nil, &r)
		if len(line) > MaxLineSize {
			t.Fatalf("case %d: line of %d bytes", i, len(line))
		}
		back, err := parseLine(line, true)
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, line)
		}
		r.Hash = sha256.Sum256(line)
		if back != r {
			t.Fatalf("case %d: round trip\n got %+v\nwant %+v", i, back, r)
		}
		if !json.Valid(line) {
			t.Fatalf("case %d: not JSON: %s", i, line)
		}
	}
}

func TestSanitizeLimits(t *testing.T) {
	e := Entry{Key: strings.Repeat("€", 1000), Bucket: strings.Repeat("b", 300), Reason: "bad \xff byte"}
	e.sanitize()
	if len(e.Key) > maxKey || !utf8.ValidString(e.Key) || !strings.HasSuffix(e.Key, "…") {
		t.Fatalf("key cut to %d bytes, valid %v", len(e.Key), utf8.ValidString(e.Key))
	}
	if len(e.Bucket) > maxShort || !strings.HasSuffix(e.Bucket, "…") {
		t.Fatalf("bucket %d bytes", len(e.Bucket))
	}
	if e.Reason != "bad \uFFFD byte" {
		t.Fatalf("reason %q", e.Reason)
	}
}

// TestSanitizeReasonQuotes: a reason quoting a long key or another long
// name keeps a short marked prefix of it; the key keeps its own field
// whole, so an anonymous denial of a 1,024-byte key costs one copy of
// the key, not two.
func TestSanitizeReasonQuotes(t *testing.T) {
	long := strings.Repeat("k", 1024)
	spaced := strings.Repeat("a b ", 100)
	other := "arn:aws:s3:::src/" + strings.Repeat("€", 300)
	tests := []struct {
		name, key, reason string
		want              string // "" : unchanged
	}{
		{"short key kept", "cat.jpg", "no statement allows s3:DeleteObject on arn:aws:s3:::photos/cat.jpg", ""},
		{"long key cut", long, "no statement allows s3:DeleteObject on arn:aws:s3:::secret/" + long,
			"no statement allows s3:DeleteObject on arn:aws:s3:::secret/" + long[:maxQuotedKey] + "…(1024 bytes)"},
		{"key with spaces cut whole", spaced, "no statement allows s3:PutObject on arn:aws:s3:::b/" + spaced + " today",
			"no statement allows s3:PutObject on arn:aws:s3:::b/" + spaced[:maxQuotedKey] + "…(400 bytes) today"},
		{"another long name cut", "k", "denied reading " + other + " for copy",
			"denied reading " + other[:176] + "…(917 bytes) for copy"},
		{"no key quoted", long, "denied by statement 1 of the bucket policy", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Entry{Key: tt.key, Reason: tt.reason}
			e.sanitize()
			want := tt.want
			if want == "" {
				want = tt.reason
			}
			if e.Reason != want || e.Key != tt.key {
				t.Fatalf("reason %q (%d bytes), key %d bytes; want %q", e.Reason, len(e.Reason), len(e.Key), want)
			}
			if !utf8.ValidString(e.Reason) {
				t.Fatalf("reason not UTF-8: %q", e.Reason)
			}
		})
	}

	// The record of the audit's reproduction: an anonymous DELETE of a
	// 1,024-byte key. It took 1,884 bytes when the reason repeated the key.
	e := Entry{Identity: Anonymous, Source: "192.0.2.7", Action: "DeleteObject", Bucket: "secret", Key: long, Status: 403,
		Error: "AccessDenied", RequestID: "18A2B3C4D5E6F708", Reason: "no statement allows s3:DeleteObject on arn:aws:s3:::secret/" + long}
	e.sanitize()
	if n := len(appendLine(nil, &Record{Entry: e, Seq: 1 << 40, Time: t0})); n > len(long)+512 {
		t.Fatalf("record of an anonymous denial of a 1,024-byte key: %d bytes", n)
	}
}

func TestParseLineRejects(t *testing.T) {
	good := string(appendLine(nil, &Record{Seq: 1, Time: t0, Entry: Entry{Identity: Root}}))
	tests := []struct{ name, line string }{
		{"not JSON", "{"},
		{"other version", strings.Replace(good, `"v":1`, `"v":2`, 1)},
		{"bad time", strings.Replace(good, "2025-06-15T12:00:00Z", "yesterday", 1)},
		{"short prev", strings.Replace(good, `"prev":"00`, `"prev":"`, 1)},
		{"zone offset", strings.Replace(good, "12:00:00Z", "12:00:00+00:00", 1)},
		{"extra space", strings.Replace(good, `"seq":1`, `"seq": 1`, 1)},
		{"escaped letter", strings.Replace(good, `"root"`, `"r\u006fot"`, 1)},
		{"upper-case name", strings.Replace(good, `"seq"`, `"SEQ"`, 1)},
		{"extra field", strings.Replace(good, `"v":1,`, `"v":1,"x":0,`, 1)},
		{"duplicate field", strings.Replace(good, `"v":1,`, `"v":1,"seq":9,`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseLine([]byte(tt.line), true); err == nil {
				t.Fatalf("accepted %s", tt.line)
			}
		})
	}
}

// FuzzParseLine: parsing never panics, and a strictly accepted line is
// exactly the encoding of what it parses to.
func FuzzParseLine(f *testing.F) {
	f.Add(appendLine(nil, &Record{Seq: 1, Time: t0, Entry: Entry{Identity: Root, Key: "k\n\"x"}}))
	f.Add([]byte(`{"v":1,"seq":18446744073709551615,"time":"2025-01-01T00:00:00Z","prev":""}`))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := parseLine(line, true)
		if err != nil {
			return
		}
		if got := appendLine(nil, &r); string(got) != string(line) {
			t.Fatalf("accepted %q, which encodes as %q", line, got)
		}
		if r.Hash != sha256.Sum256(line) {
			t.Fatal("hash is not the line's SHA-256")
		}
	})
}

func TestRecordJSON(t *testing.T) {
	r := Record{Seq: 3, Time: t0, Entry: Entry{Identity: Anonymous, Key: "<a&b>", Status: 403, Error: "AccessDenied"}}
	line := appendLine(nil, &r)
	r.Hash = sha256.Sum256(line)
	// Inside another document, encoding/json escapes <, > and &.
	b, err := json.Marshal(map[string][]Record{"records": {r}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `\u003ca\u0026b\u003e`) {
		t.Fatalf("expected HTML escaping in %s", b)
	}
	var back map[string][]Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := back["records"][0]; got != r {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, r)
	}
}
