package media

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"
)

// opusInfo is what an Ogg/Opus file says about itself.
type opusInfo struct {
	duration time.Duration
	// packets are the sizes of the audio packets, in order (a packet is 2.5 to 120 ms of sound).
	packets []int
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
	// Packets are cut into segments of 255 bytes and less; a shorter one ends its packet, which may go on
	// over the next page. The first packet after the identification header is the comment header.
	size, seenTags := 0, false
	for len(rest) > 0 {
		if page, rest, ok = oggPage(rest); !ok {
			break // a truncated end: the length up to the last whole page is what can be told
		}
		if page.serial != serial {
			continue
		}
		if page.granule >= 0 {
			last = page.granule
		}
		for _, segment := range page.lacing {
			if size += int(segment); segment == 255 {
				continue
			}
			if seenTags {
				info.packets = append(info.packets, size)
			}
			size, seenTags = 0, true
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
	lacing  []byte // the sizes of the page's segments
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
		lacing:  b[header : header+segments],
		payload: b[header+segments : end],
	}, b[end:], true
}

// waveformBars is how many bars a WhatsApp voice note shows.
const waveformBars = 64

// opusWaveform draws a voice note's bars from the sizes of its packets: 64 values from 0 to 100. Opus spends
// few bytes on silence and more on sound, so the bars follow the speech and its pauses, without decoding the
// sound (which would take an Opus decoder): a likeness of the loudness, not a measure of it. A recording whose
// packets are all alike (silence, or a constant bitrate) gets flat bars.
func opusWaveform(packets []int) []byte {
	if len(packets) == 0 {
		return nil
	}
	lo, hi := slices.Min(packets), slices.Max(packets)
	bars := make([]byte, waveformBars)
	if hi == lo {
		return bars
	}
	for i := range bars {
		// The bar's share of the packets; with fewer packets than bars, the packet under it.
		from := i * len(packets) / waveformBars
		to := max((i+1)*len(packets)/waveformBars, from+1)
		sum := 0
		for _, n := range packets[from:to] {
			sum += n - lo
		}
		bars[i] = byte(sum * 100 / ((to - from) * (hi - lo)))
	}
	return bars
}
