package account

import "context"

// Catalog is what a Client answers about the product catalog of a WhatsApp Business account: its own products,
// and the catalogs other businesses show. A personal account has no catalog: its own-catalog methods answer
// ErrUnsupported, as WhatsApp refuses them.
type Catalog interface {
	// SaveProduct adds a product to the account's own catalog, or changes the product p.ID names, and returns
	// the product's ID. Images given by URL are fetched; every image is uploaded to WhatsApp first.
	SaveProduct(ctx context.Context, p NewProduct) (string, error)
	// Product is a product of the account's own catalog; ErrNotFound when it has none with that ID.
	Product(ctx context.Context, id string) (Product, error)
	// DeleteProduct removes a product from the account's own catalog; ErrNotFound when it has none with that ID.
	DeleteProduct(ctx context.Context, id string) error
	// Products is a page of the catalog of phone (the account's own when phone is ""), from cursor ("" for the
	// first page), at most limit products. ErrNotFound when phone shows no catalog (not a business).
	Products(ctx context.Context, phone, cursor string, limit int) (ProductPage, error)
}

// NewProduct is a product as the account gives it to its catalog.
type NewProduct struct {
	// ID, when set, names the product to change; empty, the product is new.
	ID          string
	Name        string
	Description string
	// Price is in thousandths of the currency's unit (19.90 BRL is 19900), as WhatsApp counts it; Currency is
	// its ISO 4217 code.
	Price    int64
	Currency string
	// RetailerID is the business's own code for the product (its SKU); optional.
	RetailerID string
	// URL is the product's page on the business's site; optional.
	URL    string
	Hidden bool
	// Images are the product's pictures, the first one its cover; at least one.
	Images []Image
}

// Product is a product as a catalog shows it.
type Product struct {
	ID          string
	Name        string
	Description string
	// Price is in thousandths of the currency's unit, as in NewProduct.
	Price      int64
	Currency   string
	RetailerID string
	URL        string
	Hidden     bool
	// ImageURLs are where WhatsApp serves the product's pictures.
	ImageURLs []string
}

// ProductPage is a page of a catalog.
type ProductPage struct {
	Products []Product
	// Next is the cursor of the next page; empty on the last page.
	Next string
}
