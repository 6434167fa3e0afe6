package whatsapp

import (
	"context"
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
		"reference_id": "",
		"type":         "physical-goods",
		"order": map[string]any{
			"status": "pending", "subtotal": zero, "order_type": "ORDER", "items": []any{},
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
	return nativeFlow("", "", "", []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{button}, info), nil
}
