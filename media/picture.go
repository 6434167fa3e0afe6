package media

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// SquareJPEG is a picture (JPEG, PNG, GIF or WebP) made into what WhatsApp takes as a profile or group picture:
// a JPEG, cropped to its centre square and scaled down to at most side pixels. WhatsApp refuses other shapes
// and formats.
func SquareJPEG(data []byte, side int) ([]byte, error) {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode picture: %w", err)
	}
	b := src.Bounds()
	n := min(b.Dx(), b.Dy())
	if n == 0 {
		return nil, fmt.Errorf("decode picture: it is %dx%d", b.Dx(), b.Dy())
	}
	crop := image.Rect(0, 0, n, n).Add(b.Min).Add(image.Pt((b.Dx()-n)/2, (b.Dy()-n)/2))
	out := min(n, side)
	dst := image.NewRGBA(image.Rect(0, 0, out, out))
	// JPEG has no transparency: transparent parts show white, as WhatsApp shows them.
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	draw.BiLinear.Scale(dst, dst.Bounds(), src, crop, draw.Over, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("encode picture: %w", err)
	}
	return buf.Bytes(), nil
}
