package s3api

import (
	"fmt"
	"strconv"

	"github.com/objstore/objstore/storage"
)

// openUpload opens the object key an upload's parts are encrypted under,
// with the request's SSE-C key where the upload uses one. With needKey
// false (CompleteMultipartUpload, which moves no data) an SSE-C upload
// may come without the key: then only the bucket key's existence is
// checked, and the result holds no object key.
func (h *Handler) openUpload(rq *request, up storage.MultipartUpload, needKey bool) (*objectEncryption, error) {
	ck, err := parseCustomerKey(rq.r.Header, hdrSSECPrefix)
	if err != nil {
		return nil, err
	}
	md := up.Metadata
	if md[mdSSE] == modeC && ck == nil && !needKey && h.keys != nil {
		e := &objectEncryption{mode: modeC}
		if _, err := h.keys.OpenBucketKey(rq.ctx, rq.bucket, kmsKeyIDOf(md), md[mdSSEBucketKey]); err != nil {
			return nil, fmt.Errorf("s3api: upload of %q: %w", rq.key, err)
		}
		return e, nil
	}
	e, err := h.openEncryption(rq, rq.bucket, rq.key, md, ck)
	if err != nil {
		return nil, fmt.Errorf("s3api: upload of %q: %w", rq.key, err)
	}
	return e, nil
}

// encryptedCompletion is CompleteMultipartUpload's Finish for an
// encrypted upload: the stored part sizes are ciphertext sizes, so the
// parts are shown to f (the checksum combination) and to the part-size
// rule with their plaintext sizes. A one-part object records its part
// number, which names its stream, since storage reports no part list for
// it.
func encryptedCompletion(chosen []storage.PartInfo, f func([]storage.PartInfo) (map[string]string, error)) (map[string]string, error) {
	plain := make([]storage.PartInfo, len(chosen))
	for i, p := range chosen {
		p.Size = plainSize(p.Size)
		if i < len(chosen)-1 && p.Size < storage.MinPartSize {
			return nil, fmt.Errorf("%w: part %d has %d bytes", storage.ErrPartTooSmall, p.Number, p.Size)
		}
		plain[i] = p
	}
	extra, err := f(plain)
	if err != nil {
		return nil, err
	}
	if extra == nil {
		extra = map[string]string{}
	}
	if len(chosen) == 1 {
		// Stored as one stream: its number and salt go to the object.
		extra[mdSSEPart] = strconv.Itoa(chosen[0].Number)
		if salt := chosen[0].Metadata[mdSSESalt]; salt != "" {
			extra[mdSSESalt] = salt
		}
	}
	return extra, nil
}
