package iam

import (
	"strings"
	"unicode/utf8"
)

// Wildcard elements of a compiled pattern; literal runes are >= 0.
const (
	elemStar  rune = -1 // '*': any run of characters, '/' included
	elemQuest rune = -2 // '?': exactly one character
)

// pattern is a compiled Action, Resource or condition value. Wildcards and
// policy variables are resolved at compile time into elements, so that a
// variable's value (a user name, an address) is always matched literally:
// a user called "*" matches only "*".
type pattern struct {
	src   string
	elems []rune    // the whole pattern when it has no variables
	parts []patPart // non-nil when it has variables
	fold  bool      // ASCII case-insensitive (actions, IgnoreCase operators)
}

// patPart is a run of elements, or a policy variable when key != "".
type patPart struct {
	elems []rune
	key   string
}

// compilePattern compiles src. wildcards: '*' and '?' are wildcards
// (otherwise literal); variables: ${key} is a policy variable and ${*},
// ${?}, ${$} are the literal characters (2012-10-17 policies only).
func compilePattern(src, path string, wildcards, variables, fold bool) (pattern, error) {
	p := pattern{src: src, fold: fold}
	var cur []rune
	hasVar := false
	for i := 0; i < len(src); {
		if variables && strings.HasPrefix(src[i:], "${") {
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return p, policyErr(path, "unterminated policy variable in %q", src)
			}
			name := src[i+2 : i+end]
			i += end + 1
			switch name {
			case "*", "?", "$":
				cur = append(cur, rune(name[0]))
				continue
			}
			key, ok := lookupKey(name)
			if !ok {
				return p, policyErr(path, "unknown policy variable ${%s}", name)
			}
			hasVar = true
			p.parts = append(p.parts, patPart{elems: cur}, patPart{key: key.name})
			cur = nil
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		i += size
		switch {
		case wildcards && r == '*':
			r = elemStar
		case wildcards && r == '?':
			r = elemQuest
		case fold:
			r = lowerASCII(r)
		}
		cur = append(cur, r)
	}
	if hasVar {
		p.parts = append(p.parts, patPart{elems: cur})
	} else {
		p.elems = cur
	}
	return p, nil
}

// match reports whether name matches; lookup resolves policy variables
// (a variable without a value makes the pattern match nothing, as AWS).
func (p *pattern) match(name string, lookup func(key string) (string, bool)) bool {
	elems, ok := p.resolve(lookup)
	return ok && globMatch(elems, name, p.fold)
}

// matchLonger reports whether some name that begins with prefix and has
// at least one character more matches: a Resource that could name some
// object of a bucket whose key is not known yet (prefix "arn:aws:s3:::b/").
func (p *pattern) matchLonger(prefix string, lookup func(key string) (string, bool)) bool {
	elems, ok := p.resolve(lookup)
	return ok && globMatchLonger(elems, prefix, p.fold)
}

// resolve returns the pattern's elements with its variables' values; ok
// is false when a variable has none.
func (p *pattern) resolve(lookup func(key string) (string, bool)) ([]rune, bool) {
	if p.parts == nil {
		return p.elems, true
	}
	n := 0
	for _, part := range p.parts {
		n += len(part.elems)
	}
	elems := make([]rune, 0, n+32)
	for _, part := range p.parts {
		if part.key == "" {
			elems = append(elems, part.elems...)
			continue
		}
		v, ok := lookup(part.key)
		if !ok {
			return nil, false
		}
		for _, r := range v {
			if p.fold {
				r = lowerASCII(r)
			}
			elems = append(elems, r)
		}
	}
	return elems, true
}

// globMatch matches name against elements with '*' and '?' wildcards. It
// is the classic greedy matcher that backtracks to the last '*' only, so
// it runs in O(len(pat) * len(name)) whatever the pattern.
func globMatch(pat []rune, name string, fold bool) bool {
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		r, size := utf8.DecodeRuneInString(name[n:])
		if fold {
			r = lowerASCII(r)
		}
		if p < len(pat) {
			switch c := pat[p]; {
			case c == elemStar:
				starP, starN = p, n
				p++
				continue
			case c == elemQuest || c == r:
				p++
				n += size
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry.
		_, skip := utf8.DecodeRuneInString(name[starN:])
		starN += skip
		p, n = starP+1, starN
	}
	for p < len(pat) && pat[p] == elemStar {
		p++
	}
	return p == len(pat)
}

// globMatchLonger reports whether pat matches some name made of prefix
// and at least one more character. It follows every position of pat that
// prefix can lead to (a set, so O(len(pat) * len(prefix)) whatever the
// pattern); the name can be finished from any position short of the
// pattern's end, since what remains of the pattern matches some
// non-empty name ('*' one character, the rest themselves).
func globMatchLonger(pat []rune, prefix string, fold bool) bool {
	cur := make([]bool, len(pat)+1)
	next := make([]bool, len(pat)+1)
	cur[0] = true
	skipStars(pat, cur)
	for _, r := range prefix {
		if fold {
			r = lowerASCII(r)
		}
		clear(next)
		live := false
		for i, c := range pat {
			if !cur[i] {
				continue
			}
			switch {
			case c == elemStar:
				next[i], live = true, true
			case c == elemQuest || c == r:
				next[i+1], live = true, true
			}
		}
		if !live {
			return false
		}
		skipStars(pat, next)
		cur, next = next, cur
	}
	for i := range pat {
		if cur[i] {
			return true
		}
	}
	return false
}

// skipStars adds to the positions in at those a '*' there may be skipped
// to (it matches the empty string).
func skipStars(pat []rune, at []bool) {
	for i, c := range pat {
		if at[i] && c == elemStar {
			at[i+1] = true
		}
	}
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + ('a' - 'A')
	}
	return r
}
