package iam

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestPermissions(t *testing.T) {
	tests := []struct {
		op     string
		target Target
		want   []Permission
	}{
		{"ListBuckets", Target{}, []Permission{{Action: "s3:ListAllMyBuckets"}}},
		{"ListObjectsV2", Target{Bucket: "b"}, []Permission{{"s3:ListBucket", "b", ""}}},
		{"ListObjects", Target{Bucket: "b"}, []Permission{{"s3:ListBucket", "b", ""}}},
		{"HeadBucket", Target{Bucket: "b"}, []Permission{{"s3:ListBucket", "b", ""}}},
		{"ListObjectVersions", Target{Bucket: "b"}, []Permission{{"s3:ListBucketVersions", "b", ""}}},
		{"ListMultipartUploads", Target{Bucket: "b"}, []Permission{{"s3:ListBucketMultipartUploads", "b", ""}}},
		{"CreateBucket", Target{Bucket: "b"}, []Permission{{"s3:CreateBucket", "b", ""}}},
		{"DeleteBucket", Target{Bucket: "b"}, []Permission{{"s3:DeleteBucket", "b", ""}}},
		{"GetBucketLocation", Target{Bucket: "b"}, []Permission{{"s3:GetBucketLocation", "b", ""}}},
		{"GetBucketPolicy", Target{Bucket: "b"}, []Permission{{"s3:GetBucketPolicy", "b", ""}}},
		{"PutBucketPolicy", Target{Bucket: "b"}, []Permission{{"s3:PutBucketPolicy", "b", ""}}},
		{"DeleteBucketPolicy", Target{Bucket: "b"}, []Permission{{"s3:DeleteBucketPolicy", "b", ""}}},
		{"GetObject", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:GetObject", "b", "k"}}},
		{"GetObject version", Target{Bucket: "b", Key: "k", VersionID: "v1"}, []Permission{{"s3:GetObjectVersion", "b", "k"}}},
		{"HeadObject", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:GetObject", "b", "k"}}},
		{"GetObjectAttributes", Target{Bucket: "b", Key: "k"},
			[]Permission{{"s3:GetObject", "b", "k"}, {"s3:GetObjectAttributes", "b", "k"}}},
		{"GetObjectAttributes version", Target{Bucket: "b", Key: "k", VersionID: "v"},
			[]Permission{{"s3:GetObjectVersion", "b", "k"}, {"s3:GetObjectVersionAttributes", "b", "k"}}},
		{"PutObject", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:PutObject", "b", "k"}}},
		{"PostObject", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:PutObject", "b", "k"}}},
		{"CreateMultipartUpload", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:PutObject", "b", "k"}}},
		{"UploadPart", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:PutObject", "b", "k"}}},
		{"CompleteMultipartUpload", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:PutObject", "b", "k"}}},
		{"AbortMultipartUpload", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:AbortMultipartUpload", "b", "k"}}},
		{"ListParts", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:ListMultipartUploadParts", "b", "k"}}},
		{"CopyObject", Target{Bucket: "b", Key: "k", SourceBucket: "s", SourceKey: "sk"},
			[]Permission{{"s3:PutObject", "b", "k"}, {"s3:GetObject", "s", "sk"}}},
		{"CopyObject source version", Target{Bucket: "b", Key: "k", SourceBucket: "s", SourceKey: "sk", SourceVersionID: "v"},
			[]Permission{{"s3:PutObject", "b", "k"}, {"s3:GetObjectVersion", "s", "sk"}}},
		{"UploadPartCopy", Target{Bucket: "b", Key: "k", SourceBucket: "s", SourceKey: "sk"},
			[]Permission{{"s3:PutObject", "b", "k"}, {"s3:GetObject", "s", "sk"}}},
		{"DeleteObject", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:DeleteObject", "b", "k"}}},
		{"DeleteObject version", Target{Bucket: "b", Key: "k", VersionID: "v"}, []Permission{{"s3:DeleteObjectVersion", "b", "k"}}},
		{"DeleteObjects", Target{Bucket: "b", Key: "k"}, []Permission{{"s3:DeleteObject", "b", "k"}}},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			op, _, _ := strings.Cut(tt.op, " ")
			got, err := Permissions(op, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := Permissions("Frobnicate", Target{}); !errors.Is(err, ErrUnknownOperation) {
		t.Fatalf("unknown operation: %v", err)
	}
	if spec, _ := Operation("DeleteObjects"); !spec.PerKey {
		t.Fatal("DeleteObjects is not PerKey")
	}
}

func TestOperationNamesAllKnown(t *testing.T) {
	for _, op := range OperationNames() {
		spec, ok := Operation(op)
		if !ok {
			t.Errorf("OperationNames lists %s, which Operation does not know", op)
			continue
		}
		if _, err := ParsePolicy([]byte(allow(spec.Action, "*"))); err != nil {
			t.Errorf("%s: action %s does not parse: %v", op, spec.Action, err)
		}
	}
}

// TestS3APIOperationsCovered reads s3api's router (selectOp) and checks
// that every operation it can name has an entry in the action table, so a
// new route cannot bypass authorization by falling off the table.
func TestS3APIOperationsCovered(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "s3api", "*.go"))
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "selectOp" {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				ret, ok := n.(*ast.ReturnStmt)
				if !ok || len(ret.Results) == 0 {
					return true
				}
				if lit, ok := ret.Results[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && s != "" {
						names = append(names, s)
					}
				}
				return true
			})
		}
	}
	if len(names) == 0 {
		t.Skip("s3api has no selectOp function to read")
	}
	for _, op := range names {
		if _, ok := Operation(op); !ok {
			t.Errorf("s3api routes %s, which has no entry in the action table", op)
		}
	}
	t.Logf("%d routed operations covered", len(names))
}
