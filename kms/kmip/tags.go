package kmip

import "fmt"

// tag is a KMIP tag (three bytes, 0x42xxxx for the standard ones).
type tag uint32

// The tags objstore uses, from the KMIP 1.4 specification, section 9.1.3.1.
const (
	tagActivationDate          tag = 0x420001
	tagAttribute               tag = 0x420008
	tagAttributeIndex          tag = 0x420009
	tagAttributeName           tag = 0x42000A
	tagAttributeValue          tag = 0x42000B
	tagBatchCount              tag = 0x42000D
	tagBatchItem               tag = 0x42000F
	tagBlockCipherMode         tag = 0x420011
	tagCryptographicAlgorithm  tag = 0x420028
	tagCryptographicLength     tag = 0x42002A
	tagCryptographicParameters tag = 0x42002B
	tagCryptographicUsageMask  tag = 0x42002C
	tagInitialDate             tag = 0x420039
	tagIVCounterNonce          tag = 0x42003D
	tagMaximumItems            tag = 0x42004F
	tagName                    tag = 0x420053
	tagNameType                tag = 0x420054
	tagNameValue               tag = 0x420055
	tagObjectGroup             tag = 0x420056
	tagObjectType              tag = 0x420057
	tagOperation               tag = 0x42005C
	tagProtocolVersion         tag = 0x420069
	tagProtocolVersionMajor    tag = 0x42006A
	tagProtocolVersionMinor    tag = 0x42006B
	tagRequestHeader           tag = 0x420077
	tagRequestMessage          tag = 0x420078
	tagRequestPayload          tag = 0x420079
	tagResponseHeader          tag = 0x42007A
	tagResponseMessage         tag = 0x42007B
	tagResponsePayload         tag = 0x42007C
	tagResultMessage           tag = 0x42007D
	tagResultReason            tag = 0x42007E
	tagResultStatus            tag = 0x42007F
	tagState                   tag = 0x42008D
	tagTemplateAttribute       tag = 0x420091
	tagTimeStamp               tag = 0x420092
	tagUniqueIdentifier        tag = 0x420094
	tagData                    tag = 0x4200C2
	tagTagLength               tag = 0x4200CE
	tagAEADAdditionalData      tag = 0x4200FE
	tagAEADTag                 tag = 0x4200FF
)

// Operations (enumeration values of tagOperation).
const (
	opCreate        = 0x01
	opLocate        = 0x08
	opGetAttributes = 0x0B
	opActivate      = 0x12
	opDestroy       = 0x14
	opEncrypt       = 0x1F
	opDecrypt       = 0x20
)

// opName names an operation for errors.
func opName(op uint32) string {
	switch op {
	case opCreate:
		return "Create"
	case opLocate:
		return "Locate"
	case opGetAttributes:
		return "Get Attributes"
	case opActivate:
		return "Activate"
	case opDestroy:
		return "Destroy"
	case opEncrypt:
		return "Encrypt"
	case opDecrypt:
		return "Decrypt"
	}
	return fmt.Sprintf("operation %#x", op)
}

// Enumeration values.
const (
	objectTypeSymmetricKey = 0x02
	algorithmAES           = 0x03
	blockModeGCM           = 0x09
	nameTypeText           = 0x01
	stateActive            = 0x02
	usageEncrypt           = 0x04
	usageDecrypt           = 0x08

	statusSuccess         = 0x00
	statusOperationFailed = 0x01

	reasonItemNotFound        = 0x01
	reasonCryptographicFailed = 0x0A
	reasonPermissionDenied    = 0x0C // PyKMIP: a key not in the Active state, among others
	reasonObjectArchived      = 0x0D
	reasonGeneralFailure      = 0x100
)

// reasonName names a Result Reason (KMIP 1.4, 9.1.3.2.29).
func reasonName(r uint32) string {
	switch r {
	case 0x01:
		return "Item Not Found"
	case 0x02:
		return "Response Too Large"
	case 0x03:
		return "Authentication Not Successful"
	case 0x04:
		return "Invalid Message"
	case 0x05:
		return "Operation Not Supported"
	case 0x06:
		return "Missing Data"
	case 0x07:
		return "Invalid Field"
	case 0x08:
		return "Feature Not Supported"
	case 0x09:
		return "Operation Canceled By Requester"
	case 0x0A:
		return "Cryptographic Failure"
	case 0x0B:
		return "Illegal Operation"
	case 0x0C:
		return "Permission Denied"
	case 0x0D:
		return "Object Archived"
	case 0x0E:
		return "Index Out of Bounds"
	case 0x0F:
		return "Application Namespace Not Supported"
	case 0x10:
		return "Key Format Type Not Supported"
	case 0x11:
		return "Key Compression Type Not Supported"
	case 0x100:
		return "General Failure"
	}
	return fmt.Sprintf("reason %#x", r)
}
