package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/recipient"
)

// The product catalog of a WhatsApp Business number (PlugZapi's business/*-product and get-products* pages).
// Prices go in as amounts of the currency (20 is 20.00 BRL) and come out as WhatsApp counts them, in
// thousandths and as a string ("20000"), as PlugZapi's examples show.

// Limits of a product, as WhatsApp Business's catalog editor keeps them.
const (
	maxProductName        = 150
	maxProductDescription = 5000
	maxRetailerID         = 100
	maxProductImages      = 10
	maxProductIDLen       = 32
	// maxPrice bounds a price (in the currency's units) so that its thousandths fit WhatsApp's integers easily.
	maxPrice = 1e12
	// defaultCatalogPage and maxCatalogPage bound pageSize, our addition to PlugZapi's cursor paging.
	defaultCatalogPage, maxCatalogPage = 10, 100
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// mountCatalogRoutes adds the catalog routes. POST products takes its pictures in base64 too, so its body may be
// as large as one picture in base64 beside the other fields; more pictures than that go by URL.
func (a *api) mountCatalogRoutes(r chi.Router) {
	p := instancePrefix
	r.With(a.limitBodyTo(a.mediaBodyLimit(media.Image))).Post(p+"/products", a.saveProduct)
	r.With(a.limitBody).Get(p+"/products/{productId}", a.product)
	r.With(a.limitBody).Delete(p+"/products/{productId}", a.deleteProduct)
	r.With(a.limitBody).Get(p+"/catalogs", a.catalog)
	r.With(a.limitBody).Get(p+"/catalogs/{phone}", a.catalog)
}

// productRequest is the body of POST products.
type productRequest struct {
	intake
	// ID is ours: it names the product to change. Without it, the product with the same retailerId is changed,
	// or a new one made.
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Price       *float64 `json:"price"`
	Currency    string   `json:"currency"`
	Images      []string `json:"images"`
	IsHidden    bool     `json:"isHidden"`
	RetailerID  string   `json:"retailerId"`
	URL         string   `json:"url"`
}

// product checks the request and makes it the account's product.
func (req *productRequest) product() (account.NewProduct, error) {
	var missing []string
	for _, f := range []struct {
		name    string
		missing bool
	}{{"name", req.Name == ""}, {"price", req.Price == nil}, {"currency", req.Currency == ""}, {"images", len(req.Images) == 0}} {
		if f.missing {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return account.NewProduct{}, missingFields(missing...)
	}
	invalid := func(field, msg string) error { return badRequest(codeInvalidField, field+" "+msg, field) }
	price := math.Round(*req.Price * 1000)
	switch {
	case req.ID != "" && !validProductID(req.ID):
		return account.NewProduct{}, invalid("id", "must be a product ID: digits")
	case tooLong(req.Name, maxProductName):
		return account.NewProduct{}, invalid("name", fmt.Sprintf("must be at most %d characters", maxProductName))
	case tooLong(req.Description, maxProductDescription):
		return account.NewProduct{}, invalid("description", fmt.Sprintf("must be at most %d characters", maxProductDescription))
	case *req.Price < 0 || *req.Price > maxPrice || math.Abs(*req.Price*1000-price) > 1e-6:
		return account.NewProduct{}, invalid("price", "must be an amount of the currency from 0, with at most 3 decimals")
	case !currencyCode.MatchString(req.Currency):
		return account.NewProduct{}, invalid("currency", "must be an ISO 4217 code in capitals, such as BRL")
	case tooLong(req.RetailerID, maxRetailerID):
		return account.NewProduct{}, invalid("retailerId", fmt.Sprintf("must be at most %d characters", maxRetailerID))
	case req.URL != "" && !validPageURL(req.URL):
		return account.NewProduct{}, invalid("url", fmt.Sprintf("must be an http or https URL of at most %d characters", maxURLLen))
	case len(req.Images) > maxProductImages:
		return account.NewProduct{}, invalid("images", fmt.Sprintf("must hold at most %d pictures", maxProductImages))
	}
	p := account.NewProduct{ID: req.ID, Name: req.Name, Description: req.Description, Price: int64(price),
		Currency: req.Currency, RetailerID: req.RetailerID, URL: req.URL, Hidden: req.IsHidden}
	for i, img := range req.Images {
		pic, err := req.image(fmt.Sprintf("images[%d]", i), img)
		if err != nil {
			return account.NewProduct{}, err
		}
		p.Images = append(p.Images, pic)
	}
	return p, nil
}

// validProductID reports whether id can be a WhatsApp product ID: digits.
func validProductID(id string) bool {
	if id == "" || len(id) > maxProductIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validPageURL reports whether s is a web page's address.
func validPageURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= maxURLLen && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (a *api) saveProduct(w http.ResponseWriter, r *http.Request) {
	req := productRequest{intake: intake{a: a}}
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	p, err := req.product()
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		id, err := c.SaveProduct(r.Context(), p)
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]string{"id": id})
		}
		return err
	})
}

// productJSON is a product as PlugZapi shows it.
type productJSON struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Price        string   `json:"price"`
	Currency     string   `json:"currency"`
	Availability string   `json:"availability"`
	RetailerID   *string  `json:"retailerId"`
	Quantity     *string  `json:"quantity"`
	URL          string   `json:"url,omitempty"`
	IsHidden     bool     `json:"isHidden"`
	Images       []string `json:"images"`
}

func newProductJSON(p account.Product) productJSON {
	out := productJSON{ID: p.ID, Name: p.Name, Description: p.Description, Price: strconv.FormatInt(p.Price, 10),
		Currency: p.Currency, Availability: "in stock", URL: p.URL, IsHidden: p.Hidden, Images: p.ImageURLs}
	if p.RetailerID != "" {
		out.RetailerID = &p.RetailerID
	}
	if out.Images == nil {
		out.Images = []string{}
	}
	return out
}

// productID is the product the path names, or a 400.
func productID(r *http.Request) (string, error) {
	id := chi.URLParam(r, "productId")
	if !validProductID(id) {
		return "", badRequest(codeInvalidField, "the product ID must be digits", "productId")
	}
	return id, nil
}

func (a *api) product(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		p, err := c.Product(r.Context(), id)
		if err == nil {
			// cartEnabled: WhatsApp's default; the cart setting is not read.
			writeJSON(w, http.StatusOK, map[string]any{"cartEnabled": true, "product": newProductJSON(p)})
		}
		return err
	})
}

func (a *api) deleteProduct(w http.ResponseWriter, r *http.Request) {
	id, err := productID(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		err := c.DeleteProduct(r.Context(), id)
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		}
		return err
	})
}

// catalogPage is the answer of GET catalogs and catalogs/{phone}.
type catalogPage struct {
	CartEnabled bool          `json:"cartEnabled"`
	Products    []productJSON `json:"products"`
	// NextCursor asks for the next page (?nextCursor=); null on the last page.
	NextCursor *string `json:"nextCursor"`
}

// catalog answers a page of the instance's own catalog, or of the business {phone}'s.
func (a *api) catalog(w http.ResponseWriter, r *http.Request) {
	phone := chi.URLParam(r, "phone")
	if rc, err := recipient.Parse(phone); phone != "" && (err != nil || rc.Kind != recipient.Phone) {
		a.respondError(w, r, invalidPhone("phone", false))
		return
	}
	q := r.URL.Query()
	size, err := intParam(q.Get("pageSize"), "pageSize", defaultCatalogPage, maxCatalogPage)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	cursor := q.Get("nextCursor")
	if len(cursor) > maxURLLen {
		a.respondError(w, r, badRequest(codeInvalidQuery, fmt.Sprintf("nextCursor must be at most %d characters", maxURLLen), "nextCursor"))
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		page, err := c.Products(r.Context(), phone, cursor, size)
		if err != nil {
			return err
		}
		out := catalogPage{CartEnabled: true, Products: make([]productJSON, 0, len(page.Products))}
		for _, p := range page.Products {
			out.Products = append(out.Products, newProductJSON(p))
		}
		if page.Next != "" {
			out.NextCursor = &page.Next
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}
