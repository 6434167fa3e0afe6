package wasim

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow/binary/token"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/util/gcmutil"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// connHeader is what a WhatsApp web client puts in front of its first frame:
// "WA", the magic protocol value and the binary token dictionary version.
var connHeader = []byte{'W', 'A', socket.WAMagicValue, token.DictVersion}

const (
	frameLengthSize = socket.FrameLengthSize
	frameMaxSize    = socket.FrameMaxSize
)

// frameDecoder splits a byte stream into WhatsApp frames (3-byte big-endian length,
// then payload). Clients send one frame per websocket message, but the protocol does
// not promise that, so frames split across or batched into messages are handled.
type frameDecoder struct {
	needHeader bool
	buf        []byte
}

func newFrameDecoder() *frameDecoder {
	return &frameDecoder{needHeader: true}
}

var errBadHeader = errors.New("connection does not start with the WhatsApp web header")

// feed appends data and returns every frame that is now complete.
func (d *frameDecoder) feed(data []byte) ([][]byte, error) {
	d.buf = append(d.buf, data...)
	if d.needHeader {
		if len(d.buf) < len(connHeader) {
			if !bytes.HasPrefix(connHeader, d.buf) {
				return nil, errBadHeader
			}
			return nil, nil
		}
		if !bytes.Equal(d.buf[:len(connHeader)], connHeader) {
			return nil, fmt.Errorf("%w: got % x", errBadHeader, d.buf[:len(connHeader)])
		}
		d.buf = d.buf[len(connHeader):]
		d.needHeader = false
	}
	var frames [][]byte
	for len(d.buf) >= frameLengthSize {
		n := int(d.buf[0])<<16 | int(d.buf[1])<<8 | int(d.buf[2])
		if len(d.buf) < frameLengthSize+n {
			break
		}
		frame := make([]byte, n)
		copy(frame, d.buf[frameLengthSize:frameLengthSize+n])
		frames = append(frames, frame)
		d.buf = d.buf[frameLengthSize+n:]
	}
	if len(d.buf) == 0 {
		d.buf = nil // let the consumed backing array go
	}
	return frames, nil
}

// encodeFrame prefixes payload with its 3-byte length. Server frames carry no header.
func encodeFrame(payload []byte) ([]byte, error) {
	if len(payload) >= frameMaxSize {
		return nil, fmt.Errorf("frame of %d bytes exceeds the %d byte limit", len(payload), frameMaxSize)
	}
	out := make([]byte, frameLengthSize+len(payload))
	out[0] = byte(len(payload) >> 16)
	out[1] = byte(len(payload) >> 8)
	out[2] = byte(len(payload))
	copy(out[frameLengthSize:], payload)
	return out, nil
}

// noiseIV is the AES-GCM nonce for counter n: eight zero bytes, then n big-endian.
func noiseIV(n uint32) []byte {
	iv := make([]byte, 12)
	binary.BigEndian.PutUint32(iv[8:], n)
	return iv
}

// handshakeState is the responder's half of Noise_XX_25519_AESGCM_SHA256 as WhatsApp
// runs it (whatsmeow's socket.NoiseHandshake is the initiator's half). whatsmeow's type
// cannot be reused here because it keeps the chaining key private, and the final
// transport keys are derived from it.
type handshakeState struct {
	hash    []byte
	salt    []byte // the chaining key
	key     cipher.AEAD
	counter uint32
}

func newHandshakeState(header []byte) (*handshakeState, error) {
	h := []byte(socket.NoiseStartPattern)
	if len(h) != 32 {
		sum := sha256.Sum256(h)
		h = sum[:]
	}
	key, err := gcmutil.Prepare(h)
	if err != nil {
		return nil, fmt.Errorf("prepare initial handshake cipher: %w", err)
	}
	hs := &handshakeState{hash: h, salt: h, key: key}
	hs.authenticate(header)
	return hs, nil
}

func (hs *handshakeState) authenticate(data []byte) {
	sum := sha256.Sum256(append(append([]byte{}, hs.hash...), data...))
	hs.hash = sum[:]
}

func (hs *handshakeState) next() uint32 {
	n := hs.counter
	hs.counter++
	return n
}

func (hs *handshakeState) encrypt(plaintext []byte) []byte {
	ct := hs.key.Seal(nil, noiseIV(hs.next()), plaintext, hs.hash)
	hs.authenticate(ct)
	return ct
}

func (hs *handshakeState) decrypt(ciphertext []byte) ([]byte, error) {
	pt, err := hs.key.Open(nil, noiseIV(hs.next()), ciphertext, hs.hash)
	if err != nil {
		return nil, err
	}
	hs.authenticate(ciphertext)
	return pt, nil
}

func (hs *handshakeState) mixSharedSecret(priv *[32]byte, pub []byte) error {
	secret, err := x25519(priv[:], pub)
	if err != nil {
		return err
	}
	return hs.mixKey(secret)
}

func (hs *handshakeState) mixKey(data []byte) error {
	salt, key, err := expandPair(hs.salt, data)
	if err != nil {
		return err
	}
	hs.salt = salt
	hs.counter = 0
	hs.key, err = gcmutil.Prepare(key)
	if err != nil {
		return fmt.Errorf("prepare handshake cipher: %w", err)
	}
	return nil
}

// split derives the transport ciphers. The initiator writes with the first key, so
// the responder reads with it and writes with the second.
func (hs *handshakeState) split() (read, write cipher.AEAD, err error) {
	k1, k2, err := expandPair(hs.salt, nil)
	if err != nil {
		return nil, nil, err
	}
	if read, err = gcmutil.Prepare(k1); err != nil {
		return nil, nil, fmt.Errorf("prepare read cipher: %w", err)
	}
	if write, err = gcmutil.Prepare(k2); err != nil {
		return nil, nil, fmt.Errorf("prepare write cipher: %w", err)
	}
	return read, write, nil
}

func expandPair(salt, ikm []byte) (a, b []byte, err error) {
	out, err := hkdf.Key(sha256.New, ikm, salt, "", 64)
	if err != nil {
		return nil, nil, fmt.Errorf("hkdf: %w", err)
	}
	return out[:32], out[32:], nil
}

// x25519 computes a Curve25519 shared secret; it rejects low-order public keys.
func x25519(priv, pub []byte) ([]byte, error) {
	sk, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("x25519 private key: %w", err)
	}
	pk, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("x25519 public key: %w", err)
	}
	secret, err := sk.ECDH(pk)
	if err != nil {
		return nil, fmt.Errorf("x25519: %w", err)
	}
	return secret, nil
}

// frameIO is what the handshake needs from a connection before encryption starts.
type frameIO interface {
	readFrame(ctx context.Context) ([]byte, error)
	writeFrame(ctx context.Context, frame []byte) error
}

// handshakeResult is what a completed handshake yields.
type handshakeResult struct {
	clientStatic [32]byte // the client's long-term Noise key (whatsmeow's Store.NoiseKey)
	payload      *waWa6.ClientPayload
	read, write  cipher.AEAD
}

// respondHandshake runs the server side of the handshake on fio: it reads the client
// hello, answers with the server hello (ephemeral key, encrypted static key and
// certificate chain), reads the client finish and derives the transport keys.
func respondHandshake(ctx context.Context, fio frameIO, static *keys.KeyPair, chain []byte) (*handshakeResult, error) {
	hs, err := newHandshakeState(connHeader)
	if err != nil {
		return nil, err
	}
	raw, err := fio.readFrame(ctx)
	if err != nil {
		return nil, fmt.Errorf("read client hello: %w", err)
	}
	var hello waWa6.HandshakeMessage
	if err := proto.Unmarshal(raw, &hello); err != nil {
		return nil, fmt.Errorf("unmarshal client hello: %w", err)
	}
	clientEphemeral := hello.GetClientHello().GetEphemeral()
	if len(clientEphemeral) != 32 {
		return nil, fmt.Errorf("client hello ephemeral key has %d bytes, want 32", len(clientEphemeral))
	}
	hs.authenticate(clientEphemeral)

	ephemeral := keys.NewKeyPair()
	hs.authenticate(ephemeral.Pub[:])
	if err := hs.mixSharedSecret(ephemeral.Priv, clientEphemeral); err != nil {
		return nil, fmt.Errorf("mix ephemeral secret: %w", err)
	}
	encStatic := hs.encrypt(static.Pub[:])
	if err := hs.mixSharedSecret(static.Priv, clientEphemeral); err != nil {
		return nil, fmt.Errorf("mix static secret: %w", err)
	}
	encCert := hs.encrypt(chain)
	serverHello, err := proto.Marshal(&waWa6.HandshakeMessage{
		ServerHello: &waWa6.HandshakeMessage_ServerHello{
			Ephemeral: ephemeral.Pub[:],
			Static:    encStatic,
			Payload:   encCert,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("marshal server hello: %w", err)
	}
	if err := fio.writeFrame(ctx, serverHello); err != nil {
		return nil, fmt.Errorf("write server hello: %w", err)
	}

	raw, err = fio.readFrame(ctx)
	if err != nil {
		return nil, fmt.Errorf("read client finish: %w", err)
	}
	var finish waWa6.HandshakeMessage
	if err := proto.Unmarshal(raw, &finish); err != nil {
		return nil, fmt.Errorf("unmarshal client finish: %w", err)
	}
	encClientStatic := finish.GetClientFinish().GetStatic()
	encPayload := finish.GetClientFinish().GetPayload()
	if encClientStatic == nil || encPayload == nil {
		return nil, errors.New("client finish is missing its static key or payload")
	}
	clientStatic, err := hs.decrypt(encClientStatic)
	if err != nil {
		return nil, fmt.Errorf("decrypt client static key: %w", err)
	}
	if len(clientStatic) != 32 {
		return nil, fmt.Errorf("client static key has %d bytes, want 32", len(clientStatic))
	}
	if err := hs.mixSharedSecret(ephemeral.Priv, clientStatic); err != nil {
		return nil, fmt.Errorf("mix client static secret: %w", err)
	}
	payloadBytes, err := hs.decrypt(encPayload)
	if err != nil {
		return nil, fmt.Errorf("decrypt client payload: %w", err)
	}
	var payload waWa6.ClientPayload
	if err := proto.Unmarshal(payloadBytes, &payload); err != nil {
		return nil, fmt.Errorf("unmarshal client payload: %w", err)
	}
	read, write, err := hs.split()
	if err != nil {
		return nil, fmt.Errorf("derive transport keys: %w", err)
	}
	res := &handshakeResult{payload: &payload, read: read, write: write}
	copy(res.clientStatic[:], clientStatic)
	return res, nil
}
