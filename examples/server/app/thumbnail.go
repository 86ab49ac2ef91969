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
	"io"
	"net/http"

	"github.com/crewkit/crew/httpx"
	"golang.org/x/image/draw"
)

// errBadImage marks an upload that is not a decodable image.
var errBadImage = errors.New("malformed image")

// thumbnail serves POST /api/thumbnail?width=W with a PNG, W pixels wide
// (default 128), of the uploaded PNG, JPEG or GIF image. The upload is read
// on the request goroutine; only decoding, scaling and encoding run on the
// pool, through httpx.Compute.
func (a *App) thumbnail(w http.ResponseWriter, r *http.Request) {
	width, err := intParam(r, "width", 128, 1, 1024)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("image must be at most %d bytes", a.cfg.MaxBodyBytes))
		}
		return // otherwise the client went away mid-upload
	}
	if code, err := a.checkImage(data); err != nil {
		writeError(w, code, err.Error())
		return
	}
	out, err := compute(r.Context(), a, func(ctx context.Context) ([]byte, error) { return scale(data, width) })
	switch {
	case errors.Is(err, errBadImage):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		a.writeComputeError(w, r, err)
	default:
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(out)
	}
}

// checkImage reads only the image header, so that a small upload cannot
// claim a huge canvas and exhaust memory when decoded.
func (a *App) checkImage(data []byte) (int, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return http.StatusBadRequest, fmt.Errorf("%w: %v", errBadImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > a.cfg.MaxPixels {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("image is %dx%d pixels; at most %d pixels are allowed",
			cfg.Width, cfg.Height, a.cfg.MaxPixels)
	}
	return 0, nil
}

// scale decodes data and returns a PNG width pixels wide, preserving the
// aspect ratio.
func scale(data []byte, width int) ([]byte, error) {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadImage, err)
	}
	b := src.Bounds()
	height := max(1, b.Dy()*width/b.Dx())
	dst := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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
