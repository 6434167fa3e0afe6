// Package mediatest makes small files of every kind the server sends, for tests: pictures, an Ogg/Opus
// recording, MP4 videos and recordings, an MP3, a PDF. The containers are well formed (Ogg pages carry their
// checksums, MP4 boxes their sizes), so that what reads them reads real structure; the recordings' and videos'
// payloads are silence or filler, since nothing in the tests plays them.
package mediatest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"time"
)

// picture is a w×h gradient, different for every seed.
func picture(w, h, seed int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*255/w + seed), uint8(y*255/h + seed*7), uint8(seed * 13), 255})
		}
	}
	return img
}

// JPEG is a w×h JPEG picture; seed makes it differ from others of the same size.
func JPEG(w, h, seed int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h, seed), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNG is a w×h PNG picture.
func PNG(w, h, seed int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h, seed)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// WebP is a 1×1 lossless WebP picture (Go has no WebP encoder; these are the bytes browsers are probed with).
func WebP() []byte {
	b, err := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	if err != nil {
		panic(err)
	}
	return b
}

// PDF is a one-page PDF document.
func PDF(text string) []byte {
	return []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
		"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n% " + text + "\ntrailer<</Root 1 0 R>>\n%%EOF\n")
}

// oggCRC is Ogg's checksum: CRC-32 with polynomial 0x04c11db7, not reflected, starting from 0.
var oggCRC = func() *[256]uint32 {
	var t [256]uint32
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return &t
}()

func oggChecksum(page []byte) uint32 {
	var crc uint32
	for _, b := range page {
		crc = crc<<8 ^ oggCRC[byte(crc>>24)^b]
	}
	return crc
}

// oggPage is one Ogg page holding one whole packet (shorter than 255 bytes).
func oggPage(headerType byte, granule int64, seq uint32, packets ...[]byte) []byte {
	p := []byte("OggS")
	p = append(p, 0, headerType)
	p = binary.LittleEndian.AppendUint64(p, uint64(granule))
	p = binary.LittleEndian.AppendUint32(p, 0x504c5547) // stream serial number
	p = binary.LittleEndian.AppendUint32(p, seq)
	p = append(p, 0, 0, 0, 0) // checksum (below)
	var lacing []byte
	for _, packet := range packets {
		lacing = append(lacing, bytes.Repeat([]byte{255}, len(packet)/255)...)
		lacing = append(lacing, byte(len(packet)%255))
	}
	p = append(append(p, byte(len(lacing))), lacing...)
	p = append(p, bytes.Join(packets, nil)...)
	binary.LittleEndian.PutUint32(p[22:], oggChecksum(p))
	return p
}

// OggOpus is an Ogg/Opus recording of d of silence (20 ms frames), with a pre-skip of 312 samples as encoders
// write.
func OggOpus(d time.Duration) []byte {
	frames := make([][]byte, int(d/(20*time.Millisecond)))
	for i := range frames {
		frames[i] = []byte{0xF8} // one 20 ms CELT frame of zero length: silence
	}
	return oggOpus(frames, 1)
}

// OggOpusVoice is an Ogg/Opus recording of d in 20 ms frames whose sizes go as speech makes an encoder's go:
// sound for a second (frames of 20 to 120 bytes, rising and falling), silence for a second (1-byte frames), and
// so on; 10 frames to a page, as encoders write them. (The frames hold no real sound: nothing here decodes it.)
func OggOpusVoice(d time.Duration) []byte {
	frames := make([][]byte, int(d/(20*time.Millisecond)))
	for i := range frames {
		frames[i] = []byte{0xF8}
		if second, at := i/50, i%50; second%2 == 0 {
			rise := min(at, 50-at) // 0 … 25 … 0 over the second
			frames[i] = append(frames[i], bytes.Repeat([]byte{byte(i)}, 19+rise*4)...)
		}
	}
	return oggOpus(frames, 10)
}

// oggOpus writes Opus frames of 20 ms into an Ogg stream after its two headers, perPage frames to a page.
func oggOpus(frames [][]byte, perPage int) []byte {
	const preSkip = 312
	head := []byte("OpusHead")
	head = append(head, 1, 1) // version, one channel
	head = binary.LittleEndian.AppendUint16(head, preSkip)
	head = binary.LittleEndian.AppendUint32(head, 48000)
	head = append(head, 0, 0, 0) // gain, mapping family
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, 9)
	tags = append(tags, "mediatest"...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	out := append(oggPage(2, 0, 0, head), oggPage(0, 0, 1, tags)...)
	for seq, from := uint32(2), 0; from < len(frames); seq, from = seq+1, from+perPage {
		to := min(from+perPage, len(frames))
		var flags byte
		if to == len(frames) {
			flags = 4 // end of stream
		}
		// The granule counts the 48 kHz samples up to the page's last frame, pre-skip included.
		out = append(out, oggPage(flags, int64(preSkip+to*960), seq, frames[from:to]...)...)
	}
	return out
}

func box(typ string, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// track is an MP4 track of the handler's kind ("vide" or "soun") and, for video, size.
func track(handler string, w, h int) []byte {
	tkhd := make([]byte, 84) // version 0: flags, times, track ID, duration, layers, volume, matrix, then size
	binary.BigEndian.PutUint32(tkhd[76:], uint32(w)<<16)
	binary.BigEndian.PutUint32(tkhd[80:], uint32(h)<<16)
	hdlr := append(append(make([]byte, 8), handler...), make([]byte, 13)...) // version, pre_defined, type, reserved, name ""
	return box("trak", box("tkhd", tkhd), box("mdia", box("hdlr", hdlr)))
}

// MP4 is an MP4 video of length d and size w×h, with a sound track too when sound is set; seed makes its
// bytes differ from others'.
func MP4(d time.Duration, w, h int, sound bool, seed int) []byte {
	tracks := [][]byte{track("vide", w, h)}
	if sound {
		tracks = append(tracks, track("soun", 0, 0))
	}
	return mp4("isom", d, tracks, seed)
}

// M4A is an MP4 recording (sound only) of length d.
func M4A(d time.Duration) []byte {
	return mp4("M4A ", d, [][]byte{track("soun", 0, 0)}, 0)
}

func mp4(brand string, d time.Duration, tracks [][]byte, seed int) []byte {
	mvhd := make([]byte, 100) // version 0
	binary.BigEndian.PutUint32(mvhd[12:], 1000)
	binary.BigEndian.PutUint32(mvhd[16:], uint32(d/time.Millisecond))
	ftyp := box("ftyp", []byte(brand), u32(0x200), []byte("isomiso2mp41"))
	moov := box("moov", append([][]byte{box("mvhd", mvhd)}, tracks...)...)
	return bytes.Join([][]byte{ftyp, moov, box("mdat", []byte(fmt.Sprintf("frames of video %d", seed)))}, nil)
}

// MP3 is MPEG-1 Layer III audio (128 kbit/s, 44.1 kHz) of silence, as long as d in whole frames of 1152
// samples (d rounded down), after an ID3 tag when tagged.
func MP3(d time.Duration, tagged bool) []byte {
	var out []byte
	if tagged {
		out = []byte("ID3\x04\x00\x00\x00\x00\x00\x00")
	}
	frame := make([]byte, 417) // 144 * 128000 / 44100, without padding
	copy(frame, []byte{0xFF, 0xFB, 0x90, 0x64})
	for range MP3Frames(d) {
		out = append(out, frame...)
	}
	return out
}

// MP3Frames is how many frames MP3(d) holds.
func MP3Frames(d time.Duration) int { return int(d * 44100 / 1152 / time.Second) }
