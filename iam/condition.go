package iam

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition keys the engine understands, in their canonical spelling. Keys
// in a policy are matched case-insensitively, as AWS does; the values in
// Request.Conditions must use these spellings.
const (
	KeySourceIP           = "aws:SourceIp"                                   // client IP address, no port (IPv4 or IPv6)
	KeySecureTransport    = "aws:SecureTransport"                            // "true" when the request came over TLS
	KeyCurrentTime        = "aws:CurrentTime"                                // RFC 3339; filled by the engine when absent
	KeyEpochTime          = "aws:EpochTime"                                  // seconds since 1970; filled by the engine when absent
	KeyUsername           = "aws:username"                                   // the user's name; filled by the engine from Request.Principal
	KeyUserAgent          = "aws:UserAgent"                                  // User-Agent header
	KeyReferer            = "aws:Referer"                                    // Referer header
	KeyPrefix             = "s3:prefix"                                      // ListObjects prefix parameter
	KeyDelimiter          = "s3:delimiter"                                   // ListObjects delimiter parameter
	KeyMaxKeys            = "s3:max-keys"                                    // ListObjects max-keys parameter
	KeySSE                = "s3:x-amz-server-side-encryption"                // "AES256" or "aws:kms"
	KeySSEKMSKeyID        = "s3:x-amz-server-side-encryption-aws-kms-key-id" // SSE-KMS key id
	KeyVersionID          = "s3:VersionId"                                   // versionId query parameter
	KeyCopySource         = "s3:x-amz-copy-source"                           // "bucket/key" of a copy
	KeyMetadataDirective  = "s3:x-amz-metadata-directive"                    // COPY or REPLACE
	KeyLocationConstraint = "s3:LocationConstraint"                          // CreateBucket's location
	KeySignatureVersion   = "s3:signatureversion"                            // "AWS4-HMAC-SHA256"
	KeyAuthType           = "s3:authType"                                    // "REST-HEADER" or "REST-QUERY-STRING"
	KeySignatureAge       = "s3:signatureAge"                                // milliseconds since the signature's date
	KeyContentSHA256      = "s3:x-amz-content-sha256"                        // payload hash mode or value
	KeyStorageClass       = "s3:x-amz-storage-class"                         // requested storage class
)

// keyType is the type of a condition key's values, which decides the
// operator families that may test it.
type keyType uint8

const (
	typeString keyType = iota
	typeNumeric
	typeDate
	typeBool
	typeIP
)

type condKey struct {
	name string
	typ  keyType
}

// lookupKey returns the canonical key for a case-insensitive name.
func lookupKey(name string) (condKey, bool) {
	switch strings.ToLower(name) {
	case "aws:sourceip":
		return condKey{KeySourceIP, typeIP}, true
	case "aws:securetransport":
		return condKey{KeySecureTransport, typeBool}, true
	case "aws:currenttime":
		return condKey{KeyCurrentTime, typeDate}, true
	case "aws:epochtime":
		return condKey{KeyEpochTime, typeDate}, true
	case "aws:username":
		return condKey{KeyUsername, typeString}, true
	case "aws:useragent":
		return condKey{KeyUserAgent, typeString}, true
	case "aws:referer":
		return condKey{KeyReferer, typeString}, true
	case "s3:prefix":
		return condKey{KeyPrefix, typeString}, true
	case "s3:delimiter":
		return condKey{KeyDelimiter, typeString}, true
	case "s3:max-keys":
		return condKey{KeyMaxKeys, typeNumeric}, true
	case "s3:x-amz-server-side-encryption":
		return condKey{KeySSE, typeString}, true
	case "s3:x-amz-server-side-encryption-aws-kms-key-id":
		return condKey{KeySSEKMSKeyID, typeString}, true
	case "s3:versionid":
		return condKey{KeyVersionID, typeString}, true
	case "s3:x-amz-copy-source":
		return condKey{KeyCopySource, typeString}, true
	case "s3:x-amz-metadata-directive":
		return condKey{KeyMetadataDirective, typeString}, true
	case "s3:locationconstraint":
		return condKey{KeyLocationConstraint, typeString}, true
	case "s3:signatureversion":
		return condKey{KeySignatureVersion, typeString}, true
	case "s3:authtype":
		return condKey{KeyAuthType, typeString}, true
	case "s3:signatureage":
		return condKey{KeySignatureAge, typeNumeric}, true
	case "s3:x-amz-content-sha256":
		return condKey{KeyContentSHA256, typeString}, true
	case "s3:x-amz-storage-class":
		return condKey{KeyStorageClass, typeString}, true
	}
	return condKey{}, false
}

// ConditionKeys lists the condition keys policies may use, canonically
// spelled.
func ConditionKeys() []string {
	return []string{
		KeySourceIP, KeySecureTransport, KeyCurrentTime, KeyEpochTime, KeyUsername,
		KeyUserAgent, KeyReferer, KeyPrefix, KeyDelimiter, KeyMaxKeys, KeySSE,
		KeySSEKMSKeyID, KeyVersionID, KeyCopySource, KeyMetadataDirective,
		KeyLocationConstraint, KeySignatureVersion, KeyAuthType, KeySignatureAge,
		KeyContentSHA256, KeyStorageClass,
	}
}

// family groups operators by the type of value they compare.
type family uint8

const (
	famString family = iota
	famNumeric
	famDate
	famBool
	famIP
	famNull
)

// cmp is how an operator compares a request value with a policy value.
type cmp uint8

const (
	cmpEq cmp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
	cmpLike
)

type operator struct {
	fam      family
	cmp      cmp
	negated  bool // NOR over the values; true when the key is absent
	fold     bool // StringEqualsIgnoreCase, StringNotEqualsIgnoreCase
	ifExists bool
}

// lookupOperator parses an operator name; names are case-sensitive, as
// AWS's are. ForAnyValue:/ForAllValues: qualifiers are not supported: all
// keys the engine knows are single-valued.
func lookupOperator(name string) (operator, bool) {
	base, ifExists := strings.CutSuffix(name, "IfExists")
	var op operator
	switch base {
	case "StringEquals":
		op = operator{fam: famString}
	case "StringNotEquals":
		op = operator{fam: famString, negated: true}
	case "StringEqualsIgnoreCase":
		op = operator{fam: famString, fold: true}
	case "StringNotEqualsIgnoreCase":
		op = operator{fam: famString, fold: true, negated: true}
	case "StringLike":
		op = operator{fam: famString, cmp: cmpLike}
	case "StringNotLike":
		op = operator{fam: famString, cmp: cmpLike, negated: true}
	case "NumericEquals":
		op = operator{fam: famNumeric}
	case "NumericNotEquals":
		op = operator{fam: famNumeric, negated: true}
	case "NumericLessThan":
		op = operator{fam: famNumeric, cmp: cmpLt}
	case "NumericLessThanEquals":
		op = operator{fam: famNumeric, cmp: cmpLe}
	case "NumericGreaterThan":
		op = operator{fam: famNumeric, cmp: cmpGt}
	case "NumericGreaterThanEquals":
		op = operator{fam: famNumeric, cmp: cmpGe}
	case "DateEquals":
		op = operator{fam: famDate}
	case "DateNotEquals":
		op = operator{fam: famDate, negated: true}
	case "DateLessThan":
		op = operator{fam: famDate, cmp: cmpLt}
	case "DateLessThanEquals":
		op = operator{fam: famDate, cmp: cmpLe}
	case "DateGreaterThan":
		op = operator{fam: famDate, cmp: cmpGt}
	case "DateGreaterThanEquals":
		op = operator{fam: famDate, cmp: cmpGe}
	case "Bool":
		op = operator{fam: famBool}
	case "IpAddress":
		op = operator{fam: famIP}
	case "NotIpAddress":
		op = operator{fam: famIP, negated: true}
	case "Null":
		if ifExists {
			return operator{}, false
		}
		op = operator{fam: famNull}
	default:
		return operator{}, false
	}
	op.ifExists = ifExists
	return op, true
}

// condition is one (operator, key, values) triple of a Condition block.
type condition struct {
	opName string
	op     operator
	key    condKey
	values []string // as written, numbers and booleans in their JSON text

	pats  []pattern // famString
	nums  []float64 // famNumeric
	dates []time.Time
	bools []bool // famBool, famNull
	nets  []netip.Prefix
}

// compileCondition checks that op may test key and compiles the values.
func compileCondition(opName string, op operator, key condKey, values []string, variables bool, path string) (condition, error) {
	c := condition{opName: opName, op: op, key: key, values: values}
	allowed := op.fam == famString || op.fam == famNull ||
		(op.fam == famNumeric && key.typ == typeNumeric) ||
		(op.fam == famDate && key.typ == typeDate) ||
		(op.fam == famBool && key.typ == typeBool) ||
		(op.fam == famIP && key.typ == typeIP)
	if !allowed {
		return c, policyErr(path, "operator %s cannot test key %s", opName, key.name)
	}
	for _, v := range values {
		switch op.fam {
		case famString:
			p, err := compilePattern(v, path, op.cmp == cmpLike, variables, op.fold)
			if err != nil {
				return c, err
			}
			c.pats = append(c.pats, p)
		case famNumeric:
			n, ok := parseNumber(v)
			if !ok {
				return c, policyErr(path, "%q is not a number", v)
			}
			c.nums = append(c.nums, n)
		case famDate:
			d, ok := parseDate(v)
			if !ok {
				return c, policyErr(path, "%q is not a date (RFC 3339, YYYY-MM-DD or epoch seconds)", v)
			}
			c.dates = append(c.dates, d)
		case famBool, famNull:
			b, ok := parseBool(v)
			if !ok {
				return c, policyErr(path, "%q is not true or false", v)
			}
			c.bools = append(c.bools, b)
		case famIP:
			n, ok := parsePrefix(v)
			if !ok {
				return c, policyErr(path, "%q is not an IP address or CIDR block", v)
			}
			c.nets = append(c.nets, n)
		}
	}
	return c, nil
}

// eval reports whether the condition holds for the request. AWS's rules:
// a missing key makes positive operators false and negated ones true
// (...IfExists: true either way); several policy values are ORed, and
// NORed for negated operators.
func (c *condition) eval(ec *evalContext) bool {
	vals, present := ec.values(c.key.name)
	if c.op.fam == famNull {
		for _, wantAbsent := range c.bools {
			if wantAbsent != present {
				return true
			}
		}
		return false
	}
	if !present {
		return c.op.ifExists || c.op.negated
	}
	matched := false
	for _, rv := range vals {
		if c.matchOne(rv, ec) {
			matched = true
			break
		}
	}
	return matched != c.op.negated
}

// matchOne reports whether one request value matches any policy value,
// ignoring negation. A request value of the wrong type matches nothing.
func (c *condition) matchOne(rv string, ec *evalContext) bool {
	switch c.op.fam {
	case famString:
		for i := range c.pats {
			if c.pats[i].match(rv, ec.variable) {
				return true
			}
		}
	case famNumeric:
		n, ok := parseNumber(rv)
		if !ok {
			return false
		}
		for _, v := range c.nums {
			if compare(c.op.cmp, n, v) {
				return true
			}
		}
	case famDate:
		d, ok := parseDate(rv)
		if !ok {
			return false
		}
		for _, v := range c.dates {
			if compare(c.op.cmp, float64(d.Sub(v)), 0) {
				return true
			}
		}
	case famBool:
		b, ok := parseBool(rv)
		if !ok {
			return false
		}
		for _, v := range c.bools {
			if b == v {
				return true
			}
		}
	case famIP:
		addr, err := netip.ParseAddr(rv)
		if err != nil {
			return false
		}
		addr = addr.Unmap().WithZone("")
		for _, n := range c.nets {
			if n.Contains(addr) {
				return true
			}
		}
	}
	return false
}

func compare(c cmp, a, b float64) bool {
	switch c {
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return a == b
}

func parseNumber(s string) (float64, bool) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, false
	}
	return n, true
}

// parseDate accepts what AWS documents for date conditions: ISO 8601 with
// or without a zone (UTC when absent), a bare date, or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s != "" && strings.Trim(s, "0123456789") == "" && len(s) <= 12 {
		n, err := strconv.ParseInt(s, 10, 64)
		return time.Unix(n, 0).UTC(), err == nil
	}
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parsePrefix accepts a CIDR block (host bits are ignored) or a single
// address; IPv4-mapped IPv6 blocks are unmapped so that they match
// the plain IPv4 addresses requests carry.
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
