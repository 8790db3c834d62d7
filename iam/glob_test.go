package iam

import (
	"math/rand"
	"testing"
	"unicode/utf8"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		name      string
		pat, s    string
		fold      bool
		wildcards bool
		want      bool
	}{
		{"exact", "abc", "abc", false, true, true},
		{"exact mismatch", "abc", "abd", false, true, false},
		{"star empty", "a*", "a", false, true, true},
		{"star crosses slash", "arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y/z", false, true, true},
		{"star middle", "a*c", "abbbc", false, true, true},
		{"star backtrack", "a*bc", "abcbc", false, true, true},
		{"star backtrack fail", "a*bd", "abcbc", false, true, false},
		{"two stars", "*a*b", "xxaxxb", false, true, true},
		{"quest one char", "a?c", "abc", false, true, true},
		{"quest no empty", "a?c", "ac", false, true, false},
		{"quest is one rune", "a?c", "a€c", false, true, true},
		{"only star", "*", "", false, true, true},
		{"empty pattern", "", "", false, true, true},
		{"empty pattern non-empty name", "", "a", false, true, false},
		{"case sensitive", "ABC", "abc", false, true, false},
		{"fold", "s3:getobject", "S3:GetObject", true, true, true},
		{"fold star", "s3:get*", "s3:GetObjectVersion", true, true, true},
		{"literal star without wildcards", "a*", "abc", false, false, false},
		{"literal star matches star", "a*", "a*", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compilePattern(tt.pat, "", tt.wildcards, false, tt.fold)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.match(tt.s, nil); got != tt.want {
				t.Fatalf("%q ~ %q = %v, want %v", tt.pat, tt.s, got, tt.want)
			}
		})
	}
}

func TestPatternVariables(t *testing.T) {
	vars := map[string]string{KeyUsername: "al*ce", KeySourceIP: "10.0.0.1"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	tests := []struct {
		name, pat, s string
		want         bool
		wantErr      bool
	}{
		{"variable literal", "home/${aws:username}/*", "home/al*ce/x", true, false},
		{"variable value is not a wildcard", "home/${aws:username}/*", "home/alice/x", false, false},
		{"key case-insensitive", "home/${AWS:UserName}", "home/al*ce", true, false},
		{"escape star", "a${*}b", "a*b", true, false},
		{"escape star literal", "a${*}b", "axb", false, false},
		{"escape quest and dollar", "${?}${$}", "?$", true, false},
		{"missing variable", "${s3:prefix}", "", false, false},
		{"unknown variable", "${aws:nope}", "", false, true},
		{"unterminated", "${aws:username", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compilePattern(tt.pat, "", true, true, false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("compile %q: err %v, wantErr %v", tt.pat, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := p.match(tt.s, lookup); got != tt.want {
				t.Fatalf("%q ~ %q = %v, want %v", tt.pat, tt.s, got, tt.want)
			}
		})
	}
}

// refMatch is a dynamic-programming reference matcher over runes.
func refMatch(pat []rune, name []rune) bool {
	// m[i][j]: pat[i:] matches name[j:].
	m := make([][]bool, len(pat)+1)
	for i := range m {
		m[i] = make([]bool, len(name)+1)
	}
	m[len(pat)][len(name)] = true
	for i := len(pat) - 1; i >= 0; i-- {
		for j := len(name); j >= 0; j-- {
			switch {
			case pat[i] == elemStar:
				m[i][j] = m[i+1][j] || (j < len(name) && m[i][j+1])
			case j < len(name) && (pat[i] == elemQuest || pat[i] == name[j]):
				m[i][j] = m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}

func TestGlobMatchesReference(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	alphabet := []rune("ab/€")
	for range 20000 {
		pat := make([]rune, rng.Intn(8))
		for i := range pat {
			switch rng.Intn(6) {
			case 0:
				pat[i] = elemStar
			case 1:
				pat[i] = elemQuest
			default:
				pat[i] = alphabet[rng.Intn(len(alphabet))]
			}
		}
		name := make([]rune, rng.Intn(10))
		for i := range name {
			name[i] = alphabet[rng.Intn(len(alphabet))]
		}
		if got, want := globMatch(pat, string(name), false), refMatch(pat, name); got != want {
			t.Fatalf("pattern %v name %q: got %v, want %v", pat, string(name), got, want)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add("*/*", "a/b")
	f.Add("**?", "")
	f.Fuzz(func(t *testing.T, pat, name string) {
		if len(pat) > 64 || len(name) > 64 || !utf8.ValidString(pat) || !utf8.ValidString(name) {
			return
		}
		p, err := compilePattern(pat, "", true, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.match(name, nil), refMatch(p.elems, []rune(name)); got != want {
			t.Fatalf("%q ~ %q: got %v, want %v", pat, name, got, want)
		}
	})
}

func TestGlobMatchLonger(t *testing.T) {
	tests := []struct {
		name, pat, prefix string
		want              bool
	}{
		{"star after the prefix", "arn:aws:s3:::b/*", "arn:aws:s3:::b/", true},
		{"key prefix", "arn:aws:s3:::b/public/*", "arn:aws:s3:::b/", true},
		{"exact key", "arn:aws:s3:::b/k", "arn:aws:s3:::b/", true},
		{"other bucket", "arn:aws:s3:::c/*", "arn:aws:s3:::b/", false},
		{"bucket only", "arn:aws:s3:::b", "arn:aws:s3:::b/", false},
		{"bucket and slash only", "arn:aws:s3:::b/", "arn:aws:s3:::b/", false},
		{"longer bucket", "arn:aws:s3:::bb/*", "arn:aws:s3:::b/", false},
		{"bucket wildcard", "arn:aws:s3:::b*", "arn:aws:s3:::b/", true},
		{"star", "*", "arn:aws:s3:::b/", true},
		{"quest", "arn:aws:s3:::?/x", "arn:aws:s3:::b/", true},
		{"quest may match the slash", "arn:aws:s3:::??/x", "arn:aws:s3:::b/", true},
		{"literal too long", "arn:aws:s3:::bc/x", "arn:aws:s3:::b/", false},
		{"star in the middle", "arn:aws:s3:::*/secret", "arn:aws:s3:::b/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compilePattern(tt.pat, "", true, false, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.matchLonger(tt.prefix, nil); got != tt.want {
				t.Fatalf("%q matches %q + more = %v, want %v", tt.pat, tt.prefix, got, tt.want)
			}
		})
	}
}

// TestGlobMatchLongerReference checks globMatchLonger against a search
// of every continuation short enough to be a witness: a pattern of n
// elements that matches some longer name matches one at most n longer.
func TestGlobMatchLongerReference(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	alphabet := []rune("ab/€")
	var suffixes [][]rune
	var grow func(s []rune)
	grow = func(s []rune) {
		if len(s) > 0 {
			suffixes = append(suffixes, s)
		}
		if len(s) == 4 {
			return
		}
		for _, r := range alphabet {
			grow(append(s[:len(s):len(s)], r))
		}
	}
	grow(nil)
	for range 3000 {
		pat := make([]rune, rng.Intn(5))
		for i := range pat {
			switch rng.Intn(6) {
			case 0:
				pat[i] = elemStar
			case 1:
				pat[i] = elemQuest
			default:
				pat[i] = alphabet[rng.Intn(len(alphabet))]
			}
		}
		prefix := make([]rune, rng.Intn(4))
		for i := range prefix {
			prefix[i] = alphabet[rng.Intn(len(alphabet))]
		}
		want := false
		for _, s := range suffixes {
			if refMatch(pat, append(prefix[:len(prefix):len(prefix)], s...)) {
				want = true
				break
			}
		}
		if got := globMatchLonger(pat, string(prefix), false); got != want {
			t.Fatalf("pattern %v prefix %q: got %v, want %v", pat, string(prefix), got, want)
		}
	}
}
