package app

import (
	"image"
	"image/color"
)

// fixedImageCost covers what a thumbnail allocates whatever its size: the
// decoders' tables and buffers, the PNG encoder's compressor, the response.
const fixedImageCost = 4 << 20

// thumbnailCost returns an upper bound on the bytes that decoding the image
// data, whose header gave cfg and format, scaling it to dw x dh pixels and
// encoding the result as PNG allocate. It reads only the image's header.
func thumbnailCost(data []byte, cfg image.Config, format string, dw, dh int) int64 {
	sw, sh, w, h := int64(cfg.Width), int64(cfg.Height), int64(dw), int64(dh)
	scaleTmp := 32 * w * sh                          // the kernel's [4]float64 per destination column and source row
	weights := 80 * (sw + sh + w + h)                // the kernel's contributions, per axis
	dst := 4 * w * h                                 // the RGBA thumbnail
	encoded := 2*h*(4*w+1) + 8*(4*w+1)               // the PNG buffer as it doubles, and the filter rows
	decoded := decodeCost(data, cfg, format) * 5 / 4 // a quarter to spare
	return decoded + scaleTmp + weights + dst + encoded + fixedImageCost
}

// decodeCost returns an upper bound on the bytes image.Decode allocates for
// data.
func decodeCost(data []byte, cfg image.Config, format string) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	switch format {
	case "png":
		return pngCost(data, w, h)
	case "jpeg":
		return jpegCost(data, cfg.ColorModel, w, h)
	case "gif":
		return 2 * w * h // the frame, and a second buffer to de-interlace it
	default:
		return 16 * w * h
	}
}

// pngCost bounds the decoding of a PNG: the image at 4 bytes per pixel, 8
// with 16-bit samples, twice over when interlaced (one image per pass, then
// the whole), plus two rows of raw samples per pass.
func pngCost(data []byte, w, h int64) int64 {
	const depthAt, interlaceAt = 24, 28 // in the IHDR chunk, which DecodeConfig has read
	bpp, passes := int64(4), int64(1)
	if len(data) <= interlaceAt || data[depthAt] == 16 {
		bpp = 8
	}
	if len(data) <= interlaceAt || data[interlaceAt] != 0 {
		passes = 2
	}
	return passes*bpp*w*h + 16*(8*w+1)
}

// jpegCost bounds the decoding of a JPEG: one byte per sample of each
// component padded to whole MCUs, 256 bytes per 8x8 block more when
// progressive (the coefficients are kept for every scan), and 4 bytes per
// pixel more when the result is converted to RGBA or CMYK. A frame header
// it cannot read is taken as the worst case: progressive, no subsampling.
func jpegCost(data []byte, model color.Model, w, h int64) int64 {
	progressive, comps := jpegFrame(data)
	if comps == nil {
		progressive, comps = true, [][2]int64{{1, 1}, {1, 1}, {1, 1}, {1, 1}}
	}
	if len(comps) == 1 {
		comps[0] = [2]int64{1, 1} // the decoder ignores a lone component's sampling
	}
	var hmax, vmax int64 = 1, 1
	for _, c := range comps {
		hmax, vmax = max(hmax, c[0]), max(vmax, c[1])
	}
	mcus := ceilDiv(w, 8*hmax) * ceilDiv(h, 8*vmax)
	var blocks int64
	for _, c := range comps {
		blocks += mcus * c[0] * c[1]
	}
	cost := 64 * blocks
	if progressive {
		cost += 256 * blocks
	}
	if model == color.RGBAModel || model == color.CMYKModel {
		cost += 4 * mcus * 64 * hmax * vmax
	}
	return cost
}

// jpegFrame reads the frame header (SOF0, SOF1 or SOF2) of a JPEG: whether
// it is progressive, and each component's horizontal and vertical sampling
// factors. comps is nil if no frame header was found.
func jpegFrame(data []byte) (progressive bool, comps [][2]int64) {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff || data[i+1] == 0xff {
			i++ // junk or fill bytes, which the decoder skips too
			continue
		}
		marker := data[i+1]
		if marker == 0x00 || marker == 0x01 || marker >= 0xd0 && marker <= 0xd8 {
			i += 2 // stuffed bytes and markers without a segment
			continue
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if marker >= 0xc0 && marker <= 0xc2 {
			return marker == 0xc2, frameComponents(data[i+4 : min(len(data), i+2+n)])
		}
		i += 2 + n
	}
	return false, nil
}

// frameComponents parses the sampling factors of a frame header's segment:
// precision (1 byte), height and width (2 each), the number of components,
// then 3 bytes per component, the second holding H and V.
func frameComponents(seg []byte) [][2]int64 {
	if len(seg) < 6 {
		return nil
	}
	n := int(seg[5])
	if n == 0 || len(seg) < 6+3*n {
		return nil
	}
	comps := make([][2]int64, n)
	for i := range comps {
		hv := seg[6+3*i+1]
		comps[i] = [2]int64{max(1, int64(hv>>4)), max(1, int64(hv&0x0f))}
	}
	return comps
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
