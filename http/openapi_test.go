package httpapi

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"gopkg.in/yaml.v3"
)

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.yaml is not valid YAML: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi version = %q, want 3.x", v)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIIsServed(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodGet, path: "/openapi.yaml"})
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if !bytes.Equal(w.Body.Bytes(), openAPIDocument) || !bytes.Equal(OpenAPIDocument(), openAPIDocument) {
		t.Error("served document differs from the embedded one")
	}
}

// TestOpenAPIMatchesRouter checks that the document describes exactly the routes the router serves.
func TestOpenAPIMatchesRouter(t *testing.T) {
	doc := loadOpenAPI(t)
	mux, err := newMux(Config{}, deps(newFakeApp(), nil))
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	err = chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served = append(served, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := doc["paths"].(map[string]any)
	var documented []string
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if _, ok := ops[m]; ok {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is served but not in openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("route %s is in openapi.yaml but not served", r)
		}
	}
	if len(served) < 30 {
		t.Errorf("only %d routes walked: %v", len(served), served)
	}
}

// TestOpenAPIIsConsistent checks what a validator would: references resolve, path parameters are declared,
// operation IDs are unique and every operation has responses.
func TestOpenAPIIsConsistent(t *testing.T) {
	doc := loadOpenAPI(t)
	var refs []string
	collectRefs(doc, &refs)
	for _, ref := range refs {
		if _, err := resolve(doc, ref); err != nil {
			t.Errorf("$ref %s: %v", ref, err)
		}
	}

	paramRe := regexp.MustCompile(`\{([^}]+)\}`)
	opIDs := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		pathItem := item.(map[string]any)
		var want []string
		for _, m := range paramRe.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		sort.Strings(want)
		for _, m := range httpMethods {
			op, ok := pathItem[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := opIDs[id]; dup {
				t.Errorf("operationId %s used by %s and %s", id, other, where)
			}
			opIDs[id] = where
			if r, _ := op["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("%s has no responses", where)
			}
			var declared []string
			for _, list := range []any{pathItem["parameters"], op["parameters"]} {
				params, _ := list.([]any)
				for _, p := range params {
					pm := p.(map[string]any)
					if ref, ok := pm["$ref"].(string); ok {
						r, err := resolve(doc, ref)
						if err != nil {
							continue // reported above
						}
						pm = r.(map[string]any)
					}
					if pm["in"] == "path" {
						declared = append(declared, pm["name"].(string))
						if pm["required"] != true {
							t.Errorf("%s: path parameter %s is not required", where, pm["name"])
						}
					}
				}
			}
			sort.Strings(declared)
			if !slices.Equal(declared, want) {
				t.Errorf("%s declares path parameters %v, want %v", where, declared, want)
			}
		}
	}
}

// TestOpenAPIListsEveryErrorCode keeps the Error schema's code enum equal to the code constants of errors.go.
func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	doc := loadOpenAPI(t)
	s, err := resolve(doc, "#/components/schemas/Error/properties/code/enum")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, c := range s.([]any) {
		documented = append(documented, c.(string))
	}
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var defined []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "code") || len(vs.Values) != 1 {
			return true
		}
		if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			v, _ := strconv.Unquote(lit.Value)
			defined = append(defined, v)
		}
		return true
	})
	sort.Strings(documented)
	sort.Strings(defined)
	if len(defined) == 0 || !slices.Equal(documented, defined) {
		t.Errorf("documented codes %v\n   defined codes %v", documented, defined)
	}
	desc, _ := doc["info"].(map[string]any)["description"].(string)
	for _, c := range defined {
		if !strings.Contains(desc, "`"+c+"`") {
			t.Errorf("the API description does not list code %s", c)
		}
	}
}

func collectRefs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "$ref" {
				*out = append(*out, s)
			}
			collectRefs(e, out)
		}
	case []any:
		for _, e := range v {
			collectRefs(e, out)
		}
	}
}

// resolve follows a local JSON pointer ("#/a/b") in the document.
func resolve(doc map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("%s not found", part)
		}
	}
	return cur, nil
}
