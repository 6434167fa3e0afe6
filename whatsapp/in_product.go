package whatsapp

import (
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readProduct reads a product of a business's catalogue shared in the chat, with its picture.
func readProduct(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	pm := msg.GetProductMessage()
	if pm == nil {
		return nil, nil, false
	}
	p := pm.GetProduct()
	product := &messagesv1.Product{
		Id: p.GetProductID(), Title: p.GetTitle(), Description: p.GetDescription(), CurrencyCode: p.GetCurrencyCode(),
		Price_1000: p.GetPriceAmount1000(), RetailerId: p.GetRetailerID(), Url: p.GetURL(),
		ImageCount: p.GetProductImageCount(), FirstImageId: p.GetFirstImageID(), BusinessOwner: phoneOfJID(pm.GetBusinessOwnerJID()),
	}
	if img := p.GetProductImage(); img != nil {
		product.Image = receivedMedia(img, whatsmeow.MediaImage)
		product.Image.Thumbnail = img.GetJPEGThumbnail()
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Product{Product: product}}, pm.GetContextInfo(), true
}
