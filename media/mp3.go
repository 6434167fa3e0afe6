package media

import "time"

// MP3 files say nothing of their length up front: it is the sum of their frames', each frame's header telling
// its size. Only Layer III (MP3) is counted, up to the first thing that is not one of its frames (a tag at the
// end, a truncated frame); a file of another layer has no length (0).

// mp3Bitrates are Layer III's bit rates in kbit/s by index, for MPEG-1 and for MPEG-2 and 2.5 (index 0 is
// "free", which gives no frame size; 15 is invalid).
var mp3Bitrates = [2][16]int{
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
}

// mp3SampleRates are the sample rates by index, for MPEG-1; MPEG-2 has half of them, MPEG-2.5 a quarter.
var mp3SampleRates = [3]int{44100, 48000, 32000}

// mp3Duration is the length of an MP3 file: its frames counted after any ID3v2 tag.
func mp3Duration(data []byte) time.Duration {
	data = skipID3v2(data)
	var samples, rate int
	for len(data) >= 4 {
		size, frameSamples, frameRate, ok := mp3Frame(data)
		if !ok || size > len(data) || (rate != 0 && frameRate != rate) {
			break
		}
		samples, rate, data = samples+frameSamples, frameRate, data[size:]
	}
	if rate == 0 {
		return 0
	}
	return time.Duration(samples) * time.Second / time.Duration(rate)
}

// mp3Frame reads the header of the Layer III frame at the start of b: its size in bytes, its samples and its
// sample rate.
func mp3Frame(b []byte) (size, samples, rate int, ok bool) {
	if b[0] != 0xFF || b[1]&0xE0 != 0xE0 || b[1]>>1&3 != 1 { // sync, Layer III
		return 0, 0, 0, false
	}
	version := b[1] >> 3 & 3 // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
	bitrateIndex, rateIndex, padding := b[2]>>4, b[2]>>2&3, int(b[2]>>1&1)
	if version == 1 || rateIndex == 3 {
		return 0, 0, 0, false
	}
	mpeg1 := version == 3
	table := 1
	if mpeg1 {
		table = 0
	}
	bitrate := mp3Bitrates[table][bitrateIndex] * 1000
	if bitrate == 0 {
		return 0, 0, 0, false
	}
	rate = mp3SampleRates[rateIndex]
	switch version {
	case 2:
		rate /= 2
	case 0:
		rate /= 4
	}
	if mpeg1 {
		return 144*bitrate/rate + padding, 1152, rate, true
	}
	return 72*bitrate/rate + padding, 576, rate, true
}

// skipID3v2 returns what follows an ID3v2 tag at the start of data (data itself when there is none).
func skipID3v2(data []byte) []byte {
	if len(data) < 10 || string(data[:3]) != "ID3" {
		return data
	}
	// The size is "syncsafe": four bytes of seven bits; a footer adds ten bytes.
	size := 10 + (int(data[6])<<21 | int(data[7])<<14 | int(data[8])<<7 | int(data[9]))
	if data[5]&0x10 != 0 {
		size += 10
	}
	if size > len(data) {
		return nil
	}
	return data[size:]
}
