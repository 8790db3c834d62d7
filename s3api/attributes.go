package s3api

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/objstore/objstore/s3api/checksum"
	"github.com/objstore/objstore/storage"
)

// The attributes GetObjectAttributes can be asked for, as the
// x-amz-object-attributes header names them.
const (
	attrETag         = "ETag"
	attrChecksum     = "Checksum"
	attrObjectParts  = "ObjectParts"
	attrStorageClass = "StorageClass"
	attrObjectSize   = "ObjectSize"
)

// getObjectAttributesResult answers GetObjectAttributes; only the
// attributes asked for are filled.
type getObjectAttributesResult struct {
	XMLName      xml.Name          `xml:"http://s3.amazonaws.com/doc/2006-03-01/ GetObjectAttributesResponse"`
	ETag         string            `xml:"ETag,omitempty"`
	Checksum     *checksumAttr     `xml:"Checksum,omitempty"`
	ObjectParts  *objectPartsAttrs `xml:"ObjectParts,omitempty"`
	StorageClass string            `xml:"StorageClass,omitempty"`
	ObjectSize   *int64            `xml:"ObjectSize,omitempty"`
}

// checksumAttr is the Checksum element: the object's checksums and
// whether they cover the whole object or its parts.
type checksumAttr struct {
	checksums
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// objectPartsAttrs is the ObjectParts element of a multipart object.
// The paging fields and the parts appear only when the parts carry a
// checksum the client asked for at upload, as AWS lists them.
type objectPartsAttrs struct {
	PartsCount           int              `xml:"PartsCount"`
	PartNumberMarker     *int             `xml:"PartNumberMarker,omitempty"`
	NextPartNumberMarker *int             `xml:"NextPartNumberMarker,omitempty"`
	MaxParts             *int             `xml:"MaxParts,omitempty"`
	IsTruncated          *bool            `xml:"IsTruncated,omitempty"`
	Parts                []objectPartAttr `xml:"Part"`
}

// objectPartAttr is one Part of ObjectParts.
type objectPartAttr struct {
	checksums
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

// parseObjectAttributes reads the x-amz-object-attributes header (one
// or several lines of comma-separated names) into a set.
func parseObjectAttributes(h http.Header) (map[string]bool, error) {
	want := map[string]bool{}
	for _, line := range h.Values("x-amz-object-attributes") {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.TrimSpace(name)
			switch name {
			case "":
			case attrETag, attrChecksum, attrObjectParts, attrStorageClass, attrObjectSize:
				want[name] = true
			default:
				return nil, withMessage(errInvalidArgument, "Invalid attribute name specified.")
			}
		}
	}
	if len(want) == 0 {
		return nil, withMessage(errInvalidArgument,
			"The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	return want, nil
}

// partNumberMarker parses x-amz-part-number-marker: 0 when absent.
func partNumberMarker(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, withMessage(errInvalidArgument, "Argument partNumberMarker must be an integer between 0 and 2147483647")
	}
	return int(n), nil
}

// getObjectAttributes answers GET /<bucket>/<key>?attributes: the
// object's ETag, checksums, parts, storage class and size, whichever
// x-amz-object-attributes names, without its body. An SSE-C object needs
// its key, as HeadObject does.
func (h *Handler) getObjectAttributes(rq *request) error {
	want, err := parseObjectAttributes(rq.r.Header)
	if err != nil {
		return err
	}
	maxParts, err := parseMaxValue(rq.r.Header.Get("x-amz-max-parts"), "max-parts")
	if err != nil {
		return err
	}
	marker, err := partNumberMarker(rq.r.Header.Get("x-amz-part-number-marker"))
	if err != nil {
		return err
	}
	vid, err := readVersionID(rq.query)
	if err != nil {
		return err
	}
	info, err := h.store.ObjectInfo(rq.ctx, rq.bucket, rq.key, storage.GetOptions{VersionID: vid})
	if err != nil {
		return h.hideMissing(rq, fmt.Errorf("s3api: attributes of %q: %w", rq.key, err))
	}
	ck, err := parseCustomerKey(rq.r.Header, hdrSSECPrefix)
	if err != nil {
		return err
	}
	prd, err := h.decrypt(rq, info, nil, ck)
	if err != nil {
		return fmt.Errorf("s3api: attributes of %q: %w", rq.key, err)
	}
	info = prd.Info()

	res := getObjectAttributesResult{}
	if want[attrETag] {
		res.ETag = info.ETag
	}
	if want[attrChecksum] {
		res.Checksum = checksumAttrOf(info.Metadata)
	}
	if want[attrObjectParts] && len(info.Parts) > 0 {
		res.ObjectParts = objectPartsOf(info, marker, maxParts)
	}
	if want[attrStorageClass] {
		res.StorageClass = "STANDARD"
	}
	if want[attrObjectSize] {
		res.ObjectSize = &info.Size
	}
	out := rq.w.Header()
	out.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	if info.VersionID != "" && info.VersionID != storage.NullVersionID {
		out.Set("x-amz-version-id", info.VersionID)
	}
	return rq.writeXML(http.StatusOK, res)
}

// checksumAttrOf is the Checksum element for stored metadata md, nil
// when the object has no checksum. A COMPOSITE checksum is given without
// its "-N" part count, as AWS gives it here (HeadObject keeps it).
func checksumAttrOf(md map[string]string) *checksumAttr {
	var c checksumAttr
	found := false
	for _, a := range checksumAlgorithms {
		if v := md[a.Header()]; v != "" {
			if md[mdChecksumType] == checksumComposite {
				v = stripPartCount(v)
			}
			c.set(a, v)
			found = true
		}
	}
	if !found {
		return nil
	}
	c.ChecksumType = md[mdChecksumType]
	return &c
}

// objectPartsOf is the ObjectParts element of a multipart object: the
// part count, and the parts after marker (at most maxParts) with their
// checksums when the upload asked for a checksum algorithm. Without one
// AWS lists no parts, only their count; the default CRC64NVME each part
// gets here is left out as GetObject?partNumber leaves it out.
func objectPartsOf(info storage.ObjectInfo, marker, maxParts int) *objectPartsAttrs {
	op := &objectPartsAttrs{PartsCount: len(info.Parts)}
	alg := uploadAlgorithm(info.Metadata)
	if alg == checksum.None {
		return op
	}
	next, truncated := marker, false
	for _, p := range info.Parts {
		if p.Number <= marker {
			continue
		}
		if len(op.Parts) == maxParts {
			// A page that lists nothing is not truncated: a client paging
			// on NextPartNumberMarker would never move on.
			truncated = maxParts > 0
			break
		}
		pa := objectPartAttr{PartNumber: p.Number, Size: p.Size}
		for _, a := range checksumAlgorithms {
			if v := p.Metadata[a.Header()]; v != "" && (a != checksum.Default || a == alg) {
				pa.set(a, v)
			}
		}
		op.Parts = append(op.Parts, pa)
		next = p.Number
	}
	op.PartNumberMarker, op.NextPartNumberMarker = &marker, &next
	op.MaxParts, op.IsTruncated = &maxParts, &truncated
	return op
}
