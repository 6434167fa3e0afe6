// Package media is what a file the server sends must be: the kinds WhatsApp has (image, audio, video, GIF,
// document, sticker), each kind's size limit, the two ways a client gives a file (a URL, or its bytes in base64),
// and what the bytes must hold for their kind (it sniffs them: a client's or a web server's declared type is not
// trusted). It also reads what WhatsApp's messages carry about a file: an Ogg/Opus recording's or an MP4's
// length, a picture's size and thumbnail.
//
// It is a leaf: it imports nothing of the module, so the HTTP API (checking a file at intake) and the WhatsApp
// adapter (checking a fetched file, describing it) apply the same rules. It does no I/O.
package media
