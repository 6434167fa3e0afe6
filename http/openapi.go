package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the hand-written OpenAPI 3 description of every route of this package; a test keeps it
// and the router in step.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument returns the API's OpenAPI 3 document (YAML), for docs generators and clients.
func OpenAPIDocument() []byte {
	return append([]byte(nil), openAPIDocument...)
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
}
