package kmip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ttlvType is the one-byte type of a TTLV item.
type ttlvType byte

const (
	typeStructure   ttlvType = 0x01
	typeInteger     ttlvType = 0x02
	typeLongInteger ttlvType = 0x03
	typeBigInteger  ttlvType = 0x04
	typeEnumeration ttlvType = 0x05
	typeBoolean     ttlvType = 0x06
	typeTextString  ttlvType = 0x07
	typeByteString  ttlvType = 0x08
	typeDateTime    ttlvType = 0x09
	typeInterval    ttlvType = 0x0A
)

// item is one decoded TTLV item. Which value field is used depends on typ:
// children for structures; num for integers, long integers, enumerations,
// booleans (0/1), date-times and intervals; bytes for text, byte strings
// and big integers.
type item struct {
	tag      tag
	typ      ttlvType
	num      int64
	bytes    []byte
	children []item
}

// Limits on what the decoder accepts from a server.
const (
	maxDepth   = 16
	maxMessage = 1 << 20
	headerLen  = 8
)

var errTTLV = errors.New("kmip: malformed TTLV")

// Constructors for the items a request needs.

func structure(t tag, children ...item) item {
	return item{tag: t, typ: typeStructure, children: children}
}
func integer(t tag, v int32) item { return item{tag: t, typ: typeInteger, num: int64(v)} }
func enum(t tag, v uint32) item   { return item{tag: t, typ: typeEnumeration, num: int64(v)} }
func boolean(t tag, v bool) item {
	it := item{tag: t, typ: typeBoolean}
	if v {
		it.num = 1
	}
	return it
}
func text(t tag, s string) item       { return item{tag: t, typ: typeTextString, bytes: []byte(s)} }
func byteString(t tag, b []byte) item { return item{tag: t, typ: typeByteString, bytes: b} }

// valueLen is the length field of it.
func (it *item) valueLen() int {
	switch it.typ {
	case typeStructure:
		n := 0
		for i := range it.children {
			n += it.children[i].encodedLen()
		}
		return n
	case typeInteger, typeEnumeration, typeInterval:
		return 4
	case typeLongInteger, typeBoolean, typeDateTime:
		return 8
	default:
		return len(it.bytes)
	}
}

// encodedLen is the size of it on the wire, padding included.
func (it *item) encodedLen() int { return headerLen + pad8(it.valueLen()) }

func pad8(n int) int { return (n + 7) &^ 7 }

// appendTo appends it's encoding to dst.
func (it *item) appendTo(dst []byte) []byte {
	n := it.valueLen()
	dst = append(dst, byte(it.tag>>16), byte(it.tag>>8), byte(it.tag), byte(it.typ))
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	switch it.typ {
	case typeStructure:
		for i := range it.children {
			dst = it.children[i].appendTo(dst)
		}
		return dst
	case typeInteger, typeEnumeration, typeInterval:
		dst = binary.BigEndian.AppendUint32(dst, uint32(it.num))
	case typeLongInteger, typeBoolean, typeDateTime:
		dst = binary.BigEndian.AppendUint64(dst, uint64(it.num))
	default:
		dst = append(dst, it.bytes...)
	}
	for range pad8(n) - n {
		dst = append(dst, 0)
	}
	return dst
}

// encode returns it's encoding.
func (it item) encode() []byte { return it.appendTo(make([]byte, 0, it.encodedLen())) }

// decode parses exactly one item filling b. It accepts only canonical
// encodings (zero padding, fixed lengths, booleans 0 or 1, UTF-8 text), so
// what it accepts encodes back to the same bytes.
func decode(b []byte) (item, error) {
	if len(b) > maxMessage {
		return item{}, fmt.Errorf("%w: %d bytes exceeds %d", errTTLV, len(b), maxMessage)
	}
	it, n, err := decodeItem(b, 0)
	if err != nil {
		return item{}, err
	}
	if n != len(b) {
		return item{}, fmt.Errorf("%w: %d trailing bytes", errTTLV, len(b)-n)
	}
	return it, nil
}

// decodeItem parses the item at the start of b and returns its encoded
// length.
func decodeItem(b []byte, depth int) (item, int, error) {
	if depth > maxDepth {
		return item{}, 0, fmt.Errorf("%w: nested deeper than %d", errTTLV, maxDepth)
	}
	if len(b) < headerLen {
		return item{}, 0, fmt.Errorf("%w: truncated header", errTTLV)
	}
	it := item{tag: tag(uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])), typ: ttlvType(b[3])}
	n := binary.BigEndian.Uint32(b[4:8])
	if uint64(n) > uint64(len(b)-headerLen) {
		return item{}, 0, fmt.Errorf("%w: tag %06x: length %d past the end", errTTLV, uint32(it.tag), n)
	}
	total := headerLen + pad8(int(n))
	if total > len(b) {
		return item{}, 0, fmt.Errorf("%w: tag %06x: padding past the end", errTTLV, uint32(it.tag))
	}
	v := b[headerLen : headerLen+int(n)]
	for _, p := range b[headerLen+int(n) : total] {
		if p != 0 {
			return item{}, 0, fmt.Errorf("%w: tag %06x: nonzero padding", errTTLV, uint32(it.tag))
		}
	}
	fixed := func(want uint32) error {
		if n != want {
			return fmt.Errorf("%w: tag %06x type %d: length %d, want %d", errTTLV, uint32(it.tag), it.typ, n, want)
		}
		return nil
	}
	switch it.typ {
	case typeStructure:
		for len(v) > 0 {
			child, cn, err := decodeItem(v, depth+1)
			if err != nil {
				return item{}, 0, err
			}
			it.children = append(it.children, child)
			v = v[cn:]
		}
	case typeInteger:
		if err := fixed(4); err != nil {
			return item{}, 0, err
		}
		it.num = int64(int32(binary.BigEndian.Uint32(v)))
	case typeEnumeration, typeInterval:
		if err := fixed(4); err != nil {
			return item{}, 0, err
		}
		it.num = int64(binary.BigEndian.Uint32(v))
	case typeLongInteger, typeDateTime:
		if err := fixed(8); err != nil {
			return item{}, 0, err
		}
		it.num = int64(binary.BigEndian.Uint64(v))
	case typeBoolean:
		if err := fixed(8); err != nil {
			return item{}, 0, err
		}
		x := binary.BigEndian.Uint64(v)
		if x > 1 {
			return item{}, 0, fmt.Errorf("%w: tag %06x: boolean %d", errTTLV, uint32(it.tag), x)
		}
		it.num = int64(x)
	case typeBigInteger:
		if n%8 != 0 {
			return item{}, 0, fmt.Errorf("%w: tag %06x: big integer of %d bytes", errTTLV, uint32(it.tag), n)
		}
		it.bytes = v
	case typeTextString:
		if !utf8.Valid(v) {
			return item{}, 0, fmt.Errorf("%w: tag %06x: text is not UTF-8", errTTLV, uint32(it.tag))
		}
		it.bytes = v
	case typeByteString:
		it.bytes = v
	default:
		return item{}, 0, fmt.Errorf("%w: tag %06x: unknown type %d", errTTLV, uint32(it.tag), it.typ)
	}
	return it, total, nil
}

// child returns the first child with tag t, or nil.
func (it *item) child(t tag) *item {
	for i := range it.children {
		if it.children[i].tag == t {
			return &it.children[i]
		}
	}
	return nil
}

// all returns the children with tag t.
func (it *item) all(t tag) []*item {
	var out []*item
	for i := range it.children {
		if it.children[i].tag == t {
			out = append(out, &it.children[i])
		}
	}
	return out
}

// text returns the text of child t, checking its type.
func (it *item) childText(t tag) (string, error) {
	c := it.child(t)
	if c == nil || c.typ != typeTextString {
		return "", fmt.Errorf("%w: no text %06x in %06x", errTTLV, uint32(t), uint32(it.tag))
	}
	return string(c.bytes), nil
}

// childBytes returns the bytes of byte string child t, or nil if absent.
func (it *item) childBytes(t tag) ([]byte, error) {
	c := it.child(t)
	if c == nil {
		return nil, nil
	}
	if c.typ != typeByteString {
		return nil, fmt.Errorf("%w: %06x is not a byte string", errTTLV, uint32(t))
	}
	return c.bytes, nil
}

// childNum returns the number of child t, which must have type typ.
func (it *item) childNum(t tag, typ ttlvType) (int64, bool) {
	c := it.child(t)
	if c == nil || c.typ != typ {
		return 0, false
	}
	return c.num, true
}
