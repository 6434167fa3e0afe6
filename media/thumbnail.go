package media

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// Thumbnail is a small JPEG of a picture (JPEG, PNG, GIF or WebP), at most side pixels wide and high, as
// WhatsApp shows before the picture itself is downloaded; and the picture's own size.
func Thumbnail(data []byte, side int) (thumb []byte, width, height int, err error) {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decode picture: %w", err)
	}
	b := src.Bounds()
	width, height = b.Dx(), b.Dy()
	if width == 0 || height == 0 {
		return nil, 0, 0, fmt.Errorf("decode picture: it is %dx%d", width, height)
	}
	w, h := Fit(width, height, side)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// JPEG has no transparency: transparent parts of a PNG or WebP show white, as WhatsApp shows them.
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 70}); err != nil {
		return nil, 0, 0, fmt.Errorf("encode thumbnail: %w", err)
	}
	return out.Bytes(), width, height, nil
}

// Fit is the size of a width×height picture scaled down, keeping its proportions, to at most side pixels wide
// and high; a picture that fits already keeps its size.
func Fit(width, height, side int) (int, int) {
	switch {
	case width <= side && height <= side:
		return width, height
	case width >= height:
		return side, max(1, height*side/width)
	default:
		return max(1, width*side/height), side
	}
}
