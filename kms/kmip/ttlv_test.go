package kmip

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "|", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTTLVSpecExamples: the encoding examples of the KMIP 1.4
// specification, section 9.1.2, byte for byte, both ways.
func TestTTLVSpecExamples(t *testing.T) {
	bigInt := unhex(t, "0000000003FD35EB6BC2DF4618080000")
	tests := []struct {
		name string
		it   item
		wire string
	}{
		{"Integer8", integer(0x420020, 8), "420020 | 02 | 00000004 | 00000008 00000000"},
		{"LongInteger", item{tag: 0x420020, typ: typeLongInteger, num: 123456789000000000}, "420020 | 03 | 00000008 | 01B69B4BA5749200"},
		{"BigInteger", item{tag: 0x420020, typ: typeBigInteger, bytes: bigInt}, "420020 | 04 | 00000010 | 0000000003FD35EB6BC2DF4618080000"},
		{"Enumeration255", enum(0x420020, 255), "420020 | 05 | 00000004 | 000000FF 00000000"},
		{"BooleanTrue", boolean(0x420020, true), "420020 | 06 | 00000008 | 0000000000000001"},
		{"TextHelloWorld", text(0x420020, "Hello World"), "420020 | 07 | 0000000B | 48656C6C6F20576F726C64 0000000000"},
		{"ByteString", byteString(0x420020, []byte{1, 2, 3}), "420020 | 08 | 00000003 | 010203 0000000000"},
		{"DateTime", item{tag: 0x420020, typ: typeDateTime, num: time.Date(2008, 3, 14, 11, 56, 40, 0, time.UTC).Unix()}, "420020 | 09 | 00000008 | 0000000047DA67F8"},
		{"Interval10Days", item{tag: 0x420020, typ: typeInterval, num: 864000}, "420020 | 0A | 00000004 | 000D2F00 00000000"},
		{"Structure", structure(0x420020, enum(0x420004, 254), integer(0x420005, 255)),
			"420020 | 01 | 00000020 | 420004 | 05 | 00000004 | 000000FE 00000000 | 420005 | 02 | 00000004 | 000000FF 00000000"},
		{"EmptyText", text(0x420055, ""), "420055 | 07 | 00000000"},
		{"NegativeInteger", integer(0x420020, -1), "420020 | 02 | 00000004 | FFFFFFFF 00000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.wire)
			if got := tc.it.encode(); !bytes.Equal(got, want) {
				t.Fatalf("encode = %x, want %x", got, want)
			}
			back, err := decode(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.encode(), want) || back.num != tc.it.num || !bytes.Equal(back.bytes, tc.it.bytes) {
				t.Fatalf("decode = %+v, want %+v", back, tc.it)
			}
		})
	}
}

func TestTTLVRejects(t *testing.T) {
	tests := []struct {
		name string
		wire string
	}{
		{"Empty", ""},
		{"ShortHeader", "42002002000000"},
		{"LengthPastEnd", "420020 | 07 | 00000010 | 4142434445464748"},
		{"PaddingMissing", "420020 | 07 | 00000003 | 414243"},
		{"NonzeroPadding", "420020 | 07 | 00000003 | 414243 0000000001"},
		{"IntegerLength", "420020 | 02 | 00000008 | 0000000000000008"},
		{"BooleanTwo", "420020 | 06 | 00000008 | 0000000000000002"},
		{"BigIntegerOdd", "420020 | 04 | 00000003 | 010203 0000000000"},
		{"TextNotUTF8", "420020 | 07 | 00000002 | FFFE 000000000000"},
		{"UnknownType", "420020 | 0B | 00000000"},
		{"Trailing", "420020 | 07 | 00000000 | 00"},
		{"ChildPastParent", "420020 | 01 | 00000008 | 420004 | 05 | 00000004 | 000000FE 00000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if it, err := decode(unhex(t, tc.wire)); !errors.Is(err, errTTLV) {
				t.Fatalf("decode = %+v, %v; want errTTLV", it, err)
			}
		})
	}
	// Nesting is bounded.
	deep := text(0x420055, "x")
	for range maxDepth + 1 {
		deep = structure(0x420020, deep)
	}
	if _, err := decode(deep.encode()); !errors.Is(err, errTTLV) {
		t.Fatalf("nesting of %d accepted: %v", maxDepth+2, err)
	}
}

// TestTTLVRoundTrip: random trees encode and decode back to themselves.
func TestTTLVRoundTrip(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var gen func(depth int) item
	gen = func(depth int) item {
		tg := tag(0x420000 + rng.IntN(0x200))
		switch k := rng.IntN(9); {
		case k == 0 && depth < 5:
			s := structure(tg)
			for range rng.IntN(5) {
				s.children = append(s.children, gen(depth+1))
			}
			return s
		case k == 1:
			return integer(tg, int32(rng.Uint32()))
		case k == 2:
			return item{tag: tg, typ: typeLongInteger, num: int64(rng.Uint64())}
		case k == 3:
			return enum(tg, rng.Uint32())
		case k == 4:
			return boolean(tg, rng.IntN(2) == 1)
		case k == 5:
			return text(tg, strings.Repeat("é", rng.IntN(20)))
		case k == 6:
			b := make([]byte, rng.IntN(40))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return byteString(tg, b)
		case k == 7:
			return item{tag: tg, typ: typeDateTime, num: int64(rng.Uint64())}
		default:
			return item{tag: tg, typ: typeInterval, num: int64(rng.Uint32())}
		}
	}
	for range 500 {
		it := gen(0)
		b := it.encode()
		if len(b)%8 != 0 {
			t.Fatalf("encoding of %d bytes is not 8-aligned", len(b))
		}
		back, err := decode(b)
		if err != nil {
			t.Fatalf("decode(%x): %v", b, err)
		}
		if !bytes.Equal(back.encode(), b) {
			t.Fatalf("round trip changed %x", b)
		}
	}
}

// response builds a response message around one batch item.
func response(batch ...item) []byte {
	return structure(tagResponseMessage,
		structure(tagResponseHeader,
			structure(tagProtocolVersion, integer(tagProtocolVersionMajor, 1), integer(tagProtocolVersionMinor, 4)),
			item{tag: tagTimeStamp, typ: typeDateTime, num: 1},
			integer(tagBatchCount, 1),
		),
		structure(tagBatchItem, batch...),
	).encode()
}

func TestParseResponse(t *testing.T) {
	ok := response(enum(tagOperation, opDecrypt), enum(tagResultStatus, statusSuccess),
		structure(tagResponsePayload, text(tagUniqueIdentifier, "7"), byteString(tagData, []byte("pt"))))
	p, err := parseResponse(opDecrypt, ok)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := p.childBytes(tagData); string(d) != "pt" {
		t.Fatalf("payload data %q", d)
	}
	if _, err := parseResponse(opEncrypt, ok); !errors.Is(err, errTTLV) {
		t.Errorf("response for another operation: %v", err)
	}
	failed := response(enum(tagOperation, opDecrypt), enum(tagResultStatus, statusOperationFailed),
		enum(tagResultReason, reasonCryptographicFailed), text(tagResultMessage, "bad tag"))
	_, err = parseResponse(opDecrypt, failed)
	var re *ResultError
	if !errors.As(err, &re) || re.Reason != reasonCryptographicFailed || re.Operation != "Decrypt" ||
		err.Error() != "kmip: Decrypt failed: Cryptographic Failure: bad tag" {
		t.Fatalf("failure: %v", err)
	}
	noStatus := response(enum(tagOperation, opDecrypt))
	if _, err := parseResponse(opDecrypt, noStatus); !errors.Is(err, errTTLV) {
		t.Errorf("response without status: %v", err)
	}
}

// TestRequestGolden pins the bytes of a request: a Locate by name.
func TestRequestGolden(t *testing.T) {
	got := request(opLocate, structure(tagRequestPayload, nameAttribute("k/v1")))
	want := unhex(t, ""+
		"420078 01 000000A0"+ // Request Message
		"420077 01 00000038"+ // Request Header
		"420069 01 00000020"+ // Protocol Version
		"42006A 02 00000004 00000001 00000000"+
		"42006B 02 00000004 00000004 00000000"+
		"42000D 02 00000004 00000001 00000000"+ // Batch Count
		"42000F 01 00000058"+ // Batch Item
		"42005C 05 00000004 00000008 00000000"+ // Operation Locate
		"420079 01 00000040"+ // Request Payload
		"420008 01 00000038"+ // Attribute
		"42000A 07 00000004 4E616D65 00000000"+ // "Name"
		"42000B 01 00000020"+ // Attribute Value
		"420055 07 00000004 6B2F7631 00000000"+ // "k/v1"
		"420054 05 00000004 00000001 00000000") // Uninterpreted Text String
	if !bytes.Equal(got, want) {
		t.Fatalf("request\n%x\nwant\n%x", got, want)
	}
}

func FuzzDecodeTTLV(f *testing.F) {
	f.Add(structure(0x420020, enum(0x420004, 254), integer(0x420005, 255)).encode())
	f.Add(request(opLocate, structure(tagRequestPayload, nameAttribute("k/v1"))))
	f.Add(response(enum(tagOperation, opDecrypt), enum(tagResultStatus, statusOperationFailed),
		enum(tagResultReason, reasonGeneralFailure), text(tagResultMessage, "failed")))
	f.Add(text(0x420020, "Hello World").encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decode(b)
		if err == nil {
			if !bytes.Equal(it.encode(), b) {
				t.Fatalf("accepted %x but encodes to %x", b, it.encode())
			}
		} else if !errors.Is(err, errTTLV) {
			t.Fatalf("error %v does not match errTTLV", err)
		}
		// The response parser runs on the same bytes without panicking.
		_, _ = parseResponse(opDecrypt, b)
	})
}
