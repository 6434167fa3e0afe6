package wasim

import (
	"strconv"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waVnameCert"
	"google.golang.org/protobuf/proto"
)

// verifiedNameLocked is the verified_name element WhatsApp attaches to a business account's messages and to
// usync answers about it: a certificate of the business's name, from which clients learn it (whatsmeow keeps it
// as the contact's BusinessName). The simulated business's name is its account name; the certificate is
// unsigned, as clients do not check it. Personal accounts have none.
func (a *Account) verifiedNameLocked() (waBinary.Node, bool) {
	if !a.business || a.name == "" {
		return waBinary.Node{}, false
	}
	serial, _ := strconv.ParseUint(a.lid.User, 10, 64)
	details, err := proto.Marshal(&waVnameCert.VerifiedNameCertificate_Details{
		Serial: proto.Uint64(serial), Issuer: proto.String("smb:wa"), VerifiedName: proto.String(a.name),
	})
	if err != nil {
		return waBinary.Node{}, false
	}
	cert, err := proto.Marshal(&waVnameCert.VerifiedNameCertificate{Details: details})
	if err != nil {
		return waBinary.Node{}, false
	}
	return waBinary.Node{
		Tag:     "verified_name",
		Attrs:   waBinary.Attrs{"v": "1", "serial": strconv.FormatUint(serial, 10)},
		Content: cert,
	}, true
}
