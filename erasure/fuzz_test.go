package erasure

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// FuzzDecode encodes a fuzzed input, damages the shard streams with fuzzed
// operations, and checks the codec's promises over the result:
//   - nothing panics;
//   - Decode never returns wrong bytes: on success the output equals the
//     input range, on failure it is a prefix of it;
//   - with at most m shards touched, Decode succeeds;
//   - Verify accepts a shard stream exactly when it is the original.
//
// Each op is 8 bytes: kind, shard, position (4 bytes), value, spare.
func FuzzDecode(f *testing.F) {
	op := func(kind, shard byte, pos uint32, val byte) []byte {
		b := []byte{kind, shard, 0, 0, 0, 0, val, 0}
		binary.LittleEndian.PutUint32(b[2:], pos)
		return b
	}
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	f.Add([]byte("the quick brown fox jumps over the lazy dog"), byte(3), uint16(10), []byte{}, uint32(0), uint32(1000))
	f.Add([]byte("the quick brown fox jumps over the lazy dog"), byte(3), uint16(3), op(opFlip, 1, 50, 4), uint32(5), uint32(20))
	f.Add(bytes.Repeat([]byte{7}, 300), byte(5), uint16(17), cat(op(opFlip, 0, 3, 1), op(opTruncate, 4, 100, 0), op(opNil, 2, 0, 0)), uint32(0), uint32(300))
	f.Add(bytes.Repeat([]byte("abc"), 200), byte(6), uint16(40), cat(op(opCopy, 0, 77, 3), op(opErr, 5, 60, 0)), uint32(100), uint32(400))
	f.Add([]byte{1, 2, 3}, byte(0), uint16(0), cat(op(opAppend, 0, 0, 9)), uint32(0), uint32(3))
	f.Add([]byte("xyz"), byte(1), uint16(1), cat(op(opReplace, 1, 0, 0), []byte("OBSH\x01\x01\x01\x02\x01garbage")), uint32(0), uint32(3))
	f.Fuzz(func(t *testing.T, input []byte, geo byte, bsSeed uint16, ops []byte, off, n uint32) {
		if len(input) > 1<<14 {
			input = input[:1<<14]
		}
		g := geometries[int(geo)%len(geometries)]
		c, err := newCodec(g[0], g[1], g[0]+int(bsSeed)%2048, ioConfigs[int(geo)/len(geometries)%len(ioConfigs)])
		if err != nil {
			t.Fatal(err)
		}
		size := int64(len(input))
		orig := encodeAll(t, c, input)
		shards := clone2(orig)
		rs := make([]io.ReaderAt, c.n)
		touched := map[int]bool{}
		errFrom := map[int]int64{}
	apply:
		for len(ops) >= 8 {
			kind, s := ops[0]%numOps, int(ops[1])%c.n
			pos := int64(binary.LittleEndian.Uint32(ops[2:]))
			val := ops[6]
			ops = ops[8:]
			touched[s] = true
			switch kind {
			case opFlip:
				if len(shards[s]) > 0 {
					shards[s][pos%int64(len(shards[s]))] ^= val
				}
			case opTruncate:
				shards[s] = shards[s][:pos%int64(len(shards[s])+1)]
			case opAppend:
				shards[s] = append(shards[s], bytes.Repeat([]byte{val}, int(val%16)+1)...)
			case opNil:
				shards[s] = nil
			case opCopy: // bytes of another shard at the same offset
				from := int(val) % c.n
				if len(shards[s]) > 0 {
					p := pos % int64(len(shards[s]))
					copy(shards[s][p:], shards[from][min(p, int64(len(shards[from]))):])
				}
			case opErr:
				errFrom[s] = pos % (int64(len(shards[s])) + 1)
			case opReplace:
				shards[s] = ops
				break apply
			}
		}
		for i, s := range shards {
			if from, ok := errFrom[i]; ok && s != nil {
				rs[i] = errReaderAt{data: s, from: from}
			} else if s != nil {
				rs[i] = bytes.NewReader(s)
			}
		}

		o := int64(off) % (size + 1)
		l := int64(n) % (size - o + 1)
		var out bytes.Buffer
		res, err := c.Decode(context.Background(), &out, rs, o, l, size)
		want := input[o : o+l]
		if err == nil && !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("Decode returned wrong bytes without an error")
		}
		if err != nil && !bytes.HasPrefix(want, out.Bytes()) {
			t.Fatalf("Decode wrote wrong bytes before failing: %v", err)
		}
		if err != nil && len(touched) <= c.m {
			t.Fatalf("Decode failed with only %d shards touched: %v", len(touched), err)
		}
		if err != nil && !errors.Is(err, ErrReadQuorum) {
			t.Fatalf("Decode failed with an unexpected error: %v", err)
		}
		for i, e := range res.Errs {
			if e != nil && !touched[i] {
				t.Fatalf("untouched shard %d reported: %v", i, e)
			}
		}
		for i := range shards {
			if rs[i] == nil {
				continue
			}
			verr := c.Verify(context.Background(), rs[i], i, size)
			from, failing := errFrom[i]
			intact := bytes.Equal(shards[i], orig[i]) && (!failing || from >= int64(len(shards[i])))
			if (verr == nil) != intact {
				t.Fatalf("shard %d intact=%t but Verify = %v", i, intact, verr)
			}
		}
	})
}

// Fuzz operation kinds.
const (
	opFlip byte = iota
	opTruncate
	opAppend
	opNil
	opCopy
	opErr
	opReplace
	numOps
)
