package s3api

import (
	"log/slog"
	"strings"

	"github.com/objstore/objstore/storage"
)

// listedPlainSize is the plaintext size of a listed object: storage
// reports the stored (ciphertext) size of each part. A server with keys
// encrypts every object it stores (and refuses a record without an
// envelope), so it treats every listed object as encrypted; plainSize
// leaves sizes that are no ciphertext size as they are.
func listedPlainSize(o storage.ObjectInfo) int64 {
	if len(o.Parts) == 0 {
		return plainSize(o.Size)
	}
	var n int64
	for _, p := range o.Parts {
		n += plainSize(p.Size)
	}
	return n
}

// openListedMetadata replaces the stored metadata of listed objects
// (metadata=true listings) by what the client sees: the sealed client
// metadata opened with the bucket key. SSE-C objects cannot be opened
// without their key, and an object that fails to open is listed without
// user metadata rather than failing the page; either way no envelope
// entry is shown.
func (h *Handler) openListedMetadata(rq *request, objs []storage.ObjectInfo) {
	for i := range objs {
		md := objs[i].Metadata
		if md[mdSSE] == "" {
			continue
		}
		var opened map[string]string
		if md[mdSSE] != modeC {
			e, err := h.openEncryption(rq, objs[i].Bucket, objs[i].Key, md, nil)
			if err == nil {
				opened, err = e.open(md)
			}
			if err != nil {
				h.log.LogAttrs(rq.ctx, slog.LevelWarn, "s3api: list: metadata does not open",
					slog.String("request_id", rq.id), slog.String("key", objs[i].Key), slog.String("error", err.Error()))
				opened = nil
			}
		}
		if opened == nil {
			opened = map[string]string{}
			for k, v := range md {
				if !strings.HasPrefix(k, mdSSEPrefix) {
					opened[k] = v
				}
			}
		}
		objs[i].Metadata = opened
	}
}
