package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for uploads
	_ "image/jpeg"
	"image/png"
	"net/http"

	"github.com/crewkit/crew/httpx"
	"golang.org/x/image/draw"
)

// errBadImage marks an upload that is not a decodable image.
var errBadImage = errors.New("malformed image")

// thumbnail serves POST /api/thumbnail?width=W with a PNG, W pixels wide
// (default 128), of the uploaded PNG, JPEG or GIF image. The upload is read
// and its header checked on the request goroutine; only decoding, scaling
// and encoding run on the pool, through httpx.Compute, and only once the
// header shows that they fit the budgets of Config.
func (a *App) thumbnail(w http.ResponseWriter, r *http.Request) {
	width, err := intParam(r, "width", 128, 1, 1024)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	data, ok := a.readBody(w, r, a.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	size, code, err := a.checkImage(data, width)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	out, ok := a.work(w, r, Job{Kind: jobThumbnail, Image: data, Size: size})
	switch {
	case !ok:
	case out.Invalid != "":
		writeError(w, http.StatusBadRequest, out.Invalid)
	default:
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(out.PNG)
	}
}

// checkImage reads only the image header and returns the size of its
// thumbnail width pixels wide, so that a small upload that claims a huge
// canvas, or a thumbnail that would be huge, is refused before anything is
// decoded. It returns 400 for an unreadable header and 413 for an image
// over a budget.
func (a *App) checkImage(data []byte, width int) (image.Point, int, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return image.Point{}, http.StatusBadRequest, fmt.Errorf("%w: %v", errBadImage, err)
	}
	sw, sh := int64(cfg.Width), int64(cfg.Height)
	if sw <= 0 || sh <= 0 || sw*sh > int64(a.cfg.MaxPixels) {
		return image.Point{}, http.StatusRequestEntityTooLarge, fmt.Errorf("image is %dx%d pixels; at most %d pixels are allowed",
			sw, sh, a.cfg.MaxPixels)
	}
	dw, dh := int64(width), max(1, sh*int64(width)/sw)
	if dw*dh > int64(a.cfg.MaxOutputPixels) {
		return image.Point{}, http.StatusRequestEntityTooLarge, fmt.Errorf("a thumbnail %d pixels wide would be %dx%d pixels; at most %d pixels are allowed",
			dw, dw, dh, a.cfg.MaxOutputPixels)
	}
	if cost := thumbnailCost(data, cfg, format, int(dw), int(dh)); cost > a.cfg.MaxImageMemory {
		return image.Point{}, http.StatusRequestEntityTooLarge, fmt.Errorf("a %dx%d %s thumbnail of this %dx%d image needs about %d MiB; at most %d MiB are allowed",
			dw, dh, format, sw, sh, cost>>20, a.cfg.MaxImageMemory>>20)
	}
	return image.Pt(int(dw), int(dh)), 0, nil
}

// scale decodes data and returns it as a PNG of the given size, which
// checkImage computed from the same data.
func scale(data []byte, size image.Point) ([]byte, error) {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadImage, err)
	}
	dst := image.NewRGBA(image.Rectangle{Max: size})
	draw.CatmullRom.Scale(dst, dst.Bounds(), scalable(src), src.Bounds(), draw.Src, nil)
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// scalable hides the type of a YCbCr image whose subsampling the scaler has
// no fast path for, so that it reads the image through RGBA64At, which
// allocates nothing, instead of At, which allocates per pixel.
func scalable(src image.Image) image.Image {
	if y, ok := src.(*image.YCbCr); ok {
		switch y.SubsampleRatio {
		case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
			image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440:
		default:
			return struct{ image.RGBA64Image }{y}
		}
	}
	return src
}

// compute runs fn on the pool in pool mode, and in place otherwise.
func compute[T any](ctx context.Context, a *App, fn func(context.Context) (T, error)) (T, error) {
	if a.pool == nil {
		return fn(ctx)
	}
	return httpx.Compute(ctx, a.pool, fn)
}

// writeComputeError answers a failure of compute other than a bad image.
func (a *App) writeComputeError(w http.ResponseWriter, r *http.Request, err error) {
	if a.off != nil {
		a.off.WriteError(w, r, err)
		return
	}
	if r.Context().Err() == nil {
		a.handlerFailed(r, err)
		writeError(w, http.StatusInternalServerError, "internal server error")
	}
}
