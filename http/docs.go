package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"html/template"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// The API docs page (GET /docs) is rendered on the server from the embedded OpenAPI document: plain HTML and
// one inline stylesheet, no script and nothing fetched from elsewhere, so it works offline and behind the
// strictest content security policy. It is rendered once per process; the document is part of the binary.

//go:embed docs.tmpl
var docsTemplate string

//go:embed docs.css
var docsStylesheet string

// docsCSP allows the page nothing but its own stylesheet, by hash.
var docsCSP = func() string {
	sum := sha256.Sum256([]byte(docsStylesheet))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// renderedDocs is the page, and the page gzipped: it is some hundred kilobytes of repetitive HTML, a tenth of
// that compressed, which matters on a phone.
type renderedDocs struct {
	plain, gzipped []byte
}

// docsPage is the rendered page, or why it could not be rendered (a test keeps that from shipping).
var docsPage = sync.OnceValues(func() (renderedDocs, error) {
	page, err := renderDocs(openAPIDocument)
	if err != nil {
		return renderedDocs{}, err
	}
	var z bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&z, gzip.BestCompression) // the level is valid
	if _, err := gz.Write(page); err != nil {
		return renderedDocs{}, err
	}
	if err := gz.Close(); err != nil {
		return renderedDocs{}, err
	}
	return renderedDocs{plain: page, gzipped: z.Bytes()}, nil
})

func serveDocs(w http.ResponseWriter, r *http.Request) {
	page, err := docsPage()
	if err != nil {
		writeError(w, r, &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "the API docs could not be rendered"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Vary", "Accept-Encoding")
	body := page.plain
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = page.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// acceptsGzip reads Accept-Encoding headers: gzip is accepted when listed without q=0.
func acceptsGzip(headers []string) bool {
	for _, h := range headers {
		for part := range strings.SplitSeq(h, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q, isQ := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			if !isQ {
				return true
			}
			if v, err := strconv.ParseFloat(q, 64); err == nil && v > 0 {
				return true
			}
		}
	}
	return false
}

// The part of OpenAPI 3.0 the document uses. Maps whose order the reader sees (paths, properties, responses)
// keep the document's order.
type (
	oaDocument struct {
		Info struct {
			Title, Version, Description string
		}
		Tags       []struct{ Name, Description string }
		Paths      ordered[oaPathItem]
		Components struct {
			SecuritySchemes map[string]struct{ Type, Scheme, Description string } `yaml:"securitySchemes"`
			Parameters      map[string]oaParameter
			RequestBodies   map[string]oaRequestBody `yaml:"requestBodies"`
			Responses       map[string]oaResponse
			Schemas         ordered[*oaSchema]
		}
	}
	oaPathItem struct {
		Parameters                    []oaParameter
		Get, Put, Post, Delete, Patch *oaOperation
	}
	oaOperation struct {
		Tags        []string
		OperationID string `yaml:"operationId"`
		Summary     string
		Description string
		Security    *[]map[string][]string
		Parameters  []oaParameter
		RequestBody *oaRequestBody `yaml:"requestBody"`
		Responses   ordered[oaResponse]
	}
	oaParameter struct {
		Ref         string `yaml:"$ref"`
		Name, In    string
		Description string
		Required    bool
		Schema      *oaSchema
	}
	oaRequestBody struct {
		Ref         string `yaml:"$ref"`
		Description string
		Required    bool
		Content     ordered[oaMedia]
	}
	oaResponse struct {
		Ref         string `yaml:"$ref"`
		Description string
		Content     ordered[oaMedia]
	}
	oaMedia struct {
		Schema *oaSchema
	}
	oaSchema struct {
		Ref         string `yaml:"$ref"`
		Type        string
		Format      string
		Description string
		Enum        []any
		Default     any
		Nullable    bool
		Minimum     *float64
		Maximum     *float64
		MinLength   *int `yaml:"minLength"`
		MaxLength   *int `yaml:"maxLength"`
		MinItems    *int `yaml:"minItems"`
		MaxItems    *int `yaml:"maxItems"`
		Required    []string
		Properties  ordered[*oaSchema]
		Items       *oaSchema
		AllOf       []*oaSchema `yaml:"allOf"`
	}
)

// ordered is a YAML mapping decoded in the document's order.
type ordered[T any] []named[T]

type named[T any] struct {
	Name  string
	Value T
}

// UnmarshalYAML decodes a mapping keeping its order.
func (o *ordered[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v T
		if err := n.Content[i+1].Decode(&v); err != nil {
			return err
		}
		*o = append(*o, named[T]{n.Content[i].Value, v})
	}
	return nil
}

func (o ordered[T]) get(name string) (T, bool) {
	for _, e := range o {
		if e.Name == name {
			return e.Value, true
		}
	}
	var zero T
	return zero, false
}

// What the template shows.
type (
	docsView struct {
		Title, Version string
		Intro          template.HTML
		Stylesheet     template.CSS
		Tags           []tagView
		// Parameters and Responses are the shared ones, written once and linked from the operations.
		Parameters []parameterView
		Responses  []responseView
		Schemas    []namedSchemaView
	}
	tagView struct {
		Name        string
		Description template.HTML
		Operations  []operationView
	}
	operationView struct {
		ID, Method, Path, Summary string
		Description               template.HTML
		Auth                      string
		Parameters                []parameterView
		Body                      *bodyView
		Responses                 []responseView
	}
	parameterView struct {
		Ref         string
		Name, In    string
		Required    bool
		Schema      *schemaView
		Description template.HTML
	}
	bodyView struct {
		Required    bool
		Description template.HTML
		Media       []mediaView
	}
	mediaView struct {
		Type   string
		Schema *schemaView
		// Fields is the named schema Schema links to, written out (request bodies only).
		Fields *schemaView
	}
	responseView struct {
		Status, Ref string
		IsError     bool
		Description template.HTML
		Codes       []string
		Media       []mediaView
	}
	// schemaView is a schema as the page writes it: a link to a named schema, or its type, constraints and
	// properties.
	schemaView struct {
		Link        string
		Type        string
		Notes       []string
		Description template.HTML
		Items       *schemaView
		AllOf       []*schemaView
		Properties  []propertyView
	}
	propertyView struct {
		Name     string
		Required bool
		Schema   *schemaView
	}
	namedSchemaView struct {
		Name   string
		Schema *schemaView
	}
)

var docsFuncs = template.FuncMap{"lower": strings.ToLower}

// renderDocs renders the docs page of an OpenAPI document.
func renderDocs(document []byte) ([]byte, error) {
	var doc oaDocument
	if err := yaml.Unmarshal(document, &doc); err != nil {
		return nil, fmt.Errorf("docs: parse the OpenAPI document: %w", err)
	}
	r := docsRenderer{doc: &doc, codes: errorCodes(&doc)}
	view, err := r.view()
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	tmpl, err := template.New("docs").Funcs(docsFuncs).Parse(docsTemplate)
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, view); err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	return out.Bytes(), nil
}

type docsRenderer struct {
	doc   *oaDocument
	codes []string // the Error schema's codes, to pick out of response descriptions
}

const schemaRefPrefix = "#/components/schemas/"

// errorCodes returns the codes the Error schema lists.
func errorCodes(doc *oaDocument) []string {
	s, _ := doc.Components.Schemas.get("Error")
	if s == nil {
		return nil
	}
	code, _ := s.Properties.get("code")
	if code == nil {
		return nil
	}
	var codes []string
	for _, c := range code.Enum {
		codes = append(codes, fmt.Sprint(c))
	}
	return codes
}

var docsMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func (r docsRenderer) view() (*docsView, error) {
	v := &docsView{Title: r.doc.Info.Title, Version: r.doc.Info.Version, Intro: markdown(r.doc.Info.Description),
		Stylesheet: template.CSS(docsStylesheet)}
	tagIndex := map[string]int{}
	for _, t := range r.doc.Tags {
		tagIndex[t.Name] = len(v.Tags)
		v.Tags = append(v.Tags, tagView{Name: t.Name, Description: markdown(t.Description)})
	}
	var errs []error
	for _, p := range r.doc.Paths {
		item := p.Value
		for i, op := range []*oaOperation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			ov, err := r.operation(docsMethods[i], p.Name, item.Parameters, op)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", docsMethods[i], p.Name, err))
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if _, ok := tagIndex[tag]; !ok {
				tagIndex[tag] = len(v.Tags)
				v.Tags = append(v.Tags, tagView{Name: tag})
			}
			t := &v.Tags[tagIndex[tag]]
			t.Operations = append(t.Operations, ov)
		}
	}
	v.Tags = slices.DeleteFunc(v.Tags, func(t tagView) bool { return len(t.Operations) == 0 })
	for _, name := range slices.Sorted(maps.Keys(r.doc.Components.Parameters)) {
		pv, err := r.parameter(name, r.doc.Components.Parameters[name])
		if err != nil {
			errs = append(errs, err)
		}
		v.Parameters = append(v.Parameters, pv)
	}
	for _, name := range slices.Sorted(maps.Keys(r.doc.Components.Responses)) {
		rv, err := r.response("", name, r.doc.Components.Responses[name])
		if err != nil {
			errs = append(errs, err)
		}
		v.Responses = append(v.Responses, rv)
	}
	for _, s := range r.doc.Components.Schemas {
		sv, err := r.schema(s.Value, 0, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("schema %s: %w", s.Name, err))
		}
		v.Schemas = append(v.Schemas, namedSchemaView{Name: s.Name, Schema: sv})
	}
	return v, errors.Join(errs...)
}

func (r docsRenderer) operation(method, path string, shared []oaParameter, op *oaOperation) (operationView, error) {
	ov := operationView{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary,
		Description: markdown(op.Description), Auth: r.auth(op.Security)}
	if ov.ID == "" {
		ov.ID = strings.ToLower(method) + "-" + path
	}
	for _, p := range append(slices.Clone(shared), op.Parameters...) {
		ref := ""
		if p.Ref != "" {
			var ok bool
			ref, _ = strings.CutPrefix(p.Ref, "#/components/parameters/")
			if p, ok = r.doc.Components.Parameters[ref]; !ok {
				return ov, fmt.Errorf("no parameter %s", ref)
			}
		}
		pv, err := r.parameter(ref, p)
		if err != nil {
			return ov, err
		}
		ov.Parameters = append(ov.Parameters, pv)
	}
	if b := op.RequestBody; b != nil {
		if b.Ref != "" {
			name, _ := strings.CutPrefix(b.Ref, "#/components/requestBodies/")
			rb, ok := r.doc.Components.RequestBodies[name]
			if !ok {
				return ov, fmt.Errorf("no request body %s", name)
			}
			b = &rb
		}
		media, err := r.media(b.Content)
		if err != nil {
			return ov, err
		}
		// The fields of the body are what a reader of an operation wants: a named schema is written out here,
		// with the schemas it names in turn linked.
		for i, m := range media {
			if m.Schema != nil && m.Schema.Link != "" {
				named, _ := r.doc.Components.Schemas.get(m.Schema.Link)
				if media[i].Fields, err = r.schema(named, 0, true); err != nil {
					return ov, err
				}
			}
		}
		ov.Body = &bodyView{Required: b.Required, Description: markdown(b.Description), Media: media}
	}
	for _, e := range op.Responses {
		res, ref := e.Value, ""
		if res.Ref != "" {
			var ok bool
			ref, _ = strings.CutPrefix(res.Ref, "#/components/responses/")
			if res, ok = r.doc.Components.Responses[ref]; !ok {
				return ov, fmt.Errorf("no response %s", ref)
			}
		}
		rv, err := r.response(e.Name, ref, res)
		if err != nil {
			return ov, err
		}
		ov.Responses = append(ov.Responses, rv)
	}
	return ov, nil
}

// parameter returns how the page writes a parameter; ref names the shared parameter it is, if it is one.
func (r docsRenderer) parameter(ref string, p oaParameter) (parameterView, error) {
	pv := parameterView{Ref: ref, Name: p.Name, In: p.In, Required: p.Required, Description: markdown(p.Description)}
	if p.Schema != nil {
		var err error
		if pv.Schema, err = r.schema(p.Schema, 0, false); err != nil {
			return pv, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
	}
	return pv, nil
}

// response returns how the page writes a response; ref names the shared response it is, if it is one.
func (r docsRenderer) response(status, ref string, res oaResponse) (responseView, error) {
	media, err := r.media(res.Content)
	if err != nil {
		return responseView{}, fmt.Errorf("response %s: %w", status, err)
	}
	rv := responseView{Status: status, Ref: ref, Description: markdown(res.Description), Codes: r.codesIn(res.Description), Media: media}
	// An error answer is always an Error object: the page says so once, not at every operation.
	rv.IsError = len(media) == 1 && media[0].Schema != nil && media[0].Schema.Link == "Error"
	return rv, nil
}

// auth says how an operation authenticates when it says so itself; instance routes carry their credentials in
// the path, which the page's introduction explains.
func (r docsRenderer) auth(security *[]map[string][]string) string {
	if security == nil {
		return ""
	}
	var ways []string
	for _, alt := range *security {
		if len(alt) == 0 {
			ways = append(ways, "none")
		}
		for name := range alt {
			way := name
			if s, ok := r.doc.Components.SecuritySchemes[name]; ok && s.Type == "http" && strings.EqualFold(s.Scheme, "bearer") {
				way = "Authorization: Bearer"
				if d := strings.TrimSuffix(s.Description, "."); d != "" {
					way += " — " + d
				}
			}
			ways = append(ways, way)
		}
	}
	if len(ways) == 0 {
		return "none"
	}
	return strings.Join(ways, "; or ")
}

func (r docsRenderer) media(content ordered[oaMedia]) ([]mediaView, error) {
	var out []mediaView
	for _, m := range content {
		mv := mediaView{Type: m.Name}
		if m.Value.Schema != nil {
			var err error
			if mv.Schema, err = r.schema(m.Value.Schema, 0, false); err != nil {
				return nil, err
			}
		}
		out = append(out, mv)
	}
	return out, nil
}

var backtickedWord = regexp.MustCompile("`([a-z_]+)`")

// codesIn returns the error codes a response's description names, in its order.
func (r docsRenderer) codesIn(description string) []string {
	var codes []string
	for _, m := range backtickedWord.FindAllStringSubmatch(description, -1) {
		if slices.Contains(r.codes, m[1]) && !slices.Contains(codes, m[1]) {
			codes = append(codes, m[1])
		}
	}
	return codes
}

// maxSchemaDepth bounds how deep inline schemas are written out; named schemas are linked, not repeated.
const maxSchemaDepth = 8

// schema returns how the page writes s. A reference to a named schema becomes a link, unless top is set (the
// named schema's own entry).
func (r docsRenderer) schema(s *oaSchema, depth int, top bool) (*schemaView, error) {
	if depth > maxSchemaDepth {
		return nil, errors.New("schemas nest too deep")
	}
	if s.Ref != "" {
		if name, ok := strings.CutPrefix(s.Ref, schemaRefPrefix); ok && !strings.Contains(name, "/") && !top {
			if _, ok := r.doc.Components.Schemas.get(name); !ok {
				return nil, fmt.Errorf("no schema %s", name)
			}
			return &schemaView{Link: name}, nil
		}
		target, err := r.resolveSchema(s.Ref)
		if err != nil {
			return nil, err
		}
		return r.schema(target, depth+1, false)
	}
	v := &schemaView{Type: s.Type, Description: markdown(s.Description)}
	if s.Format != "" {
		v.Type += " (" + s.Format + ")"
	}
	v.Notes = schemaNotes(s)
	for _, part := range s.AllOf {
		pv, err := r.schema(part, depth+1, false)
		if err != nil {
			return nil, err
		}
		v.AllOf = append(v.AllOf, pv)
	}
	if s.Items != nil {
		iv, err := r.schema(s.Items, depth+1, false)
		if err != nil {
			return nil, err
		}
		v.Items = iv
	}
	for _, p := range s.Properties {
		pv, err := r.schema(p.Value, depth+1, false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		v.Properties = append(v.Properties, propertyView{Name: p.Name, Required: slices.Contains(s.Required, p.Name), Schema: pv})
	}
	if len(s.Properties) == 0 && len(s.Required) > 0 {
		// An allOf part that only makes fields of another part required.
		v.Notes = append(v.Notes, "required: "+strings.Join(s.Required, ", "))
	}
	return v, nil
}

// resolveSchema follows a reference into the named schemas: a schema, or a property or items within one.
func (r docsRenderer) resolveSchema(ref string) (*oaSchema, error) {
	rest, ok := strings.CutPrefix(ref, schemaRefPrefix)
	if !ok {
		return nil, fmt.Errorf("reference %s is not to a schema", ref)
	}
	parts := strings.Split(rest, "/")
	s, ok := r.doc.Components.Schemas.get(parts[0])
	for i := 1; ok && i < len(parts); i++ {
		switch {
		case parts[i] == "items" && s.Items != nil:
			s = s.Items
		case parts[i] == "properties" && i+1 < len(parts):
			i++
			s, ok = s.Properties.get(parts[i])
		default:
			ok = false
		}
	}
	if !ok || s == nil {
		return nil, fmt.Errorf("reference %s does not resolve", ref)
	}
	return s, nil
}

// schemaNotes are a schema's constraints in words.
func schemaNotes(s *oaSchema) []string {
	var n []string
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = fmt.Sprint(e)
		}
		n = append(n, "one of: "+strings.Join(vals, ", "))
	}
	num := func(f *float64) string { return strconv.FormatFloat(*f, 'f', -1, 64) }
	switch {
	case s.Minimum != nil && s.Maximum != nil:
		n = append(n, num(s.Minimum)+" to "+num(s.Maximum))
	case s.Minimum != nil:
		n = append(n, "at least "+num(s.Minimum))
	case s.Maximum != nil:
		n = append(n, "at most "+num(s.Maximum))
	}
	bounds := func(lo, hi *int, unit string) {
		switch {
		case lo != nil && hi != nil:
			n = append(n, fmt.Sprintf("%d to %d %s", *lo, *hi, unit))
		case lo != nil:
			n = append(n, fmt.Sprintf("at least %d %s", *lo, unit))
		case hi != nil:
			n = append(n, fmt.Sprintf("at most %d %s", *hi, unit))
		}
	}
	bounds(s.MinLength, s.MaxLength, "characters")
	bounds(s.MinItems, s.MaxItems, "items")
	if s.Default != nil {
		n = append(n, fmt.Sprintf("default %v", s.Default))
	}
	if s.Nullable {
		n = append(n, "may be null")
	}
	return n
}

var (
	inlineCode = regexp.MustCompile("`([^`]+)`")
	strongText = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

// markdown renders the little Markdown the document's descriptions use: paragraphs, "- " lists, `code` and
// **strong**. The text is escaped first; only those tags are added.
func markdown(s string) template.HTML {
	var out strings.Builder
	for para := range strings.SplitSeq(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(strings.TrimSpace(para), "\n")
		if lines[0] == "" {
			continue
		}
		if strings.HasPrefix(lines[0], "- ") {
			out.WriteString("<ul>")
			var item []string
			flush := func() {
				if len(item) > 0 {
					out.WriteString("<li>" + markdownInline(strings.Join(item, " ")) + "</li>")
				}
				item = nil
			}
			for _, l := range lines {
				l = strings.TrimSpace(l)
				if rest, ok := strings.CutPrefix(l, "- "); ok {
					flush()
					l = rest
				}
				item = append(item, l)
			}
			flush()
			out.WriteString("</ul>")
			continue
		}
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		out.WriteString("<p>" + markdownInline(strings.Join(lines, " ")) + "</p>")
	}
	return template.HTML(out.String()) // built from escaped text and fixed tags only
}

func markdownInline(s string) string {
	s = html.EscapeString(s)
	s = inlineCode.ReplaceAllString(s, "<code>$1</code>")
	return strongText.ReplaceAllString(s, "<strong>$1</strong>")
}
