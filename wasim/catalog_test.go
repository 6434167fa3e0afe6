package wasim_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// TestCatalogIsStrict: the w:biz:catalog IQs answer as WhatsApp does what they must, and refuse what WhatsApp
// refuses — fields it does not know or that break its rules, pictures not uploaded to it, a personal account's
// catalog — and the media host takes only JPEG product pictures, with their hash as token. (What they must do is
// checked with Baileys in wasim/baileys and with the server's whatsmeow client in the e2e tests.)
func TestCatalogIsStrict(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	shop := addAccount(t, sim, "Shop")
	shop.SetBusiness(true)
	person := addAccount(t, sim, "Person")
	c := newClient(t, sim)
	c.link(shop)
	p := newClient(t, sim)
	p.link(person)
	ctx := testContext(t)

	upload := func(data []byte, tamper func(q url.Values, token string) (url.Values, string)) (int, string) {
		t.Helper()
		conn, err := c.cli.DangerousInternals().RefreshMediaConn(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		token := base64.URLEncoding.EncodeToString(sum[:])
		q := url.Values{"auth": {conn.Auth}, "token": {token}}
		if tamper != nil {
			q, token = tamper(q, token)
		}
		resp, err := simclient.HTTPClient(sim.Addr()).Post("https://"+conn.Hosts[0].Hostname+"/product/image/"+token+"?"+q.Encode(),
			"application/octet-stream", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var up struct {
			DirectPath string `json:"direct_path"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&up)
		return resp.StatusCode, "https://mmg.whatsapp.net" + up.DirectPath
	}
	picture := catalogJPEG(t)
	status, pictureURL := upload(picture, nil)
	if status != http.StatusOK {
		t.Fatalf("upload a JPEG product picture: %d", status)
	}
	var pngPicture bytes.Buffer
	_ = png.Encode(&pngPicture, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	for name, u := range map[string]struct {
		data   []byte
		tamper func(url.Values, string) (url.Values, string)
		want   int
	}{
		"a PNG":         {pngPicture.Bytes(), nil, http.StatusBadRequest},
		"no auth":       {picture, func(q url.Values, tok string) (url.Values, string) { q.Del("auth"); return q, tok }, http.StatusUnauthorized},
		"another token": {picture, func(q url.Values, tok string) (url.Values, string) { return q, strings.Repeat("A", 43) + "=" }, http.StatusBadRequest},
	} {
		if got, _ := upload(u.data, u.tamper); got != u.want {
			t.Errorf("upload %s: %d, want %d", name, got, u.want)
		}
	}

	text := func(tag, v string) waBinary.Node { return waBinary.Node{Tag: tag, Content: []byte(v)} }
	media := func(urls ...string) waBinary.Node {
		var imgs []waBinary.Node
		for _, u := range urls {
			imgs = append(imgs, waBinary.Node{Tag: "image", Content: []waBinary.Node{text("url", u)}})
		}
		return waBinary.Node{Tag: "media", Content: imgs}
	}
	product := func(attrs waBinary.Attrs, children ...waBinary.Node) waBinary.Node {
		return waBinary.Node{Tag: "product", Attrs: attrs, Content: children}
	}
	good := func(extra ...waBinary.Node) waBinary.Node {
		return product(waBinary.Attrs{"is_hidden": "false"},
			append([]waBinary.Node{text("name", "Mug"), media(pictureURL), text("price", "19900"), text("currency", "BRL")}, extra...)...)
	}
	send := func(from *client, typ string, op waBinary.Node) (*waBinary.Node, error) {
		return from.cli.DangerousInternals().SendIQ(ctx, whatsmeow.DangerousInfoQuery{Namespace: "w:biz:catalog",
			Type: whatsmeow.DangerousInfoQueryType(typ), To: types.ServerJID, Content: []waBinary.Node{op}})
	}
	add := func(p waBinary.Node) waBinary.Node {
		return waBinary.Node{Tag: "product_catalog_add", Attrs: waBinary.Attrs{"v": "1"}, Content: []waBinary.Node{p}}
	}
	res, err := send(c, "set", add(good()))
	if err != nil {
		t.Fatalf("add a product: %v", err)
	}
	created, _ := res.GetOptionalChildByTag("product_catalog_add", "product", "id")
	id, _ := created.Content.([]byte)
	if len(shop.Catalog()) != 1 || shop.Catalog()[0].ID != string(id) {
		t.Fatalf("the phone shows %+v, want the product %s", shop.Catalog(), id)
	}
	catalogOf := func(jid types.JID, children ...waBinary.Node) waBinary.Node {
		return waBinary.Node{Tag: "product_catalog", Attrs: waBinary.Attrs{"jid": jid}, Content: children}
	}
	forged := strings.Replace(pictureURL, "oh=", "oh=x", 1)
	for _, tc := range []struct {
		name string
		from *client
		typ  string
		op   waBinary.Node
		want error
	}{
		{"an unknown field", c, "set", add(good(text("color", "blue"))), whatsmeow.ErrIQBadRequest},
		{"an unknown attribute", c, "set", add(product(waBinary.Attrs{"featured": "true"}, text("name", "Mug"), media(pictureURL))), whatsmeow.ErrIQBadRequest},
		{"a price without currency", c, "set", add(product(nil, text("name", "Mug"), media(pictureURL), text("price", "100"))), whatsmeow.ErrIQBadRequest},
		{"a currency in lower case", c, "set", add(product(nil, text("name", "Mug"), media(pictureURL), text("price", "100"), text("currency", "brl"))), whatsmeow.ErrIQBadRequest},
		{"a price that is not a number", c, "set", add(product(nil, text("name", "Mug"), media(pictureURL), text("price", "1.5"), text("currency", "BRL"))), whatsmeow.ErrIQBadRequest},
		{"no picture", c, "set", add(product(nil, text("name", "Mug"))), whatsmeow.ErrIQBadRequest},
		{"a picture not uploaded", c, "set", add(product(nil, text("name", "Mug"), media(forged))), whatsmeow.ErrIQBadRequest},
		{"a picture elsewhere", c, "set", add(product(nil, text("name", "Mug"), media("https://example.com/mug.jpg"))), whatsmeow.ErrIQBadRequest},
		{"no name", c, "set", add(product(nil, media(pictureURL))), whatsmeow.ErrIQBadRequest},
		{"a name too long", c, "set", add(product(nil, text("name", strings.Repeat("m", 151)), media(pictureURL))), whatsmeow.ErrIQBadRequest},
		{"a page URL that is not one", c, "set", add(good(text("url", "javascript:alert(1)"))), whatsmeow.ErrIQBadRequest},
		{"an ID in an add", c, "set", add(good(text("id", "1"))), whatsmeow.ErrIQBadRequest},
		{"no version", c, "set", waBinary.Node{Tag: "product_catalog_add", Content: []waBinary.Node{good()}}, whatsmeow.ErrIQBadRequest},
		{"an edit without ID", c, "set", waBinary.Node{Tag: "product_catalog_edit", Attrs: waBinary.Attrs{"v": "1"}, Content: []waBinary.Node{good()}}, whatsmeow.ErrIQBadRequest},
		{"an edit of an unknown product", c, "set", waBinary.Node{Tag: "product_catalog_edit", Attrs: waBinary.Attrs{"v": "1"}, Content: []waBinary.Node{good(text("id", "1234"))}}, whatsmeow.ErrIQNotFound},
		{"a delete without ID", c, "set", waBinary.Node{Tag: "product_catalog_delete", Attrs: waBinary.Attrs{"v": "1"}, Content: []waBinary.Node{{Tag: "product"}}}, whatsmeow.ErrIQBadRequest},
		{"a page without limit", c, "get", catalogOf(shop.JID()), whatsmeow.ErrIQBadRequest},
		{"a page too large", c, "get", catalogOf(shop.JID(), text("limit", "101")), whatsmeow.ErrIQBadRequest},
		{"a cursor not given", c, "get", catalogOf(shop.JID(), text("limit", "10"), text("after", "nope")), whatsmeow.ErrIQBadRequest},
		{"a personal account's catalog", c, "get", catalogOf(person.JID(), text("limit", "10")), whatsmeow.ErrIQNotFound},
		{"a personal account's own catalog", p, "get", catalogOf(person.JID(), text("limit", "10")), whatsmeow.ErrIQForbidden},
		{"a personal account adds", p, "set", add(good()), whatsmeow.ErrIQForbidden},
		{"a personal account deletes", p, "set", waBinary.Node{Tag: "product_catalog_delete", Attrs: waBinary.Attrs{"v": "1"},
			Content: []waBinary.Node{{Tag: "product", Content: []waBinary.Node{text("id", string(id))}}}}, whatsmeow.ErrIQForbidden},
	} {
		if _, err := send(tc.from, tc.typ, tc.op); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := len(shop.Catalog()); n != 1 {
		t.Errorf("the phone shows %d products after the refused requests, want 1", n)
	}
	// Another account sees the product; the catalog pages with the cursor it gives.
	res, err = send(p, "get", catalogOf(shop.JID(), text("limit", "10"), text("width", "100"), text("height", "100")))
	if err != nil {
		t.Fatalf("the catalog as another account sees it: %v", err)
	}
	cat := res.GetChildByTag("product_catalog")
	if got := len(cat.GetChildrenByTag("product")); got != 1 {
		t.Errorf("another account sees %d products: %s", got, res.XMLString())
	}
}

func catalogJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 16, 12)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
