package baileys_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/baileys"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// bProduct is a product as Baileys parses it (parseProductNode).
type bProduct struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	RetailerID   string            `json:"retailerId"`
	URL          string            `json:"url"`
	Price        int64             `json:"price"`
	Currency     string            `json:"currency"`
	IsHidden     bool              `json:"isHidden"`
	ImageUrls    map[string]string `json:"imageUrls"`
	ReviewStatus map[string]string `json:"reviewStatus"`
}

// TestBaileysCatalog checks wasim's product catalog against Baileys' (business.ts), the second client besides
// the server's own whatsmeow-based one: a business account's Baileys creates a product with a picture it
// uploads, pages through its catalog, updates, hides and deletes; the simulated phone shows each change. A
// personal account's catalog is not found, and a picture that is not a JPEG is refused. (Baileys does not send
// a product's url, which the server's client does: that field is checked through the server alone.)
//
//	go test -count=1 -v -run TestBaileysCatalog ./wasim/baileys/
func TestBaileysCatalog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := baileys.Install(ctx); err != nil {
		t.Fatalf("install Baileys: %v", err)
	}
	sim, err := wasim.Start(ctx, wasim.Options{Logger: testLogger()})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	shop, err := sim.AddAccount(ctx, "5511900000011", "Shop")
	if err != nil {
		t.Fatal(err)
	}
	shop.SetBusiness(true)
	person, err := sim.AddAccount(ctx, "5511900000012", "Person")
	if err != nil {
		t.Fatal(err)
	}
	c, err := baileys.Start(ctx, baileys.Options{SimAddr: sim.Addr(), AuthDir: t.TempDir(), Name: "shop-baileys"})
	if err != nil {
		t.Fatalf("start Baileys: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Link(ctx, shop); err != nil {
		t.Fatal(err)
	}
	picture := testJPEG(3)
	create := func(name string, hidden bool) bProduct {
		t.Helper()
		var p bProduct
		err := c.Call(ctx, "productCreate", map[string]any{"product": map[string]any{
			"name": name, "description": "about " + name, "price": 12500, "currency": "BRL", "retailerId": "sku-" + name,
			"isHidden": hidden, "imagesBase64": [][]byte{picture},
		}}, &p)
		if err != nil {
			t.Fatalf("productCreate %s: %v", name, err)
		}
		return p
	}
	onPhone := func(id string) (wasim.Product, bool) {
		for _, p := range shop.Catalog() {
			if p.ID == id {
				return p, true
			}
		}
		return wasim.Product{}, false
	}
	type catalog struct {
		Products       []bProduct `json:"products"`
		NextPageCursor *string    `json:"nextPageCursor"`
	}
	getCatalog := func(args map[string]any) catalog {
		t.Helper()
		var cat catalog
		if err := c.Call(ctx, "getCatalog", args, &cat); err != nil {
			t.Fatalf("getCatalog %v: %v", args, err)
		}
		return cat
	}

	mug := create("mug", false)
	p, ok := onPhone(mug.ID)
	if !ok || p.Name != "mug" || p.Description != "about mug" || p.Price != 12500 || p.Currency != "BRL" ||
		p.RetailerID != "sku-mug" || p.Hidden || len(p.Images) != 1 ||
		!bytes.Equal(p.Images[0], picture) {
		t.Fatalf("productCreate answered %+v; the phone shows %+v (found %v)", mug, p.Name, ok)
	}
	if mug.Name != "mug" || mug.Price != 12500 || mug.RetailerID != "sku-mug" || mug.ReviewStatus["whatsapp"] == "" {
		t.Fatalf("Baileys parsed the created product as %+v", mug)
	}
	// The picture URL the catalog gives serves the picture Baileys uploaded.
	resp, err := simclient.HTTPClient(sim.Addr()).Get(mug.ImageUrls["original"])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, picture) {
		t.Fatalf("GET %q: %s, %d bytes, not the picture uploaded", mug.ImageUrls["original"], resp.Status, len(got))
	}

	cup := create("cup", true)
	first := getCatalog(map[string]any{"limit": 1})
	if len(first.Products) != 1 || first.Products[0].ID != cup.ID || !first.Products[0].IsHidden || first.NextPageCursor == nil {
		t.Fatalf("first page of 1: %+v", first)
	}
	second := getCatalog(map[string]any{"limit": 1, "cursor": *first.NextPageCursor})
	if len(second.Products) != 1 || second.Products[0].ID != mug.ID || second.NextPageCursor != nil {
		t.Fatalf("second page of 1: %+v", second)
	}

	var updated bProduct
	if err := c.Call(ctx, "productUpdate", map[string]any{"id": mug.ID, "update": map[string]any{
		"name": "big mug", "description": "a bigger mug", "price": 20000, "currency": "USD", "isHidden": true,
	}}, &updated); err != nil {
		t.Fatalf("productUpdate: %v", err)
	}
	if p, _ := onPhone(mug.ID); p.Name != "big mug" || p.Price != 20000 || p.Currency != "USD" || !p.Hidden || len(p.Images) != 1 {
		t.Fatalf("after productUpdate (answered %+v) the phone shows %q %d %s hidden=%v", updated, p.Name, p.Price, p.Currency, p.Hidden)
	}

	var deleted struct {
		Deleted int `json:"deleted"`
	}
	if err := c.Call(ctx, "productDelete", map[string]any{"ids": []string{cup.ID, "1234"}}, &deleted); err != nil || deleted.Deleted != 1 {
		t.Fatalf("productDelete: %+v, %v; want 1 deleted (the unknown ID is not counted)", deleted, err)
	}
	if _, ok := onPhone(cup.ID); ok || len(shop.Catalog()) != 1 {
		t.Fatalf("after productDelete the phone shows %d products", len(shop.Catalog()))
	}

	// A personal account shows no catalog.
	if err := c.Call(ctx, "getCatalog", map[string]any{"jid": person.JID().String()}, nil); err == nil || !strings.Contains(err.Error(), "item-not-found") {
		t.Fatalf("getCatalog of a personal account: %v, want item-not-found (404)", err)
	}
	// A product picture must be a JPEG: the media host refuses a PNG, and Baileys the product.
	var pngPicture bytes.Buffer
	if err := png.Encode(&pngPicture, imageOf(testJPEG(4))); err != nil {
		t.Fatal(err)
	}
	err = c.Call(ctx, "productCreate", map[string]any{"product": map[string]any{
		"name": "plate", "description": "", "price": 100, "currency": "BRL", "imagesBase64": [][]byte{pngPicture.Bytes()},
	}}, nil)
	if err == nil || len(shop.Catalog()) != 1 {
		t.Fatalf("productCreate with a PNG picture: %v, the phone shows %d products; want it refused", err, len(shop.Catalog()))
	}
}

func imageOf(jpegData []byte) image.Image {
	img, err := jpeg.Decode(bytes.NewReader(jpegData))
	if err != nil {
		panic(err)
	}
	return img
}
