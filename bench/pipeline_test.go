package bench

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/objstore/objstore/s3api/checksum"
)

// TestRunPipeline runs every stage and chain briefly and checks that each
// row is there, measured and explained.
func TestRunPipeline(t *testing.T) {
	tests := []struct {
		name string
		cfg  PipelineConfig
		sums []string // the checksum stages and chains after the fixed ones
	}{
		{"default-geometry", PipelineConfig{Time: 50 * time.Millisecond, Cores: 2}, []string{"crc32c", "crc64nvme"}},
		{"8+4-odd-sizes", PipelineConfig{DataShards: 8, ParityShards: 4, BlockSize: 100_000, ObjectSize: 1_000_003,
			PackageSize: 1000, Time: 20 * time.Millisecond, Cores: 4}, []string{"crc32c", "crc64nvme"}},
		{"requested-checksums", PipelineConfig{Time: 20 * time.Millisecond, Cores: 2,
			Checksums: []checksum.Algorithm{checksum.CRC32, checksum.SHA1, checksum.SHA256, checksum.CRC32}}, []string{"crc32", "sha1"}},
		{"no-checksums", PipelineConfig{Time: 20 * time.Millisecond, Cores: 2, Checksums: []checksum.Algorithm{}}, nil},
	}
	for _, tc := range tests {
		stageIDs := append([]string{"memcpy", "rs-encode", "encode", "decode", "decode-lost", "xxh3",
			"aes-seal", "aes-open", "chacha-seal", "chacha-open", "md5", "sha256"}, tc.sums...)
		chainIDs := []string{"put", "put-signed", "get", "get-lost"}
		for _, id := range tc.sums {
			chainIDs = append(chainIDs, "put-"+id)
		}
		t.Run(tc.name, func(t *testing.T) {
			res, err := RunPipeline(context.Background(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Stages) != len(stageIDs) || len(res.Chains) != len(chainIDs) {
				t.Fatalf("%d stages, %d chains", len(res.Stages), len(res.Chains))
			}
			for i, id := range stageIDs {
				s := res.Stages[i]
				if s.ID != id || s.Ops < 1 || s.MBPerSec <= 0 || s.Seconds < tc.cfg.Time.Seconds() {
					t.Errorf("stage %d: %+v, want id %s measured for %v", i, s, id, tc.cfg.Time)
				}
			}
			for i, id := range chainIDs {
				c := res.Chains[i]
				if c.ID != id || c.Ops < 1 || c.MBPerSec <= 0 || c.Bytes != int64(res.ObjectSize) {
					t.Errorf("chain %d: %+v, want id %s", i, c.StageResult, id)
				}
				// The model's arithmetic must hold for the rates it shows.
				var inv, slowest float64 = 0, math.Inf(1)
				for j, r := range c.Rates {
					if r <= 0 || r != res.Stage(c.Stages[j]).MBPerSec {
						t.Fatalf("chain %s: rate %v of %s", id, r, c.Stages[j])
					}
					inv += 1 / r
					slowest = min(slowest, r)
				}
				cores := float64(tc.cfg.Cores)
				if !near(c.SerialMBPerSec, 1/inv) || !near(c.ParallelMBPerSec, cores/inv) || !near(c.PipelinedMBPerSec, min(slowest, cores/inv)) {
					t.Errorf("chain %s: model %v %v %v", id, c.SerialMBPerSec, c.PipelinedMBPerSec, c.ParallelMBPerSec)
				}
				if len(c.Arithmetic) != 3 {
					t.Errorf("chain %s: arithmetic %q", id, c.Arithmetic)
				}
			}
			var out bytes.Buffer
			if err := WritePipelineTable(&out, res); err != nil {
				t.Fatal(err)
			}
			for _, s := range res.Stages {
				if !strings.Contains(out.String(), s.Name) {
					t.Errorf("table lacks %q", s.Name)
				}
			}
			for _, c := range res.Chains {
				if !strings.Contains(out.String(), c.Name) || !strings.Contains(out.String(), c.Arithmetic[0]) {
					t.Errorf("table lacks chain %q", c.Name)
				}
			}
			if _, err := json.Marshal(res); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func TestRunPipelineErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunPipeline(ctx, PipelineConfig{Time: time.Hour, ObjectSize: 1 << 16}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	for _, cfg := range []PipelineConfig{
		{DataShards: 0, ParityShards: 2},
		{DataShards: 200, ParityShards: 100},
		{BlockSize: 2, DataShards: 4, ParityShards: 2},
		{ObjectSize: -1},
		{PackageSize: -5},
		{Time: -time.Second},
		{Cores: -1},
	} {
		if _, err := RunPipeline(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", cfg, err)
		}
	}
}

// TestSealOpenRoundTrip: the chains' package sealing and opening agree for
// sizes around package boundaries, and a flipped bit is caught.
func TestSealOpenRoundTrip(t *testing.T) {
	block, _ := aes.NewCipher(make([]byte, 32))
	gcm, _ := cipher.NewGCM(block)
	data := newPayload(9, 10_000)
	for _, n := range []int{0, 1, 999, 1000, 1001, 3000, 10_000} {
		var ct bytes.Buffer
		sr := newSealReader(bytes.NewReader(data[:n]), gcm, 1000, md5.New(), nil)
		if _, err := io.Copy(&ct, sr); err != nil {
			t.Fatal(err)
		}
		if want := n + gcm.Overhead()*((n+999)/1000); ct.Len() != want {
			t.Fatalf("n=%d: %d sealed bytes, want %d", n, ct.Len(), want)
		}
		ow := newOpenWriter(gcm, 1000)
		if _, err := ow.Write(ct.Bytes()); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if err := ow.flush(); err != nil || ow.n != int64(n) {
			t.Fatalf("n=%d: opened %d bytes, %v", n, ow.n, err)
		}
		if n == 0 {
			continue
		}
		bad := bytes.Clone(ct.Bytes())
		bad[len(bad)/2] ^= 1
		ow.reset()
		_, err := ow.Write(bad)
		if err == nil {
			err = ow.flush()
		}
		if err == nil {
			t.Fatalf("n=%d: flipped bit not detected", n)
		}
	}
}
