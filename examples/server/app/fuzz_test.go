package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

// fuzzSlack covers what a request allocates besides its budgets: the
// request, the router, the JSON of the answer.
const fuzzSlack = 1 << 20

// fuzzApp returns the handler of an app for fuzzing, with small budgets so
// that each input is quick, closed when f ends.
func fuzzApp(f *testing.F, cfg app.Config) http.Handler {
	f.Helper()
	cfg.Workers, cfg.Logger = 1, quiet
	a, err := app.New(cfg)
	require.NoError(f, err)
	f.Cleanup(func() { require.NoError(f, a.Close(bg)) })
	return a.Handler()
}

// checkAnswer fails on a 500, the answer to a panic, and on any status but
// want, and requires error bodies to be JSON.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, want ...int) {
	t.Helper()
	require.Contains(t, want, w.Code, w.Body.String())
	if w.Code >= 400 {
		var m map[string]string
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), w.Body.String())
		require.NotEmpty(t, m["error"])
	}
}

// FuzzThumbnail serves /api/thumbnail with arbitrary uploads and widths
// through the real router. It fails on a panic, on a status other than 200,
// 400 or 413, and on a request that allocates more than its budgets:
// MaxImageMemory for the image work, plus the upload, plus fuzzSlack.
func FuzzThumbnail(f *testing.F) {
	const budget = 16 << 20
	h := fuzzApp(f, app.Config{MaxBodyBytes: 1 << 20, MaxImageMemory: budget})
	sample, err := os.ReadFile("../testdata/sample.png")
	require.NoError(f, err)
	for _, seed := range []struct {
		data  []byte
		width uint16
	}{
		{sample, 64},
		{sample, 1024},
		{hugePNG(f, 4, 10_000_000), 1024},
		{hugePNG(f, 4, 10_000_000), 1},
		{hugePNG(f, 1000, 1000), 128},
		{encodeImage(f, "png", image.NewRGBA64(image.Rect(0, 0, 300, 200))), 600},
		{encodeImage(f, "png", image.NewGray(image.Rect(0, 0, 64, 2000))), 100},
		{encodeImage(f, "png", image.NewPaletted(image.Rect(0, 0, 40, 40), color.Palette{color.Black, color.White})), 500},
		{encodeImage(f, "jpeg", image.NewRGBA(image.Rect(0, 0, 500, 300))), 700},
		{encodeImage(f, "jpeg", image.NewGray(image.Rect(0, 0, 100, 100))), 50},
		{encodeImage(f, "jpeg", image.NewCMYK(image.Rect(0, 0, 100, 100))), 50},
		{progressiveJPEG(f, 1200, 1000), 128}, // over the budget
		{progressiveJPEG(f, 800, 600), 64},
		{encodeImage(f, "gif", image.NewPaletted(image.Rect(0, 0, 300, 300), color.Palette{color.Black, color.White})), 500},
		{[]byte("not an image"), 128},
	} {
		f.Add(seed.data, seed.width)
	}
	f.Fuzz(func(t *testing.T, data []byte, width uint16) {
		req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/thumbnail?width=%d", width%1100), bytes.NewReader(data))
		w, n := allocated(h, req)
		checkAnswer(t, w, http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		limit := uint64(budget + len(data) + 3*w.Body.Len() + fuzzSlack)
		require.LessOrEqual(t, n, limit, "allocated %d bytes for a %d-byte upload (status %d)", n, len(data), w.Code)
		if w.Code == http.StatusOK {
			img, err := png.Decode(w.Body)
			require.NoError(t, err)
			require.Equal(t, int(width%1100), img.Bounds().Dx())
		}
	})
}

// FuzzCredentials serves /api/hash and /api/verify with arbitrary bodies
// through the real router. It fails on a panic, on a status other than 200,
// 400 or 413, and on a request that allocates more than three times the
// 64 KiB body limit plus fuzzSlack.
func FuzzCredentials(f *testing.F) {
	h := fuzzApp(f, app.Config{BcryptCost: 4})
	for _, body := range []string{
		`{"password":"hunter2"}`,
		`{"password":"hunter2","hash":"$2a$04$Sk5fUG9N5WCdRGyqiYzqEuhoZDCdrWiHl9iJqf0bChcmrXWXnQlZ."}`,
		`{"password":"x"} {"password":"y"}`,
		`{"password":"x"}}`,
		`{"pass":"x"}`,
		`null`,
		`[`,
	} {
		f.Add(false, []byte(body))
		f.Add(true, []byte(body))
	}
	f.Fuzz(func(t *testing.T, verify bool, body []byte) {
		path := "/api/hash"
		if verify {
			path = "/api/verify"
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		w, n := allocated(h, req)
		checkAnswer(t, w, http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		require.LessOrEqual(t, n, uint64(3*(64<<10)+fuzzSlack), "allocated %d bytes", n)
	})
}

// encodeImage encodes img as format, "png", "jpeg" or "gif".
func encodeImage(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, nil)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	require.NoError(t, err)
	return buf.Bytes()
}

// progressiveJPEG returns a JPEG whose frame header declares a progressive
// w x h image, with a first scan of DC coefficients but entropy data for a
// 16 x 16 image: the decoder allocates the coefficients of the whole image
// before it finds that the data is short.
func progressiveJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	data := encodeImage(t, "jpeg", image.NewRGBA(image.Rect(0, 0, 16, 16)))
	sof := bytes.Index(data, []byte{0xff, 0xc0})
	require.NotEqual(t, -1, sof)
	data[sof+1] = 0xc2
	data[sof+5], data[sof+6] = byte(h>>8), byte(h) // after the length and precision
	data[sof+7], data[sof+8] = byte(w>>8), byte(w)
	sos := bytes.Index(data, []byte{0xff, 0xda})
	require.NotEqual(t, -1, sos)
	ns := int(data[sos+4])
	data[sos+5+2*ns+1] = 0 // Se: the scan holds DC coefficients only
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, "jpeg", format)
	require.Equal(t, image.Pt(w, h), image.Pt(cfg.Width, cfg.Height))
	return data
}
