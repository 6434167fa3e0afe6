package whatsapp

import (
	"context"
	"math/rand/v2"
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildPix makes the button WhatsApp shows for paying by Pix to a key (a native flow payment_info with a static
// Pix code, no amount; see out_buttons.go): the recipient's app offers to copy the key and names the merchant.
func buildPix(_ context.Context, _ *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	p := c.GetPix()
	type amount struct {
		Value  int `json:"value"`
		Offset int `json:"offset"`
	}
	zero := amount{Value: 0, Offset: 100}
	params := map[string]any{
		"currency":     "BRL",
		"total_amount": zero,
		"reference_id": referenceID(),
		"type":         "physical-goods",
		"order": map[string]any{
			"status": "pending", "subtotal": zero, "order_type": "ORDER",
			// One item of no amount: WhatsApp's apps show the key, not an order.
			"items": []any{map[string]any{"name": "", "amount": zero, "quantity": 0, "sale_amount": zero}},
		},
		"payment_settings": []any{map[string]any{
			"type": "pix_static_code",
			"pix_static_code": map[string]string{
				"merchant_name": p.GetMerchantName(), "key": p.GetKey(), "key_type": strings.ToUpper(p.GetKeyType()),
			},
		}},
		"share_payment_status": false,
	}
	button, err := flowButton(flowPaymentInfo, params)
	if err != nil {
		return nil, err
	}
	return nativeFlow("", nil, "", []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{button}, info), nil
}

// referenceID is a payment's reference, as WhatsApp's apps make them: 11 random capital letters and digits.
func referenceID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 11)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
