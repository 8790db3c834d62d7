package iam

import (
	"strings"
	"testing"
)

// TestConditionKeysParse keeps ConditionKeys, the list the package doc
// points readers to, true to the parser: every key it lists is accepted
// under its canonical spelling and in other cases, and names itself.
func TestConditionKeysParse(t *testing.T) {
	keys := ConditionKeys()
	if len(keys) == 0 {
		t.Fatal("no condition keys")
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("%q listed twice", k)
		}
		seen[k] = true
		for _, spelling := range []string{k, strings.ToUpper(k)} {
			ck, ok := lookupKey(spelling)
			if !ok || ck.name != k {
				t.Errorf("lookupKey(%q) = %+v, %v; want the key %q", spelling, ck, ok, k)
			}
		}
	}
}
