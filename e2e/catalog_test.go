package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// TestCatalog: a WhatsApp Business number runs its product catalog through the API — a product made with
// pictures by URL and in base64 shows in the catalog on its phone, is read back, listed (paged), seen by another
// number through catalogs/{phone}, changed (by retailerId), hidden from others and deleted; a personal number is
// refused with 501, and bad input with 400.
func TestCatalog(t *testing.T) {
	const buyerPhone, strangerPhone = "5511999990002", "5511999990077"
	sim := startSimulator(t)
	shop := addAccount(t, sim, businessPhone, "Shop")
	shop.SetBusiness(true)
	buyer := addAccount(t, sim, buyerPhone, "Buyer")
	addAccount(t, sim, alicePhone, "Alice")
	pictures := map[string][]byte{"/mug.png": testPNG(t, 64, 48)}
	files := fileServer(t, pictures)
	srv := startServer(t, sim, withEnv("PLUGZAPI_ALLOW_INSECURE_MEDIA", "1"))
	in := createInstance(t, srv, "shop", nil)
	link(t, in, shop)
	personal := createInstance(t, srv, "buyer", nil)
	link(t, personal, buyer)
	wa := simclient.HTTPClient(sim.Addr())

	// productOnPhone is the product as the shop's phone shows it.
	productOnPhone := func(t *testing.T, id string) (wasim.Product, bool) {
		t.Helper()
		for _, p := range shop.Catalog() {
			if p.ID == id {
				return p, true
			}
		}
		return wasim.Product{}, false
	}
	type product struct {
		ID, Name, Description, Price, Currency, URL, Availability string
		RetailerID                                                *string
		IsHidden                                                  bool
		Images                                                    []string
	}
	type page struct {
		CartEnabled bool
		Products    []product
		NextCursor  *string
	}
	list := func(t *testing.T, from instance, rest string) page {
		t.Helper()
		res := from.call(t, "GET", rest, nil)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %s", rest, res)
		}
		var p page
		res.decode(t, &p)
		return p
	}
	ids := func(p page) []string {
		var out []string
		for _, q := range p.Products {
			out = append(out, q.ID)
		}
		return out
	}

	var mugID string
	t.Run("create with pictures by URL and in base64", func(t *testing.T) {
		res := in.call(t, "POST", "products", map[string]any{
			"name": "Mug", "description": "A blue mug", "price": 19.9, "currency": "BRL", "retailerId": "sku-1",
			"url": "https://shop.example/mug", "isHidden": false,
			"images": []string{files.URL + "/mug.png", dataURI("image/jpeg", testJPEG(t, 30, 40))},
		})
		if res.status != http.StatusOK {
			t.Fatalf("POST products: %s", res)
		}
		var created struct{ ID string }
		res.decode(t, &created)
		mugID = created.ID
		p, ok := productOnPhone(t, mugID)
		if !ok {
			t.Fatalf("the shop's phone has no product %q: %+v", mugID, shop.Catalog())
		}
		if p.Name != "Mug" || p.Description != "A blue mug" || p.Price != 19900 || p.Currency != "BRL" ||
			p.RetailerID != "sku-1" || p.URL != "https://shop.example/mug" || p.Hidden {
			p.Images = nil
			t.Fatalf("on the phone: %+v", p)
		}
		// The pictures are on the phone as JPEGs of the pictures given, in order.
		if len(p.Images) != 2 {
			t.Fatalf("the phone shows %d pictures, want 2", len(p.Images))
		}
		for i, want := range []image.Point{{64, 48}, {30, 40}} {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.Images[i]))
			if err != nil || cfg.Width != want.X || cfg.Height != want.Y {
				t.Fatalf("picture %d: %dx%d (%v), want a %dx%d JPEG", i, cfg.Width, cfg.Height, err, want.X, want.Y)
			}
		}
	})
	if mugID == "" {
		t.FailNow()
	}

	t.Run("get", func(t *testing.T) {
		res := in.call(t, "GET", "products/"+mugID, nil)
		var got struct {
			CartEnabled bool
			Product     product
		}
		res.decode(t, &got)
		p := got.Product
		if res.status != http.StatusOK || !got.CartEnabled || p.ID != mugID || p.Name != "Mug" || p.Price != "19900" ||
			p.Currency != "BRL" || p.RetailerID == nil || *p.RetailerID != "sku-1" || p.Availability != "in stock" ||
			p.Description != "A blue mug" || p.URL != "https://shop.example/mug" || len(p.Images) != 2 {
			t.Fatalf("GET products/%s: %s", mugID, res)
		}
		// The picture URLs are WhatsApp's, serving the pictures the phone has.
		onPhone, _ := productOnPhone(t, mugID)
		for i, u := range p.Images {
			resp, err := wa.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, onPhone.Images[i]) {
				t.Fatalf("picture %d at %s: %s, %d bytes, not the phone's", i, u, resp.Status, len(body))
			}
		}
	})

	var cupID string
	t.Run("list own, paged", func(t *testing.T) {
		res := in.call(t, "POST", "products", map[string]any{
			"name": "Cup", "description": "", "price": 5, "currency": "BRL", "images": []string{files.URL + "/mug.png"},
		})
		var created struct{ ID string }
		res.decode(t, &created)
		if res.status != http.StatusOK || created.ID == "" || created.ID == mugID {
			t.Fatalf("POST products (a second one): %s", res)
		}
		cupID = created.ID
		all := list(t, in, "catalogs")
		if !all.CartEnabled || !slices.Equal(ids(all), []string{cupID, mugID}) || all.NextCursor != nil {
			t.Fatalf("GET catalogs: %+v, want the cup and the mug (newest first) on one page", all)
		}
		first := list(t, in, "catalogs?pageSize=1")
		if !slices.Equal(ids(first), []string{cupID}) || first.NextCursor == nil {
			t.Fatalf("first page of 1: %+v", first)
		}
		second := list(t, in, "catalogs?pageSize=1&nextCursor="+*first.NextCursor)
		if !slices.Equal(ids(second), []string{mugID}) || second.NextCursor != nil || second.Products[0].Price != "19900" {
			t.Fatalf("second page of 1: %+v", second)
		}
	})

	t.Run("another number lists it", func(t *testing.T) {
		theirs := list(t, personal, "catalogs/"+businessPhone)
		if !slices.Equal(ids(theirs), []string{cupID, mugID}) || theirs.Products[1].Name != "Mug" {
			t.Fatalf("GET catalogs/%s from the buyer: %+v", businessPhone, theirs)
		}
	})

	t.Run("update by retailerId", func(t *testing.T) {
		res := in.call(t, "POST", "products", map[string]any{
			"name": "Big mug", "description": "A bigger blue mug", "price": 25, "currency": "USD", "retailerId": "sku-1",
			"images": []string{dataURI("image/png", testPNG(t, 20, 20))},
		})
		var saved struct{ ID string }
		res.decode(t, &saved)
		if res.status != http.StatusOK || saved.ID != mugID {
			t.Fatalf("POST products with the mug's retailerId: %s, want the mug's ID %s", res, mugID)
		}
		p, _ := productOnPhone(t, mugID)
		if p.Name != "Big mug" || p.Price != 25000 || p.Currency != "USD" || len(p.Images) != 1 || len(shop.Catalog()) != 2 {
			t.Fatalf("on the phone after the update: %+v (%d products)", p, len(shop.Catalog()))
		}
	})

	t.Run("hide", func(t *testing.T) {
		res := in.call(t, "POST", "products", map[string]any{
			"id": cupID, "name": "Cup", "price": 5, "currency": "BRL", "isHidden": true, "images": []string{files.URL + "/mug.png"},
		})
		if res.status != http.StatusOK {
			t.Fatalf("hide the cup: %s", res)
		}
		if p, _ := productOnPhone(t, cupID); !p.Hidden {
			t.Fatalf("the phone shows the cup %q not hidden", p.Name)
		}
		if theirs := list(t, personal, "catalogs/"+businessPhone); !slices.Equal(ids(theirs), []string{mugID}) {
			t.Fatalf("the buyer still sees the hidden cup: %+v", theirs)
		}
		own := list(t, in, "catalogs")
		if !slices.Equal(ids(own), []string{cupID, mugID}) || !own.Products[0].IsHidden {
			t.Fatalf("the shop's own catalog: %+v, want the cup shown to it as hidden", own)
		}
	})

	t.Run("delete", func(t *testing.T) {
		res := in.call(t, "DELETE", "products/"+cupID, nil)
		if res.status != http.StatusOK || string(bytes.TrimSpace(res.body)) != `{"success":true}` {
			t.Fatalf("DELETE products/%s: %s", cupID, res)
		}
		if _, ok := productOnPhone(t, cupID); ok {
			t.Fatal("the cup is still on the phone")
		}
		in.call(t, "GET", "products/"+cupID, nil).wantError(t, http.StatusNotFound, "not_found")
		in.call(t, "DELETE", "products/"+cupID, nil).wantError(t, http.StatusNotFound, "not_found")
		in.call(t, "POST", "products", map[string]any{
			"id": cupID, "name": "Cup", "price": 5, "currency": "BRL", "images": []string{files.URL + "/mug.png"},
		}).wantError(t, http.StatusNotFound, "not_found")
	})

	t.Run("a personal number has no catalog", func(t *testing.T) {
		personal.call(t, "POST", "products", map[string]any{
			"name": "Cup", "price": 5, "currency": "BRL", "images": []string{files.URL + "/mug.png"},
		}).wantError(t, http.StatusNotImplemented, "unsupported")
		personal.call(t, "GET", "catalogs", nil).wantError(t, http.StatusNotImplemented, "unsupported")
		personal.call(t, "GET", "products/"+mugID, nil).wantError(t, http.StatusNotImplemented, "unsupported")
		personal.call(t, "DELETE", "products/"+mugID, nil).wantError(t, http.StatusNotImplemented, "unsupported")
		if len(buyer.Catalog()) != 0 {
			t.Fatalf("the personal number's phone has products: %+v", buyer.Catalog())
		}
		// Another personal number shows no catalog; a number without WhatsApp, nothing at all.
		in.call(t, "GET", "catalogs/"+alicePhone, nil).wantError(t, http.StatusNotFound, "not_found")
		in.call(t, "GET", "catalogs/"+strangerPhone, nil).wantError(t, http.StatusNotFound, "not_on_whatsapp")
	})

	t.Run("bad input", func(t *testing.T) {
		good := func() map[string]any {
			return map[string]any{"name": "Plate", "price": 7, "currency": "BRL", "images": []string{files.URL + "/mug.png"}}
		}
		with := func(k string, v any) map[string]any {
			b := good()
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
			return b
		}
		for _, c := range []struct {
			name   string
			body   map[string]any
			status int
			code   string
		}{
			{"no name", with("name", nil), 400, "missing_fields"},
			{"no price", with("price", nil), 400, "missing_fields"},
			{"no images", with("images", []string{}), 400, "missing_fields"},
			{"price as text", with("price", "7"), 400, "invalid_field"},
			{"negative price", with("price", -1), 400, "invalid_field"},
			{"price with 4 decimals", with("price", 1.2345), 400, "invalid_field"},
			{"currency in lower case", with("currency", "brl"), 400, "invalid_field"},
			{"a page URL that is not one", with("url", "shop.example/mug"), 400, "invalid_field"},
			{"a product ID that is not one", with("id", "abc"), 400, "invalid_field"},
			{"a picture that is text", with("images", []string{dataURI("image/png", []byte("not a picture"))}), 400, "invalid_media"},
			{"a picture URL that is not found", with("images", []string{files.URL + "/missing.png"}), 400, "invalid_media"},
			{"eleven pictures", with("images", slices.Repeat([]string{files.URL + "/mug.png"}, 11)), 400, "invalid_field"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in.call(t, "POST", "products", c.body).wantError(t, c.status, c.code)
			})
		}
		if n := len(shop.Catalog()); n != 1 {
			t.Fatalf("the phone has %d products after refused requests, want 1", n)
		}
		in.call(t, "GET", "products/12ab", nil).wantError(t, 400, "invalid_field")
		in.call(t, "GET", "catalogs/12ab", nil).wantError(t, 400, "invalid_phone")
		in.call(t, "GET", "catalogs?pageSize=0", nil).wantError(t, 400, "invalid_query")
		wrong := in
		wrong.token = "wrong"
		wrong.call(t, "GET", "catalogs", nil).wantError(t, http.StatusNotFound, "instance_not_found")
	})
}

// testPNG is a w×h PNG picture.
func testPNG(t *testing.T, w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, gradient(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testJPEG is a w×h JPEG picture.
func testJPEG(t *testing.T, w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, gradient(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gradient(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 200, 255})
		}
	}
	return img
}
