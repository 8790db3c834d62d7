package objstore

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// forbidden lists, per package, import path prefixes it must not import:
// the arrows of the design point one way. Direct imports are checked;
// since every layer is listed, a forbidden path through another package
// breaks that package's rule.
var forbidden = map[string][]string{
	"erasure":        {"github.com/objstore/objstore/", "net/http"},
	"storage/drive":  {"github.com/objstore/objstore/", "net/http"},
	"storage":        {"github.com/objstore/objstore/s3api", "github.com/objstore/objstore/server", "github.com/objstore/objstore/kms", "github.com/objstore/objstore/admin", "github.com/objstore/objstore/iam", "github.com/objstore/objstore/audit", "net/http"},
	"s3api/sigv4":    {"github.com/objstore/objstore/storage", "github.com/objstore/objstore/server"},
	"s3api/checksum": {"github.com/objstore/objstore/storage", "github.com/objstore/objstore/server"},
	"s3api":          {"github.com/objstore/objstore/server", "github.com/objstore/objstore/storage/drive", "github.com/objstore/objstore/erasure", "github.com/objstore/objstore/admin", "github.com/objstore/objstore/audit", "github.com/objstore/objstore/metrics"},
	"iam":            {"github.com/objstore/objstore/", "net/http"},
	"audit":          {"github.com/objstore/objstore/", "net/http"},
	"admin":          {"github.com/objstore/objstore/server", "github.com/objstore/objstore/s3api", "github.com/objstore/objstore/erasure", "github.com/objstore/objstore/sse"},
}

func TestImportDirection(t *testing.T) {
	const module = "github.com/objstore/objstore/"
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-json", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		var info struct{ Imports []string }
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatal(err)
		}
		for _, dep := range info.Imports {
			for _, b := range bad {
				if dep == module+pkg || strings.HasPrefix(dep, module+pkg+"/") {
					continue // its own sub-packages
				}
				if dep == b || strings.HasPrefix(dep, b) {
					t.Errorf("%s imports %s, which the layering forbids", pkg, dep)
				}
			}
		}
	}
}
