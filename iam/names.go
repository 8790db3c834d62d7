package iam

import (
	"crypto/rand"
	"strings"
)

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	nameChars  = alnum + "+=,.@_-"
)

// randomString returns n characters drawn uniformly from alphabet
// (at most 256 characters) with crypto/rand, by rejection sampling.
func randomString(n int, alphabet string) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf) // never fails (crypto/rand, Go 1.24+)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

func onlyChars(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(chars, s[i]) < 0 {
			return false
		}
	}
	return true
}

// validUserName: AWS's rule for IAM user names.
func validUserName(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && onlyChars(s, nameChars)
}

// validPolicyName: AWS's rule for managed policy names.
func validPolicyName(s string) bool {
	return len(s) >= 1 && len(s) <= 128 && onlyChars(s, nameChars)
}

func validAccessKeyID(s string) bool {
	return len(s) >= 16 && len(s) <= 128 && onlyChars(s, alnum)
}

func validSecret(s string) bool {
	if len(s) < 40 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
