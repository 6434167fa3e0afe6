package wasim

import (
	"crypto/sha256"
	"fmt"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// The certificate chain a WhatsApp server presents during the Noise handshake is
// root → intermediate → leaf, where the leaf certifies the server's static Noise key.
// wasim's root and intermediate are derived from fixed seeds so that every simulator,
// in every process, is trusted by the same root: a client configured once can talk to
// any simulator. These keys are public knowledge; that is the point of the warning in
// the package documentation.
var (
	rootKey         = seededKeyPair("wasim test root v1")
	intermediateKey = seededKeyPair("wasim test intermediate v1")
)

// intermediateSerial is the serial of the intermediate certificate; the leaf names it
// as its issuer. whatsmeow requires the intermediate's own issuer serial to be 0.
const intermediateSerial = 1

// seededKeyPair derives a Curve25519 key pair from a seed string.
func seededKeyPair(seed string) *keys.KeyPair {
	priv := sha256.Sum256([]byte(seed))
	priv[0] &= 248
	priv[31] &= 127
	priv[31] |= 64
	return keys.NewKeyPairFromPrivateKey(priv)
}

// certChain builds the marshaled waCert.CertChain that certifies static as a server
// key, signed by the seed-derived intermediate, which is signed by the root.
func certChain(static *keys.KeyPair, now time.Time) ([]byte, error) {
	notBefore := uint64(now.Add(-time.Hour).Unix())
	notAfter := uint64(now.Add(10 * 365 * 24 * time.Hour).Unix())
	intermediate, err := signedCert(rootKey, &waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(intermediateSerial),
		IssuerSerial: proto.Uint32(0),
		Key:          intermediateKey.Pub[:],
		NotBefore:    proto.Uint64(notBefore),
		NotAfter:     proto.Uint64(notAfter),
	})
	if err != nil {
		return nil, fmt.Errorf("intermediate certificate: %w", err)
	}
	leaf, err := signedCert(intermediateKey, &waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(intermediateSerial + 1),
		IssuerSerial: proto.Uint32(intermediateSerial),
		Key:          static.Pub[:],
		NotBefore:    proto.Uint64(notBefore),
		NotAfter:     proto.Uint64(notAfter),
	})
	if err != nil {
		return nil, fmt.Errorf("leaf certificate: %w", err)
	}
	chain, err := proto.Marshal(&waCert.CertChain{Leaf: leaf, Intermediate: intermediate})
	if err != nil {
		return nil, fmt.Errorf("marshal certificate chain: %w", err)
	}
	return chain, nil
}

func signedCert(issuer *keys.KeyPair, details *waCert.CertChain_NoiseCertificate_Details) (*waCert.CertChain_NoiseCertificate, error) {
	raw, err := proto.Marshal(details)
	if err != nil {
		return nil, fmt.Errorf("marshal certificate details: %w", err)
	}
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*issuer.Priv), raw)
	return &waCert.CertChain_NoiseCertificate{Details: raw, Signature: sig[:]}, nil
}
