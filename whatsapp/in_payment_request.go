package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readPaymentRequest reads a request for money (WhatsApp Pay). The amount is given as a Money (value and the
// number of decimals) by today's apps, as thousandths of the unit by older ones.
func readPaymentRequest(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	rp := msg.GetRequestPaymentMessage()
	if rp == nil {
		return nil, nil, false
	}
	req := &messagesv1.PaymentRequest{
		CurrencyCode: rp.GetCurrencyCodeIso4217(), Amount_1000: int64(rp.GetAmount1000()),
		RequestFrom: phoneOfJID(rp.GetRequestFrom()), ExpiresMs: rp.GetExpiryTimestamp() * 1000,
	}
	if m := rp.GetAmount(); m != nil {
		req.Amount_1000 = thousandths(m.GetValue(), m.GetOffset())
		if m.GetCurrencyCode() != "" {
			req.CurrencyCode = m.GetCurrencyCode()
		}
	}
	note := rp.GetNoteMessage()
	req.Note = note.GetExtendedTextMessage().GetText()
	if req.Note == "" {
		req.Note = note.GetConversation()
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_PaymentRequest{PaymentRequest: req}},
		note.GetExtendedTextMessage().GetContextInfo(), true
}

// thousandths turns an amount of value with offset decimals (WhatsApp's Money) into thousandths of the unit.
func thousandths(value int64, offset uint32) int64 {
	for ; offset > 3; offset-- {
		value /= 10
	}
	for ; offset < 3; offset++ {
		value *= 10
	}
	return value
}
