package whatsapp

import (
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readAudio reads a recording: a voice note (PTT) or an audio file.
func readAudio(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	a := msg.GetAudioMessage()
	if a == nil {
		return nil, nil, false
	}
	m := receivedMedia(a, whatsmeow.MediaAudio)
	m.Voice, m.Seconds, m.Waveform, m.ViewOnce = a.GetPTT(), a.GetSeconds(), a.GetWaveform(), a.GetViewOnce()
	return &messagesv1.Content{Kind: &messagesv1.Content_Audio{Audio: m}}, a.GetContextInfo(), true
}
