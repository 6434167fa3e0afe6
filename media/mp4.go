package media

import (
	"encoding/binary"
	"time"
)

// mp4Info is what an MP4 file (ISO base media format: .mp4, .m4a, .3gp) says about itself.
type mp4Info struct {
	duration     time.Duration
	video, audio bool
	// width and height are the first video track's.
	width, height uint32
}

// audioBrands are the major brands of MP4 files that hold sound only.
var audioBrands = map[string]bool{"M4A ": true, "M4B ": true, "M4P ": true, "F4A ": true}

// readMP4 reads an MP4 file's boxes: it must start with its ftyp box and hold a moov box with at least one
// track. The whole file is in data, so a moov box at the end (a file not made for streaming) is found too.
func readMP4(data []byte) (mp4Info, bool) {
	var info mp4Info
	if len(data) < 12 || string(data[4:8]) != "ftyp" {
		return info, false
	}
	audioOnly := audioBrands[string(data[8:12])]
	found := false
	eachBox(data, func(typ string, body []byte) {
		if typ != "moov" {
			return
		}
		found = true
		eachBox(body, func(typ string, body []byte) {
			switch typ {
			case "mvhd":
				info.duration = mvhdDuration(body)
			case "trak":
				readTrack(body, &info)
			}
		})
	})
	if audioOnly {
		info.video = false
	}
	return info, found && (info.video || info.audio)
}

// readTrack notes a track's handler (vide, soun) and, for the first video track, its size.
func readTrack(trak []byte, info *mp4Info) {
	var handler string
	var width, height uint32
	eachBox(trak, func(typ string, body []byte) {
		switch typ {
		case "tkhd":
			// A track header ends with its width and height, 16.16 fixed point.
			if len(body) >= 8 {
				width = binary.BigEndian.Uint32(body[len(body)-8:]) >> 16
				height = binary.BigEndian.Uint32(body[len(body)-4:]) >> 16
			}
		case "mdia":
			eachBox(body, func(typ string, body []byte) {
				if typ == "hdlr" && len(body) >= 12 {
					handler = string(body[8:12]) // after version, flags and pre_defined
				}
			})
		}
	})
	switch handler {
	case "vide":
		if !info.video {
			info.width, info.height = width, height
		}
		info.video = true
	case "soun":
		info.audio = true
	}
}

// mvhdDuration is a movie header's duration.
func mvhdDuration(b []byte) time.Duration {
	var scale, length uint64
	switch {
	case len(b) >= 20 && b[0] == 0: // version, flags, creation and modification times of 32 bits
		scale, length = uint64(binary.BigEndian.Uint32(b[12:])), uint64(binary.BigEndian.Uint32(b[16:]))
	case len(b) >= 32 && b[0] == 1: // the same with times of 64 bits
		scale, length = uint64(binary.BigEndian.Uint32(b[20:])), binary.BigEndian.Uint64(b[24:])
	}
	if scale == 0 || length == 0 || length == 1<<32-1 || length == 1<<64-1 { // all ones: unknown
		return 0
	}
	return time.Duration(float64(length) / float64(scale) * float64(time.Second))
}

// eachBox calls fn with the type and body of each box in b, stopping at the first malformed one.
func eachBox(b []byte, fn func(typ string, body []byte)) {
	for len(b) >= 8 {
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		header := uint64(8)
		switch size {
		case 0: // the box runs to the end
			size = uint64(len(b))
		case 1: // a 64-bit size follows the type
			if len(b) < 16 {
				return
			}
			size, header = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < header || size > uint64(len(b)) {
			return
		}
		fn(typ, b[header:size])
		b = b[size:]
	}
}
