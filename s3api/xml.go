package s3api

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// xmlns is the namespace of every S3 response body except Error.
const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Time is a timestamp rendered as S3 does in XML bodies:
// ISO 8601 in UTC with milliseconds.
type s3Time time.Time

const s3TimeFormat = "2006-01-02T15:04:05.000Z"

// MarshalText implements encoding.TextMarshaler.
func (t s3Time) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format(s3TimeFormat)), nil
}

// owner is the Owner / Initiator element.
type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

// errorResponse is the body of every error with a body.
type errorResponse struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	// ArgumentName, ArgumentValue and Region: a request signed for
	// another region than the server's names the one expected, and a
	// form the field at fault, as AWS's answers do.
	ArgumentName  string `xml:"ArgumentName,omitempty"`
	ArgumentValue string `xml:"ArgumentValue,omitempty"`
	Region        string `xml:"Region,omitempty"`
	Resource      string `xml:"Resource"`
	RequestID     string `xml:"RequestId"`
	HostID        string `xml:"HostId"`
}

// listAllMyBucketsResult answers ListBuckets.
type listAllMyBucketsResult struct {
	XMLName           xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner             owner        `xml:"Owner"`
	Buckets           []bucketItem `xml:"Buckets>Bucket"`
	ContinuationToken string       `xml:"ContinuationToken,omitempty"` // set when more buckets follow
	Prefix            string       `xml:"Prefix,omitempty"`
}

type bucketItem struct {
	Name         string `xml:"Name"`
	CreationDate s3Time `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

// createBucketConfiguration is the optional body of CreateBucket. The
// XMLName has no namespace so that bodies with or without xmlns parse.
type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// locationConstraint answers GetBucketLocation.
type locationConstraint struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Location string   `xml:",chardata"`
}

// versioningConfiguration answers GetBucketVersioning; empty while
// versioning has never been enabled.
type versioningConfiguration struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
	Status  string   `xml:"Status,omitempty"`
}

// objectItem is one Contents element of a listing.
type objectItem struct {
	Key               string   `xml:"Key"`
	LastModified      s3Time   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumAlgorithm []string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              int64    `xml:"Size"`
	Owner             *owner   `xml:"Owner,omitempty"`
	StorageClass      string   `xml:"StorageClass"`
	// UserMetadata is MinIO's listing extension (ListObjectsV2 with
	// metadata=true), which minio-go's WithMetadata asks for.
	UserMetadata listMetadata `xml:"UserMetadata,omitempty"`
}

// listMetadata renders x-amz-meta-* as <X-Amz-Meta-Name>value</...>
// elements, sorted, the shape minio-go decodes. A name that is not a
// valid XML element name is left out rather than break the document.
type listMetadata map[string]string

// MarshalXML implements xml.Marshaler.
func (m listMetadata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if len(m) == 0 {
		return nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		if xmlSafeName(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, k := range names {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: http.CanonicalHeaderKey(k)}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// xmlSafeName reports whether a metadata header name can be an XML
// element name as it is: ASCII letters, digits, '-', '_' and '.'.
func xmlSafeName(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return k != ""
}

// userMetadataOf picks the x-amz-meta-* entries of stored metadata.
func userMetadataOf(md map[string]string) listMetadata {
	var out listMetadata
	for k, v := range md {
		if strings.HasPrefix(k, userMetaPrefix) {
			if out == nil {
				out = make(listMetadata)
			}
			out[k] = v
		}
	}
	return out
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// listBucketResultV1 answers ListObjects (version 1).
type listBucketResultV1 struct {
	XMLName        xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	Contents       []objectItem   `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

// listBucketResultV2 answers ListObjectsV2.
type listBucketResultV2 struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	Contents              []objectItem   `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// versionItem is one Version element of ListObjectVersions.
type versionItem struct {
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified s3Time `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass"`
}

// listVersionsResult answers ListObjectVersions.
type listVersionsResult struct {
	XMLName             xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	Versions            []versionItem  `xml:"Version"`
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

// checksums holds the per-algorithm checksum elements that several
// bodies share. Values are base64, composite ones end in -N.
type checksums struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumMD5       string `xml:"ChecksumMD5,omitempty"`
	ChecksumSHA512    string `xml:"ChecksumSHA512,omitempty"`
	ChecksumXXHASH64  string `xml:"ChecksumXXHASH64,omitempty"`
	ChecksumXXHASH3   string `xml:"ChecksumXXHASH3,omitempty"`
	ChecksumXXHASH128 string `xml:"ChecksumXXHASH128,omitempty"`
}

// initiateMultipartUploadResult answers CreateMultipartUpload.
type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// completeMultipartUpload is the body of CompleteMultipartUpload. No
// namespace on XMLName: clients send it with and without xmlns.
type completeMultipartUpload struct {
	XMLName xml.Name       `xml:"CompleteMultipartUpload"`
	Parts   []completePart `xml:"Part"`
}

type completePart struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	checksums
}

// completeMultipartUploadResult answers CompleteMultipartUpload.
type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksums
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// partItem is one Part of ListParts.
type partItem struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified s3Time `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksums
}

// listPartsResult answers ListParts.
type listPartsResult struct {
	XMLName              xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	Initiator            owner      `xml:"Initiator"`
	Owner                owner      `xml:"Owner"`
	StorageClass         string     `xml:"StorageClass"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	ChecksumAlgorithm    string     `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string     `xml:"ChecksumType,omitempty"`
	Parts                []partItem `xml:"Part"`
}

// uploadItem is one Upload of ListMultipartUploads.
type uploadItem struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         owner  `xml:"Initiator"`
	Owner             owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         s3Time `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
}

// listMultipartUploadsResult answers ListMultipartUploads.
type listMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	Prefix             string         `xml:"Prefix"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []uploadItem   `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

// deleteRequest is the body of DeleteObjects.
type deleteRequest struct {
	XMLName xml.Name       `xml:"Delete"`
	Quiet   bool           `xml:"Quiet"`
	Objects []deleteObject `xml:"Object"`
}

type deleteObject struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId"`
	// Conditions of this key's delete (see deleteConditions).
	ETag             string `xml:"ETag"`
	LastModifiedTime string `xml:"LastModifiedTime"`
	Size             *int64 `xml:"Size"`
}

// deleteResult answers DeleteObjects.
type deleteResult struct {
	XMLName xml.Name      `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedItem `xml:"Deleted"`
	Errors  []deleteError `xml:"Error"`
}

type deletedItem struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
}

type deleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// copyObjectResult answers CopyObject.
type copyObjectResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified s3Time   `xml:"LastModified"`
	checksums
	ChecksumType string `xml:"ChecksumType,omitempty"` // with a checksum only
}

// copyPartResult answers UploadPartCopy.
type copyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified s3Time   `xml:"LastModified"`
	checksums
}

// The listing documents have their own encoder: a page of 1,000 keys
// through encoding/xml costs several milliseconds of reflection, more
// than reading the page from the drives. appendListV1 and appendListV2
// write exactly the bytes marshalXML writes for the same value (the
// listing tests compare the two on tricky and random input), so the
// struct tags above stay the single description of the wire format.

// appendListV2 appends marshalXML(r) to b.
func appendListV2(b []byte, r *listBucketResultV2) []byte {
	b = append(b, xml.Header...)
	b = append(b, `<ListBucketResult xmlns="`+xmlns+`">`...)
	b = appendElem(b, "Name", r.Name)
	b = appendElem(b, "Prefix", r.Prefix)
	b = appendElemOmit(b, "StartAfter", r.StartAfter)
	b = appendElemOmit(b, "ContinuationToken", r.ContinuationToken)
	b = appendElemOmit(b, "NextContinuationToken", r.NextContinuationToken)
	b = appendElemInt(b, "KeyCount", int64(r.KeyCount))
	b = appendElemInt(b, "MaxKeys", int64(r.MaxKeys))
	b = appendElemOmit(b, "Delimiter", r.Delimiter)
	b = appendElemBool(b, "IsTruncated", r.IsTruncated)
	b = appendElemOmit(b, "EncodingType", r.EncodingType)
	b = appendListItems(b, r.Contents, r.CommonPrefixes)
	return append(b, "</ListBucketResult>"...)
}

// appendListV1 appends marshalXML(r) to b.
func appendListV1(b []byte, r *listBucketResultV1) []byte {
	b = append(b, xml.Header...)
	b = append(b, `<ListBucketResult xmlns="`+xmlns+`">`...)
	b = appendElem(b, "Name", r.Name)
	b = appendElem(b, "Prefix", r.Prefix)
	b = appendElem(b, "Marker", r.Marker)
	b = appendElemOmit(b, "NextMarker", r.NextMarker)
	b = appendElemInt(b, "MaxKeys", int64(r.MaxKeys))
	b = appendElemOmit(b, "Delimiter", r.Delimiter)
	b = appendElemBool(b, "IsTruncated", r.IsTruncated)
	b = appendElemOmit(b, "EncodingType", r.EncodingType)
	b = appendListItems(b, r.Contents, r.CommonPrefixes)
	return append(b, "</ListBucketResult>"...)
}

// listSizeHint is a generous guess of a listing document's size, so the
// buffer grows at most once or twice.
func listSizeHint(items, prefixes int) int { return 512 + 320*items + 64*prefixes }

func appendListItems(b []byte, items []objectItem, prefixes []commonPrefix) []byte {
	for i := range items {
		b = appendObjectItem(b, &items[i])
	}
	for _, p := range prefixes {
		b = append(b, "<CommonPrefixes>"...)
		b = appendElem(b, "Prefix", p.Prefix)
		b = append(b, "</CommonPrefixes>"...)
	}
	return b
}

func appendObjectItem(b []byte, it *objectItem) []byte {
	b = append(b, "<Contents>"...)
	b = appendElem(b, "Key", it.Key)
	b = append(b, "<LastModified>"...)
	b = time.Time(it.LastModified).UTC().AppendFormat(b, s3TimeFormat)
	b = append(b, "</LastModified>"...)
	b = appendElem(b, "ETag", it.ETag)
	for _, a := range it.ChecksumAlgorithm {
		b = appendElemOmit(b, "ChecksumAlgorithm", a) // omitempty applies to each element
	}
	b = appendElemOmit(b, "ChecksumType", it.ChecksumType)
	b = appendElemInt(b, "Size", it.Size)
	if it.Owner != nil {
		b = append(b, "<Owner>"...)
		b = appendElem(b, "ID", it.Owner.ID)
		b = appendElemOmit(b, "DisplayName", it.Owner.DisplayName)
		b = append(b, "</Owner>"...)
	}
	b = appendElem(b, "StorageClass", it.StorageClass)
	if len(it.UserMetadata) > 0 {
		b = appendUserMetadata(b, it.UserMetadata)
	}
	return append(b, "</Contents>"...)
}

// appendUserMetadata writes what listMetadata.MarshalXML does.
func appendUserMetadata(b []byte, m listMetadata) []byte {
	names := make([]string, 0, len(m))
	for k := range m {
		if xmlSafeName(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	b = append(b, "<UserMetadata>"...)
	for _, k := range names {
		b = appendElem(b, http.CanonicalHeaderKey(k), m[k])
	}
	return append(b, "</UserMetadata>"...)
}

// appendElem writes <name>v</name> with v escaped; name is trusted.
func appendElem(b []byte, name, v string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, v)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendElemOmit is appendElem for an omitempty field.
func appendElemOmit(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendElem(b, name, v)
}

func appendElemInt(b []byte, name string, v int64) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = strconv.AppendInt(b, v, 10)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

func appendElemBool(b []byte, name string, v bool) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = strconv.AppendBool(b, v)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendEscaped escapes s as encoding/xml escapes element text: the
// five markup characters and \t \n \r as character references, and
// every rune XML cannot carry (other control characters, invalid
// UTF-8, U+FFFE and U+FFFF) as U+FFFD. Plain ASCII, the usual key,
// is copied in one append.
func appendEscaped(b []byte, s string) []byte {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= utf8.RuneSelf || c < 0x20 || c == '"' || c == '\'' || c == '&' || c == '<' || c == '>' {
			break
		}
		i++
	}
	b = append(b, s[:i]...)
	if i == len(s) {
		return b
	}
	last := i
	for i < len(s) {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !xmlChar(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
				break
			}
			continue
		}
		b = append(b, s[last:i-width]...)
		b = append(b, esc...)
		last = i
	}
	return append(b, s[last:]...)
}

// xmlChar reports whether r is a character XML 1.0 allows.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
