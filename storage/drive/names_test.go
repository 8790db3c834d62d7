package drive

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nameRE is the specification of a valid file name; ValidName must agree
// with it (plus the ".." rule).
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"part.1", true},
		{"a", true},
		{"0", true},
		{"xl.meta", true},
		{"a-b_c.d", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"..", false},
		{".", false},
		{"../x", false},
		{"a/../../b", false},
		{"a..b", false},
		{"a/b", false},
		{"/abs", false},
		{`a\b`, false},
		{".hidden", false},
		{"-flag", false},
		{"_x", false},
		{"Part.1", false},
		{"PART", false},
		{"a b", false},
		{"a\x00", false},
		{"é", false},
		{"a:b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidName(tt.name); got != tt.ok {
				t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
			}
		})
	}
}

func TestValidDataID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{strings.Repeat("f", 32), true},
		{strings.Repeat("f", 31), false},
		{strings.Repeat("f", 33), false},
		{"0123456789ABCDEF0123456789abcdef", false},
		{"0123456789abcdeg0123456789abcdef", false},
		{"../3456789abcdef0123456789abcdef", false},
		{"01/3456789abcdef0123456789abcdef", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := ValidDataID(tt.id); got != tt.ok {
				t.Errorf("ValidDataID(%q) = %v, want %v", tt.id, got, tt.ok)
			}
		})
	}
}

func TestNewDataID(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 1000; i++ {
		id := NewDataID()
		if !ValidDataID(id) {
			t.Fatalf("NewDataID() = %q, not valid", id)
		}
		if seen[id] {
			t.Fatalf("NewDataID() repeated %q", id)
		}
		seen[id] = true
	}
}

// TestRefusesBadNames: every entry point that takes a data id or a name
// refuses traversal attempts before touching the file system.
func TestRefusesBadNames(t *testing.T) {
	d, dir := openTest(t, Options{})
	ctx := context.Background()
	goodID := NewDataID()
	badIDs := []string{"", "../../../../etc/passwd", "ab/cdef", strings.ToUpper(goodID), goodID[:31], goodID + "0"}
	badNames := []string{"", "../x", "a/b", "..", "Upper", strings.Repeat("n", 65), "/etc/passwd", ".x"}

	type call struct {
		name string
		fn   func(id, name string) error
	}
	calls := []call{
		{"Commit", func(id, name string) error {
			sf, err := d.CreateStaging(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Abort()
			return sf.Commit(ctx, id, name)
		}},
		{"OpenData", func(id, name string) error {
			f, err := d.OpenData(ctx, id, name)
			if err == nil {
				f.Close()
			}
			return err
		}},
		{"RemoveData", func(id, _ string) error { return d.RemoveData(ctx, id) }},
	}
	for _, c := range calls {
		for _, id := range badIDs {
			t.Run(c.name+"/id="+id, func(t *testing.T) {
				if err := c.fn(id, "part.1"); !errors.Is(err, ErrInvalidName) {
					t.Errorf("%s(%q) = %v, want ErrInvalidName", c.name, id, err)
				}
			})
		}
		if c.name == "RemoveData" {
			continue
		}
		for _, name := range badNames {
			t.Run(c.name+"/name="+name, func(t *testing.T) {
				if err := c.fn(goodID, name); !errors.Is(err, ErrInvalidName) {
					t.Errorf("%s(%q) = %v, want ErrInvalidName", c.name, name, err)
				}
			})
		}
	}
	if es := entries(t, filepath.Join(dir, "data")); len(es) != 0 {
		t.Errorf("refused calls created %v in data/", es)
	}
}

// FuzzValidName checks ValidName against the regular expression of the
// specification and that an accepted name never leaves its directory.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"part.1", "..", "../x", "a/b", "a..b", "A", "", "a\x00", strings.Repeat("z", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ok := ValidName(name)
		spec := nameRE.MatchString(name) && !strings.Contains(name, "..")
		if ok != spec {
			t.Fatalf("ValidName(%q) = %v, specification says %v", name, ok, spec)
		}
		if !ok {
			return
		}
		root := "/drive/data/ab/" + strings.Repeat("a", 32)
		p := filepath.Join(root, name)
		if filepath.Dir(p) != root || filepath.Base(p) != name {
			t.Fatalf("valid name %q resolves to %q outside %q", name, p, root)
		}
	})
}

// FuzzValidDataID: an accepted id is 32 lower-case hex characters and
// maps to a path two levels below data/.
func FuzzValidDataID(f *testing.F) {
	for _, s := range []string{NewDataID(), "", "../" + strings.Repeat("a", 29), strings.Repeat("A", 32)} {
		f.Add(s)
	}
	hexRE := regexp.MustCompile(`^[0-9a-f]{32}$`)
	f.Fuzz(func(t *testing.T, id string) {
		ok := ValidDataID(id)
		if ok != hexRE.MatchString(id) {
			t.Fatalf("ValidDataID(%q) = %v, disagrees with the specification", id, ok)
		}
		if ok {
			p := dataDir("/drive", id)
			if p != "/drive/data/"+id[:2]+"/"+id {
				t.Fatalf("dataDir(%q) = %q", id, p)
			}
		}
	})
}
