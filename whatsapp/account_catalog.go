package whatsapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/netguard"
)

// The product catalog of a WhatsApp Business account. whatsmeow has no catalog API, so this speaks the raw IQs
// of the w:biz:catalog namespace as WhatsApp Web does and Baileys implements them (src/Socket/business.ts):
// product_catalog (a page of a catalog), product_catalog_add, product_catalog_edit and product_catalog_delete;
// and it uploads product pictures itself, unencrypted, to the media host's /product/image path (Baileys'
// product-catalog-image media type), which whatsmeow's uploader cannot address.
//
// RISK: these IQs are WhatsApp's private protocol, not a published API, and nothing in whatsmeow pins them. When
// WhatsApp changes them, these routes fail (as refused_by_whatsapp or internal errors) while messaging keeps
// working; wasim answers them as Baileys speaks them, so its tests cannot notice such a change. Compare with
// Baileys' business.ts when upgrading, or when a real business number reports failures.

const (
	// catalogPageMax is the largest page asked for, also when walking the catalog for one product.
	catalogPageMax = 100
	// catalogThumbSide is the size of the pictures catalog answers link to (request_image_url), as Baileys asks.
	catalogThumbSide = "100"
	// productPictureSide bounds the pictures uploaded for products: WhatsApp shows them at most this large.
	productPictureSide = 1024
)

// errPersonalCatalog is the answer of the own-catalog methods on a personal account.
var errPersonalCatalog = fmt.Errorf("the product catalog is a WhatsApp Business feature and this instance's number is a personal account: %w", account.ErrUnsupported)

// catalogError is accountError for the catalog: WhatsApp refuses (403) the own catalog of a personal account.
func catalogError(doing string, err error) error {
	if errors.Is(err, whatsmeow.ErrIQForbidden) {
		return fmt.Errorf("%s: %w", doing, errPersonalCatalog)
	}
	return accountError(doing, err)
}

// SaveProduct adds a product to the account's own catalog or changes one: the one p.ID names or, without an ID,
// the one with p.RetailerID, when the catalog has it (the business's own code identifies its product).
func (c *Conn) SaveProduct(ctx context.Context, p account.NewProduct) (string, error) {
	if p.ID == "" && p.RetailerID != "" {
		found, err := c.findProduct(ctx, func(q account.Product) bool { return q.RetailerID == p.RetailerID })
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return "", err
		}
		p.ID = found.ID
	}
	doing, tag := "create product", "product_catalog_add"
	if p.ID != "" {
		doing, tag = "update product "+p.ID, "product_catalog_edit"
	}
	node, err := c.productNode(ctx, p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", doing, err)
	}
	res, err := c.catalogIQ(ctx, "set", waBinary.Node{Tag: tag, Attrs: waBinary.Attrs{"v": "1"}, Content: []waBinary.Node{
		node, textNode("width", catalogThumbSide), textNode("height", catalogThumbSide)}})
	if err != nil {
		return "", catalogError(doing, err)
	}
	saved, ok := res.GetOptionalChildByTag(tag, "product")
	if !ok {
		return "", fmt.Errorf("%s: WhatsApp answered without the product", doing)
	}
	id := catalogProduct(saved).ID
	if id == "" {
		return "", fmt.Errorf("%s: WhatsApp answered without the product's ID", doing)
	}
	return id, nil
}

// productNode is a product as product_catalog_add and _edit carry it, its pictures uploaded first.
func (c *Conn) productNode(ctx context.Context, p account.NewProduct) (waBinary.Node, error) {
	var content []waBinary.Node
	if p.ID != "" {
		content = append(content, textNode("id", p.ID))
	}
	content = append(content, textNode("name", p.Name))
	if p.Description != "" {
		content = append(content, textNode("description", p.Description))
	}
	if p.RetailerID != "" {
		content = append(content, textNode("retailer_id", p.RetailerID))
	}
	if p.URL != "" {
		content = append(content, textNode("url", p.URL))
	}
	images := make([]waBinary.Node, 0, len(p.Images))
	for i, img := range p.Images {
		u, err := c.uploadProductPicture(ctx, img)
		if err != nil {
			return waBinary.Node{}, fmt.Errorf("image %d: %w", i+1, err)
		}
		images = append(images, waBinary.Node{Tag: "image", Content: []waBinary.Node{textNode("url", u)}})
	}
	content = append(content, waBinary.Node{Tag: "media", Content: images},
		textNode("price", strconv.FormatInt(p.Price, 10)), textNode("currency", p.Currency))
	// No country of origin is asked for, as Baileys marks a product without one.
	attrs := waBinary.Attrs{"is_hidden": strconv.FormatBool(p.Hidden)}
	if p.ID == "" {
		attrs["compliance_category"] = "COUNTRY_ORIGIN_EXEMPT"
	}
	return waBinary.Node{Tag: "product", Attrs: attrs, Content: content}, nil
}

// uploadProductPicture puts a product's picture on WhatsApp's media host, as a JPEG no larger than WhatsApp shows,
// and returns the URL a product names it by.
func (c *Conn) uploadProductPicture(ctx context.Context, img account.Image) (string, error) {
	data := img.Data
	if img.URL != "" {
		fetched, err := c.files.Fetcher.Fetch(ctx, img.URL, c.files.Limits.Of(media.Image))
		var failed *netguard.FetchError
		if errors.As(err, &failed) {
			return "", fmt.Errorf("%w: %s", account.ErrBadPicture, failed.Reason)
		}
		if err != nil {
			return "", err
		}
		data = fetched.Data
	}
	jpeg, _, _, err := media.Thumbnail(data, productPictureSide)
	if err != nil {
		return "", fmt.Errorf("%w: %v", account.ErrBadPicture, err)
	}
	conn, err := c.cli.DangerousInternals().RefreshMediaConn(ctx, false)
	if err != nil {
		return "", accountError("get a media connection", err)
	}
	if len(conn.Hosts) == 0 {
		return "", errors.New("upload the picture: WhatsApp named no media host")
	}
	sum := sha256.Sum256(jpeg)
	token := base64.URLEncoding.EncodeToString(sum[:])
	u := url.URL{Scheme: "https", Host: conn.Hosts[0].Hostname, Path: "/product/image/" + token,
		RawQuery: url.Values{"auth": {conn.Auth}, "token": {token}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(jpeg))
	if err != nil {
		return "", fmt.Errorf("upload the picture: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Origin", "https://web.whatsapp.com")
	resp, err := c.uploads.Do(req)
	if err != nil {
		return "", fmt.Errorf("upload the picture: %w", err)
	}
	defer resp.Body.Close()
	var up struct {
		URL        string `json:"url"`
		DirectPath string `json:"direct_path"`
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(body, &up) != nil || up.DirectPath == "" && up.URL == "" {
		return "", fmt.Errorf("upload the picture: the media host answered %s: %.200s", resp.Status, body)
	}
	if up.DirectPath != "" {
		// Products name their pictures on the main media host, as Baileys does.
		return "https://mmg.whatsapp.net" + up.DirectPath, nil
	}
	return up.URL, nil
}

// Product is a product of the account's own catalog.
func (c *Conn) Product(ctx context.Context, id string) (account.Product, error) {
	return c.findProduct(ctx, func(p account.Product) bool { return p.ID == id })
}

// findProduct walks the account's own catalog to the first product that matches. WhatsApp Web has a query for
// one product too, but its shape is not known from an independent client: the catalog query is.
func (c *Conn) findProduct(ctx context.Context, match func(account.Product) bool) (account.Product, error) {
	cursor := ""
	for {
		page, err := c.Products(ctx, "", cursor, catalogPageMax)
		if err != nil {
			return account.Product{}, err
		}
		for _, p := range page.Products {
			if match(p) {
				return p, nil
			}
		}
		if page.Next == "" {
			return account.Product{}, fmt.Errorf("find product: %w", account.ErrNotFound)
		}
		cursor = page.Next
	}
}

// DeleteProduct removes a product from the account's own catalog.
func (c *Conn) DeleteProduct(ctx context.Context, id string) error {
	doing := "delete product " + id
	res, err := c.catalogIQ(ctx, "set", waBinary.Node{Tag: "product_catalog_delete", Attrs: waBinary.Attrs{"v": "1"},
		Content: []waBinary.Node{{Tag: "product", Content: []waBinary.Node{textNode("id", id)}}}})
	if err != nil {
		return catalogError(doing, err)
	}
	deleted, _ := res.GetOptionalChildByTag("product_catalog_delete")
	if n, _ := strconv.Atoi(fmt.Sprint(deleted.Attrs["deleted_count"])); n == 0 {
		return fmt.Errorf("%s: %w", doing, account.ErrNotFound)
	}
	return nil
}

// Products is a page of the catalog of phone, or of the account's own when phone is "".
func (c *Conn) Products(ctx context.Context, phone, cursor string, limit int) (account.ProductPage, error) {
	doing := "get the catalog"
	var owner types.JID
	if phone == "" {
		if c.cli.Store.ID == nil {
			return account.ProductPage{}, accountError(doing, whatsmeow.ErrNotLoggedIn)
		}
		owner = c.cli.Store.ID.ToNonAD()
	} else {
		doing += " of " + phone
		var err error
		if owner, err = c.recipient(ctx, phone); err != nil {
			return account.ProductPage{}, accountError(doing, err)
		}
	}
	query := []waBinary.Node{textNode("limit", strconv.Itoa(min(max(limit, 1), catalogPageMax))),
		textNode("width", catalogThumbSide), textNode("height", catalogThumbSide)}
	if cursor != "" {
		query = append(query, textNode("after", cursor))
	}
	res, err := c.catalogIQ(ctx, "get", waBinary.Node{Tag: "product_catalog",
		Attrs: waBinary.Attrs{"jid": owner, "allow_shop_source": "true"}, Content: query})
	switch {
	case phone == "" && (errors.Is(err, whatsmeow.ErrIQNotFound) || errors.Is(err, whatsmeow.ErrIQForbidden)):
		return account.ProductPage{}, fmt.Errorf("%s: %w", doing, errPersonalCatalog)
	case err != nil:
		return account.ProductPage{}, accountError(doing, err)
	}
	catalog, _ := res.GetOptionalChildByTag("product_catalog")
	var page account.ProductPage
	for _, n := range catalog.GetChildrenByTag("product") {
		page.Products = append(page.Products, catalogProduct(n))
	}
	if paging, ok := catalog.GetOptionalChildByTag("paging", "after"); ok {
		page.Next = nodeString(paging)
	}
	return page, nil
}

// catalogIQ sends an IQ of the catalog namespace.
func (c *Conn) catalogIQ(ctx context.Context, typ string, content waBinary.Node) (*waBinary.Node, error) {
	return c.cli.DangerousInternals().SendIQ(ctx, whatsmeow.DangerousInfoQuery{
		Namespace: "w:biz:catalog",
		Type:      whatsmeow.DangerousInfoQueryType(typ),
		To:        types.ServerJID,
		Content:   []waBinary.Node{content},
	})
}

// catalogProduct reads a product node of a catalog answer (see Baileys' parseProductNode).
func catalogProduct(n waBinary.Node) account.Product {
	child := func(tag string) string {
		c, _ := n.GetOptionalChildByTag(tag)
		return nodeString(c)
	}
	p := account.Product{ID: child("id"), Name: child("name"), Description: child("description"),
		RetailerID: child("retailer_id"), URL: child("url"), Currency: child("currency"),
		Hidden: fmt.Sprint(n.Attrs["is_hidden"]) == "true"}
	p.Price, _ = strconv.ParseInt(child("price"), 10, 64)
	m, _ := n.GetOptionalChildByTag("media")
	for _, img := range m.GetChildrenByTag("image") {
		u, _ := img.GetOptionalChildByTag("original_image_url")
		if s := nodeString(u); s != "" {
			p.ImageURLs = append(p.ImageURLs, s)
		}
	}
	return p
}

func textNode(tag, text string) waBinary.Node { return waBinary.Node{Tag: tag, Content: []byte(text)} }

// nodeString is a node's content as text (the decoder gives text as bytes; a node without content is "").
func nodeString(n waBinary.Node) string {
	switch v := n.Content.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}
