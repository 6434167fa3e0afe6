package wasim

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// The product catalog of a WhatsApp Business account, as WhatsApp Web and Baileys speak it: IQs of the
// w:biz:catalog namespace (product_catalog to read a catalog a page at a time, product_catalog_add, _edit and
// _delete to change one's own), and product pictures uploaded unencrypted to the media host's /product/image
// path before they are named in a product. whatsmeow has no catalog API; the shapes follow Baileys
// (src/Socket/business.ts, src/Utils/business.ts), the second client these are tested with.
//
// Only business accounts have a catalog: a personal account's changes to its own are refused (403), and asking
// for the catalog of an account that is not a business finds none (404).

const (
	// productImageKind is the path kind product pictures are served under.
	productImageKind = "t45.5328-4"
	// Limits WhatsApp Business shows in its catalog editor.
	maxProductName        = 150
	maxProductDescription = 5000
	maxRetailerID         = 100
	maxProductURL         = 2048
	maxProductImages      = 10
	// maxCatalogPage bounds the limit of a product_catalog query.
	maxCatalogPage = 100
)

var (
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
)

// catalogProduct is a product of a business account's catalog (guarded by Simulator.mu).
type catalogProduct struct {
	id          string
	name        string
	description string
	retailerID  string
	url         string
	price       string // thousandths of the currency's unit, digits; "" when the product shows no price
	currency    string
	hidden      bool
	images      []string // ids of uploaded product pictures, in the media store
}

// Product is a product of a business account's catalog, as its phone shows it (Account.Catalog).
type Product struct {
	ID          string
	Name        string
	Description string
	RetailerID  string
	URL         string
	// Price is in thousandths of the currency's unit, -1 when the product shows no price.
	Price    int64
	Currency string
	Hidden   bool
	// Images are the product's pictures (JPEG), the first one its cover.
	Images [][]byte
}

// Catalog returns the products of the account's catalog, newest first: empty for a personal account.
func (a *Account) Catalog() []Product {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	out := make([]Product, len(a.catalog))
	for i, p := range a.catalog {
		price := int64(-1)
		if p.price != "" {
			price, _ = strconv.ParseInt(p.price, 10, 64)
		}
		out[i] = Product{ID: p.id, Name: p.name, Description: p.description, RetailerID: p.retailerID, URL: p.url,
			Price: price, Currency: p.currency, Hidden: p.hidden}
		for _, id := range p.images {
			data, _ := a.s.media.picture(id)
			out[i].Images = append(out[i].Images, data)
		}
	}
	return out
}

func (s *Simulator) registerCatalog(r *routes) {
	r.iq("w:biz:catalog", s.handleCatalog)
}

// mountCatalog adds the upload of product pictures to the media host.
func (s *Simulator) mountCatalog(r chi.Router) {
	r.Post("/product/image/{token}", s.serveProductImageUpload)
}

// serveProductImageUpload stores a product picture. Unlike message media it is not encrypted (the catalog is
// public): the body is the JPEG itself and token its base64url SHA-256. The answer is the picture's URL and
// direct path, which the client then names in product_catalog_add or _edit.
func (s *Simulator) serveProductImageUpload(w http.ResponseWriter, r *http.Request) {
	want, ok := s.uploadHash(w, r)
	if !ok {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.media.maxObject))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("picture larger than %d bytes", s.media.maxObject))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("read upload: %v", err))
		return
	}
	sum := sha256.Sum256(data)
	if !bytes.Equal(sum[:], want) {
		writeError(w, http.StatusBadRequest, "token does not match the SHA-256 of the body")
		return
	}
	// A catalog picture is a JPEG (the product-catalog-image media type): anything else is refused.
	if _, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
		writeError(w, http.StatusBadRequest, "a product picture must be a JPEG")
		return
	}
	id := hex.EncodeToString(sum[:16])
	s.media.putPicture(id, data)
	path := s.media.signedPath(productImageKind, id+".jpg", time.Now())
	writeJSON(w, http.StatusOK, map[string]string{"url": "https://" + mediaHost + path, "direct_path": path})
}

// productImageID is the uploaded picture a product's image URL names (any media host, a valid signed path of a
// product picture this simulator holds); false for anything else.
func (s *Simulator) productImageID(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || !strings.HasSuffix(u.Hostname(), ".whatsapp.net") {
		return "", false
	}
	kind, file, ok := strings.Cut(strings.TrimPrefix(u.Path, "/v/"), "/")
	if !ok || kind != productImageKind || s.media.checkPath(kind, file, u.Query(), time.Now()) != http.StatusOK {
		return "", false
	}
	id := strings.TrimSuffix(file, ".jpg")
	if _, ok := s.media.picture(id); !ok {
		return "", false
	}
	return id, true
}

// handleCatalog answers the w:biz:catalog IQs.
func (s *Simulator) handleCatalog(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	typ, _ := iq.Attrs["type"].(string)
	children := iq.GetChildren()
	if len(children) != 1 {
		return nil, errIQBadRequest
	}
	op := children[0]
	switch {
	case typ == "get" && op.Tag == "product_catalog":
		return s.productCatalog(dev.acct, op)
	case typ == "set" && (op.Tag == "product_catalog_add" || op.Tag == "product_catalog_edit"):
		return s.saveProduct(dev.acct, op)
	case typ == "set" && op.Tag == "product_catalog_delete":
		return s.deleteProducts(dev.acct, op)
	}
	return nil, errIQBadRequest
}

// productCatalog answers a page of a business's catalog. Hidden products are shown to the business alone.
func (s *Simulator) productCatalog(asker *Account, op waBinary.Node) ([]waBinary.Node, error) {
	jid, ok := op.Attrs["jid"].(types.JID)
	if !ok {
		return nil, errIQBadRequest
	}
	for k, v := range op.Attrs {
		if k == "allow_shop_source" && (v == "true" || v == "false") || k == "jid" {
			continue
		}
		return nil, errIQBadRequest
	}
	limit, offset := 0, 0
	for _, p := range op.GetChildren() {
		text, ok := nodeText(p)
		if !ok {
			return nil, errIQBadRequest
		}
		switch p.Tag {
		case "limit":
			n, err := strconv.Atoi(text)
			if err != nil || n < 1 || n > maxCatalogPage {
				return nil, errIQBadRequest
			}
			limit = n
		case "width", "height":
			if n, err := strconv.Atoi(text); err != nil || n < 1 || n > 4096 {
				return nil, errIQBadRequest
			}
		case "after":
			n, err := strconv.Atoi(strings.TrimPrefix(text, "p"))
			if err != nil || !strings.HasPrefix(text, "p") || n < 1 {
				return nil, errIQBadRequest
			}
			offset = n
		default:
			return nil, errIQBadRequest
		}
	}
	if limit == 0 {
		return nil, errIQBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := s.accountByJIDLocked(jid.ToNonAD())
	if owner == nil || !owner.business {
		if owner == asker {
			return nil, errIQForbidden
		}
		return nil, errIQNotFound
	}
	var shown []*catalogProduct
	for _, p := range owner.catalog {
		if !p.hidden || owner == asker {
			shown = append(shown, p)
		}
	}
	content := []waBinary.Node{}
	for i := offset; i < len(shown) && i < offset+limit; i++ {
		content = append(content, s.productNode(shown[i]))
	}
	if offset+limit < len(shown) {
		// The cursor is opaque to clients; WhatsApp's are longer base64 strings.
		content = append(content, waBinary.Node{Tag: "paging", Content: []waBinary.Node{
			{Tag: "after", Content: []byte("p" + strconv.Itoa(offset+limit))}}})
	}
	return []waBinary.Node{{Tag: "product_catalog", Content: content}}, nil
}

// productNode is a product as catalog answers carry it (Baileys' parseProductNode reads it).
func (s *Simulator) productNode(p *catalogProduct) waBinary.Node {
	text := func(tag, v string) waBinary.Node { return waBinary.Node{Tag: tag, Content: []byte(v)} }
	content := []waBinary.Node{text("id", p.id), text("name", p.name)}
	if p.description != "" {
		content = append(content, text("description", p.description))
	}
	if p.retailerID != "" {
		content = append(content, text("retailer_id", p.retailerID))
	}
	if p.url != "" {
		content = append(content, text("url", p.url))
	}
	if p.price != "" {
		content = append(content, text("price", p.price), text("currency", p.currency))
	}
	var images []waBinary.Node
	now := time.Now()
	for _, id := range p.images {
		u := "https://" + mediaHost + s.media.signedPath(productImageKind, id+".jpg", now)
		images = append(images, waBinary.Node{Tag: "image", Content: []waBinary.Node{
			text("request_image_url", u), text("original_image_url", u)}})
	}
	content = append(content,
		waBinary.Node{Tag: "media", Content: images},
		waBinary.Node{Tag: "status_info", Content: []waBinary.Node{text("status", "APPROVED"), text("can_appeal", "false")}})
	return waBinary.Node{Tag: "product", Attrs: waBinary.Attrs{"is_hidden": strconv.FormatBool(p.hidden)}, Content: content}
}

// saveProduct adds a product to the asker's catalog (product_catalog_add) or changes one (_edit: the fields
// sent replace the product's, the others stay).
func (s *Simulator) saveProduct(asker *Account, op waBinary.Node) ([]waBinary.Node, error) {
	if op.Attrs["v"] != "1" || len(op.Attrs) != 1 {
		return nil, errIQBadRequest
	}
	edit := op.Tag == "product_catalog_edit"
	var pn *waBinary.Node
	for _, n := range op.GetChildren() {
		switch n.Tag {
		case "product":
			if pn != nil {
				return nil, errIQBadRequest
			}
			pn = &n
		case "width", "height":
			text, ok := nodeText(n)
			if n, err := strconv.Atoi(text); !ok || err != nil || n < 1 || n > 4096 {
				return nil, errIQBadRequest
			}
		default:
			return nil, errIQBadRequest
		}
	}
	if pn == nil {
		return nil, errIQBadRequest
	}
	f, err := s.productFields(*pn)
	if err != nil {
		return nil, err
	}
	if edit != f.has["id"] {
		return nil, errIQBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !asker.business {
		return nil, errIQForbidden
	}
	p := &catalogProduct{id: newProductID()}
	if edit {
		i := slices.IndexFunc(asker.catalog, func(p *catalogProduct) bool { return p.id == f.id })
		if i < 0 {
			return nil, errIQNotFound
		}
		p = asker.catalog[i]
	} else if !f.has["name"] || len(f.images) == 0 {
		return nil, errIQBadRequest // a new product needs a name and a picture
	}
	changed := *p
	f.applyTo(&changed)
	if (changed.price == "") != (changed.currency == "") {
		return nil, errIQBadRequest // a price needs its currency, and a currency a price
	}
	*p = changed
	if !edit {
		asker.catalog = slices.Insert(asker.catalog, 0, p)
	}
	return []waBinary.Node{{Tag: op.Tag, Content: []waBinary.Node{s.productNode(p)}}}, nil
}

// productFields are the fields of a product node, checked as WhatsApp checks them.
type productFields struct {
	has                                                 map[string]bool
	id, name, description, retailerID, url, price, curr string
	hidden                                              bool
	images                                              []string
}

func (s *Simulator) productFields(n waBinary.Node) (productFields, error) {
	f := productFields{has: map[string]bool{}}
	for k, v := range n.Attrs {
		switch {
		case k == "is_hidden" && (v == "true" || v == "false"):
			f.hidden, f.has["hidden"] = v == "true", true
		case k == "compliance_category" && v == "COUNTRY_ORIGIN_EXEMPT":
		default:
			return f, errIQBadRequest
		}
	}
	for _, c := range n.GetChildren() {
		if f.has[c.Tag] {
			return f, errIQBadRequest
		}
		f.has[c.Tag] = true
		if c.Tag == "media" {
			imgs := c.GetChildren()
			if len(imgs) == 0 || len(imgs) > maxProductImages {
				return f, errIQBadRequest
			}
			for _, img := range imgs {
				u, ok := img.GetOptionalChildByTag("url")
				text, isText := nodeText(u)
				id, known := s.productImageID(text)
				if img.Tag != "image" || len(img.GetChildren()) != 1 || !ok || !isText || !known {
					return f, errIQBadRequest
				}
				f.images = append(f.images, id)
			}
			continue
		}
		if c.Tag == "compliance_info" {
			code, ok := c.GetOptionalChildByTag("country_code_origin")
			text, isText := nodeText(code)
			if len(c.GetChildren()) != 1 || !ok || !isText || !countryPattern.MatchString(text) {
				return f, errIQBadRequest
			}
			continue
		}
		text, ok := nodeText(c)
		if !ok || !utf8.ValidString(text) {
			return f, errIQBadRequest
		}
		switch c.Tag {
		case "id":
			ok = text != "" && strings.Trim(text, "0123456789") == ""
			f.id = text
		case "name":
			ok = strings.TrimSpace(text) != "" && utf8.RuneCountInString(text) <= maxProductName
			f.name = text
		case "description":
			ok = utf8.RuneCountInString(text) <= maxProductDescription
			f.description = text
		case "retailer_id":
			ok = utf8.RuneCountInString(text) <= maxRetailerID
			f.retailerID = text
		case "url":
			u, err := url.Parse(text)
			ok = text == "" || err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(text) <= maxProductURL
			f.url = text
		case "price":
			n, err := strconv.ParseInt(text, 10, 64)
			ok = err == nil && n >= 0 && strconv.FormatInt(n, 10) == text
			f.price = text
		case "currency":
			ok = currencyPattern.MatchString(text)
			f.curr = text
		default:
			ok = false
		}
		if !ok {
			return f, errIQBadRequest
		}
	}
	return f, nil
}

func (f productFields) applyTo(p *catalogProduct) {
	set := func(tag string, dst *string, v string) {
		if f.has[tag] {
			*dst = v
		}
	}
	set("name", &p.name, f.name)
	set("description", &p.description, f.description)
	set("retailer_id", &p.retailerID, f.retailerID)
	set("url", &p.url, f.url)
	set("price", &p.price, f.price)
	set("currency", &p.currency, f.curr)
	if f.has["hidden"] {
		p.hidden = f.hidden
	}
	if f.has["media"] {
		p.images = f.images
	}
}

// deleteProducts removes products of the asker's catalog by ID, and counts those it had.
func (s *Simulator) deleteProducts(asker *Account, op waBinary.Node) ([]waBinary.Node, error) {
	if op.Attrs["v"] != "1" || len(op.Attrs) != 1 || len(op.GetChildren()) == 0 {
		return nil, errIQBadRequest
	}
	var ids []string
	for _, p := range op.GetChildren() {
		idNode, ok := p.GetOptionalChildByTag("id")
		id, isText := nodeText(idNode)
		if p.Tag != "product" || len(p.GetChildren()) != 1 || !ok || !isText || id == "" || strings.Trim(id, "0123456789") != "" {
			return nil, errIQBadRequest
		}
		ids = append(ids, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !asker.business {
		return nil, errIQForbidden
	}
	before := len(asker.catalog)
	asker.catalog = slices.DeleteFunc(asker.catalog, func(p *catalogProduct) bool { return slices.Contains(ids, p.id) })
	return []waBinary.Node{{Tag: op.Tag, Attrs: waBinary.Attrs{"deleted_count": strconv.Itoa(before - len(asker.catalog))}}}, nil
}

// nodeText is a node's content as text: clients send text as bytes or strings. A node without content is "".
func nodeText(n waBinary.Node) (string, bool) {
	if n.Content == nil {
		return "", true
	}
	b, ok := bytesContent(n)
	return string(b), ok
}

// newProductID is a fresh product ID: numeric, 16 digits, as WhatsApp's.
func newProductID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(1e15+binary.BigEndian.Uint64(b[:])%9e15, 10)
}
