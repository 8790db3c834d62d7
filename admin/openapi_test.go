package admin

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/objstore/objstore/iam"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the route table")

// openAPIFor renders the document for a route table. The checked-in
// openapi.json is this output, reviewed; TestOpenAPIMatchesRoutes keeps
// the two in step (run with -update after changing a route).
func openAPIFor(routes []route) map[string]any {
	paths := map[string]map[string]any{}
	param := regexp.MustCompile(`\{([a-z]+)\}`)
	for _, rt := range routes {
		p := paths[Prefix+rt.Path]
		if p == nil {
			p = map[string]any{}
			paths[Prefix+rt.Path] = p
		}
		op := map[string]any{
			"operationId": rt.Name,
			"summary":     rt.Summary,
			"responses": map[string]any{
				"2XX":     map[string]any{"description": "Success (JSON, or JSON lines for /audit/export)."},
				"default": map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		switch {
		case rt.Public:
			op["security"] = []any{}
		case len(rt.Scopes) == 0:
			op["security"] = []any{map[string]any{"rootBasic": []any{}}}
			op["x-scopes"] = []string{}
		default:
			op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"rootBasic": []any{}}}
			op["x-scopes"] = rt.Scopes
		}
		var params []any
		for _, m := range param.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Method == "POST" || rt.Method == "PUT" {
			op["requestBody"] = map[string]any{"required": false, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		p[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "objstore admin API",
			"version": "1",
			"description": "Management API of objstore. Authenticate with an admin token (Authorization: Bearer, scopes in x-scopes: any one of them admits) " +
				"or with the root credentials by HTTP Basic (required to mint tokens); either only over TLS or from loopback. " +
				"Scopes a token may hold (a write scope implies its read scope): " + strings.Join(iam.Scopes(), ", ") + "; " +
				"metrics:read admits to the Prometheus metrics at /metrics, outside this API, with the same credentials and errors. " +
				"Request bodies must be sent with Content-Type: application/json. Errors are JSON {code, message, requestId}; " +
				"codes: Unauthorized, TokenExpired, TokenRevoked, InsecureTransport (401); Forbidden (403); NotFound, NoSuchUser, NoSuchAccessKey, NoSuchPolicy, " +
				"NoSuchToken, NoSuchBucket (404); MethodNotAllowed (405); UserExists, AccessKeyExists, BucketExists, PolicyInUse, BuiltinPolicy, HealRunning (409); " +
				"InvalidRequest, InvalidName, InvalidScope, InvalidExpiry, InvalidSecret, MalformedPolicy (400); RequestTooLarge (413); UnsupportedMediaType (415); InternalError (500); " +
				"Unavailable, AuditUnavailable, KMSUnavailable, UsageUnavailable (503).",
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":    map[string]any{"type": "http", "scheme": "bearer"},
				"rootBasic": map[string]any{"type": "http", "scheme": "basic"},
			},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "required": []string{"code", "message", "requestId"}, "properties": map[string]any{
					"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "requestId": map[string]any{"type": "string"}}},
			},
		},
		"paths": paths,
	}
}

func renderOpenAPI(t *testing.T) []byte {
	t.Helper()
	b, err := json.MarshalIndent(openAPIFor((&Handler{}).table()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestOpenAPIMatchesRoutes walks every registered route and checks it
// is in the checked-in document with its scopes, and that the document
// has nothing else.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	if *update {
		if err := os.WriteFile("openapi.json", renderOpenAPI(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var doc struct {
		OpenAPI string
		Paths   map[string]map[string]struct {
			OperationID string   `json:"operationId"`
			Scopes      []string `json:"x-scopes"`
		}
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	seen := map[string]bool{}
	for _, rt := range (&Handler{}).table() {
		key := rt.Method + " " + Prefix + rt.Path
		seen[key] = true
		op, ok := doc.Paths[Prefix+rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		if op.OperationID != rt.Name {
			t.Errorf("%s: operationId %q, route name %q", key, op.OperationID, rt.Name)
		}
		if !rt.Public && strings.Join(op.Scopes, ",") != strings.Join(rt.Scopes, ",") {
			t.Errorf("%s: x-scopes %v, route scopes %v", key, op.Scopes, rt.Scopes)
		}
	}
	var extra []string
	for p, ops := range doc.Paths {
		for m := range ops {
			if key := strings.ToUpper(m) + " " + p; !seen[key] {
				extra = append(extra, key)
			}
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		t.Errorf("openapi.json documents %s, which no route serves", k)
	}
	if !bytes.Equal(openAPIDocument, renderOpenAPI(t)) {
		t.Error("openapi.json differs from the rendered route table; run go test ./admin -run OpenAPI -update and review the diff")
	}
}
