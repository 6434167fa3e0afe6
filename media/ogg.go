package media

import (
	"bytes"
	"encoding/binary"
	"time"
)

// opusInfo is what an Ogg/Opus file says about itself.
type opusInfo struct {
	duration time.Duration
}

// readOggOpus reads an Ogg file whose first stream is Opus (what WhatsApp records voice notes in). Its length
// is in the last page's granule position: the number of 48 kHz samples decoded up to the end of that page,
// counting the pre-skip the header declares (samples the decoder drops at the start).
func readOggOpus(data []byte) (opusInfo, bool) {
	var info opusInfo
	page, rest, ok := oggPage(data)
	// The first page holds the identification header alone: "OpusHead", version, channels, pre-skip (LE).
	if !ok || len(page.payload) < 19 || !bytes.HasPrefix(page.payload, []byte("OpusHead")) {
		return info, false
	}
	serial := page.serial
	preSkip := int64(binary.LittleEndian.Uint16(page.payload[10:]))
	last := int64(-1)
	for len(rest) > 0 {
		if page, rest, ok = oggPage(rest); !ok {
			break // a truncated end: the length up to the last whole page is what can be told
		}
		if page.serial == serial && page.granule >= 0 {
			last = page.granule
		}
	}
	if last > preSkip {
		info.duration = time.Duration((last - preSkip) * int64(time.Second) / 48000)
	}
	return info, true
}

type oggPageData struct {
	granule int64 // -1 when no packet ends on the page
	serial  uint32
	payload []byte
}

// oggPage reads the page at the start of b and returns it with what follows it.
func oggPage(b []byte) (oggPageData, []byte, bool) {
	const header = 27
	if len(b) < header || string(b[:4]) != "OggS" || b[4] != 0 {
		return oggPageData{}, nil, false
	}
	segments := int(b[26])
	if len(b) < header+segments {
		return oggPageData{}, nil, false
	}
	size := 0
	for _, s := range b[header : header+segments] {
		size += int(s)
	}
	end := header + segments + size
	if len(b) < end {
		return oggPageData{}, nil, false
	}
	return oggPageData{
		granule: int64(binary.LittleEndian.Uint64(b[6:])),
		serial:  binary.LittleEndian.Uint32(b[14:]),
		payload: b[header+segments : end],
	}, b[end:], true
}
