package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readLocation reads a place, or a live location (where the sender is, shared as they move).
func readLocation(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	if l := msg.GetLocationMessage(); l != nil {
		loc := &messagesv1.Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(),
			Name: l.GetName(), Address: l.GetAddress(), Url: l.GetURL(), Thumbnail: l.GetJPEGThumbnail(),
			Live: l.GetIsLive()}
		return &messagesv1.Content{Kind: &messagesv1.Content_Location{Location: loc}}, l.GetContextInfo(), true
	}
	if l := msg.GetLiveLocationMessage(); l != nil {
		loc := &messagesv1.Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(),
			Name: l.GetCaption(), Thumbnail: l.GetJPEGThumbnail(), Live: true}
		return &messagesv1.Content{Kind: &messagesv1.Content_Location{Location: loc}}, l.GetContextInfo(), true
	}
	return nil, nil, false
}
