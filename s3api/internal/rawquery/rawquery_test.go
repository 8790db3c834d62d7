package rawquery

import (
	"net/url"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw  string
		want []Pair
	}{
		{"", nil},
		{"a", []Pair{{"a", ""}}},
		{"a=", []Pair{{"a", ""}}},
		{"b=2&a=1&b=1", []Pair{{"b", "2"}, {"a", "1"}, {"b", "1"}}},
		{"x=a+b%2Fc", []Pair{{"x", "a b/c"}}},
		{"&&k=v&", []Pair{{"k", "v"}}},
		{"bad=%zz&ok=%41", []Pair{{"bad", "%zz"}, {"ok", "A"}}},
		{"k=v=w", []Pair{{"k", "v=w"}}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			if got := Parse(tt.raw); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.raw, got, tt.want)
			}
		})
	}
}

// FuzzParse checks Parse never panics and, for queries url.ParseQuery
// accepts, decodes every pair as it does.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "x=a+b%2F", "%zz", "a&a=&a=1", ";"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		pairs := Parse(raw)
		std, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got := url.Values{}
		for _, p := range pairs {
			got[p.Key] = append(got[p.Key], p.Value)
		}
		if !reflect.DeepEqual(got, std) && !(len(got) == 0 && len(std) == 0) {
			t.Fatalf("Parse(%q) = %v, url.ParseQuery = %v", raw, got, std)
		}
	})
}
