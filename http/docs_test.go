package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDocsPage: GET /docs, without a token, is the API reference rendered from openapi.yaml: well formed,
// every path and operation of the document in it, every link inside it leading somewhere, nothing loaded from
// elsewhere and no script.
func TestDocsPage(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodGet, path: "/docs"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /docs = %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	page := w.Body.String()

	// Well formed: the page is written so that a strict XML reader accepts it (void elements closed,
	// only XML's named entities), which catches an unclosed or misnested element.
	ids := map[string]bool{}
	var hrefs []string
	var style strings.Builder
	inStyle := false
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			t.Fatalf("the page is not well formed: %v (line %d: %q)", err, line, strings.Split(page, "\n")[line-1])
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inStyle = tok.Name.Local == "style"
			if tok.Name.Local == "script" {
				t.Error("the page has a script")
			}
			for _, a := range tok.Attr {
				switch a.Name.Local {
				case "id":
					if ids[a.Value] {
						t.Errorf("id %q is used twice", a.Value)
					}
					ids[a.Value] = true
				case "href", "src":
					hrefs = append(hrefs, a.Value)
				}
			}
		case xml.CharData:
			if inStyle {
				style.Write(tok)
			}
		case xml.EndElement:
			inStyle = false
		}
	}
	for _, h := range hrefs {
		switch {
		case h == "openapi.yaml": // relative, so that it also works behind a proxy that adds a path prefix
		case strings.HasPrefix(h, "#"):
			if !ids[h[1:]] {
				t.Errorf("link %s leads nowhere", h)
			}
		default:
			t.Errorf("link %s leaves the page: it must work offline", h)
		}
	}

	// The content security policy allows the page's own stylesheet and nothing else.
	sum := sha256.Sum256([]byte(style.String()))
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") ||
		!strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("CSP %q does not allow exactly the inline stylesheet", csp)
	}

	doc := loadOpenAPI(t)
	paths := doc["paths"].(map[string]any)
	operations := 0
	for path, item := range paths {
		if !strings.Contains(page, `<code class="path">`+html.EscapeString(path)+`</code>`) {
			t.Errorf("path %s is not on the page", path)
		}
		for _, m := range httpMethods {
			if op, ok := item.(map[string]any)[m].(map[string]any); ok {
				operations++
				if id := "op-" + op["operationId"].(string); !ids[id] {
					t.Errorf("%s %s has no section %s", m, path, id)
				}
			}
		}
	}
	if got := strings.Count(page, `<article id="op-`); got != operations || operations < 30 {
		t.Errorf("%d operations on the page, %d in the document", got, operations)
	}
	// What a reader needs of one operation: its body's fields, its statuses, its error codes.
	send := page[strings.Index(page, `<article id="op-sendText"`):]
	send = send[:strings.Index(send, "</article>")]
	for _, want := range []string{"<code>phone</code>", "<code>message</code>", `<span class="req">required</span>`,
		`<span class="status s2">200</span>`, `<span class="status s4">429</span>`, "<code>queue_full</code>"} {
		if !strings.Contains(send, want) {
			t.Errorf("send-text's section lacks %s", want)
		}
	}

	// Compressed for the clients that take it, the same page.
	z := s.do(t, req{method: http.MethodGet, path: "/docs", header: map[string]string{"Accept-Encoding": "br, gzip"}})
	if z.Header().Get("Content-Encoding") != "gzip" || z.Body.Len() >= len(page)/4 {
		t.Fatalf("gzip: %q, %d bytes of %d", z.Header().Get("Content-Encoding"), z.Body.Len(), len(page))
	}
	zr, err := gzip.NewReader(z.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, w.Body.Bytes()) {
		t.Errorf("the gzipped page differs from the page (%v)", err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		headers []string
		want    bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"br", "deflate, GZIP;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.0, identity"}, false},
		{[]string{"x-gzip2"}, false},
	} {
		if got := acceptsGzip(tc.headers); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.headers, got, tc.want)
		}
	}
}

func TestDocsMarkdown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"One\nline.\n\nTwo.", "<p>One line.</p><p>Two.</p>"},
		{"Use `a<b>` and **c & d**.", "<p>Use <code>a&lt;b&gt;</code> and <strong>c &amp; d</strong>.</p>"},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"- one\n  more\n- two", "<ul><li>one more</li><li>two</li></ul>"},
		{"", ""},
	} {
		if got := string(markdown(tc.in)); got != tc.want {
			t.Errorf("markdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
