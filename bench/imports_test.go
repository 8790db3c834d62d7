package bench

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the design's arrow: bench talks to a server over the
// network, so outside its tests it imports no server, storage or s3api code;
// only the pure erasure codec and s3api/checksum, whose stages it measures.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var info struct{ Imports []string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	const module = "github.com/objstore/objstore/"
	allowed := map[string]bool{module + "erasure": true, module + "s3api/checksum": true}
	for _, dep := range info.Imports {
		if strings.HasPrefix(dep, module) && !allowed[dep] {
			t.Errorf("bench imports %s; it may import only erasure and s3api/checksum of the project", dep)
		}
	}
}
