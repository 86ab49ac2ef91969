package app_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

// hugePNG returns a valid PNG of about 100 bytes whose header declares a
// w x h RGBA canvas, with a tiny IDAT: the upload that made the server
// allocate a 1024 x 2,560,000,000 thumbnail.
func hugePNG(t testing.TB, w, h uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		buf.WriteString(typ)
		buf.Write(data)
		_ = binary.Write(&buf, binary.BigEndian, crc.Sum32())
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	chunk("IHDR", append(ihdr, 8, 6, 0, 0, 0)) // 8-bit RGBA, not interlaced
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err := zw.Write(make([]byte, 64)) // a few rows of nothing
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return buf.Bytes()
}

// allocated serves one request through h and returns the response and the
// bytes allocated meanwhile, by every goroutine.
func allocated(h http.Handler, req *http.Request) (*httptest.ResponseRecorder, uint64) {
	w := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h.ServeHTTP(w, req)
	runtime.ReadMemStats(&after)
	return w, after.TotalAlloc - before.TotalAlloc
}

func TestImageBudgets(t *testing.T) {
	a, err := app.New(app.Config{Workers: 1, Logger: quiet})
	require.NoError(t, err)
	defer func() { require.NoError(t, a.Close(bg)) }()
	h := a.Handler()
	huge := hugePNG(t, 4, 10_000_000) // 40 MP: inside MaxPixels
	for _, tc := range []struct {
		name, query, msg string
	}{
		{"whose thumbnail would be 1024 x 2.56e9", "?width=1024", "a thumbnail 1024 pixels wide would be 1024x2560000000 pixels; at most 4194304"},
		{"whose thumbnail would be 4 x 1e7", "?width=4", "would be 4x10000000 pixels"},
		{"whose 1-pixel-wide thumbnail needs more memory than allowed", "?width=1", "1x2500000 png thumbnail of this 4x10000000 image needs about"},
	} {
		t.Run("a 4 x 10,000,000 PNG "+tc.name+" gets 413 without being decoded", func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/thumbnail"+tc.query, bytes.NewReader(huge))
			w, bytes := allocated(h, req)
			require.Equal(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), tc.msg)
			require.Less(t, bytes, uint64(1<<20), "allocated %d bytes", bytes)
		})
	}
	t.Run("a PNG declaring more than MaxPixels gets 413 without being decoded", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/api/thumbnail", bytes.NewReader(hugePNG(t, 100_000, 100_000)))
		w, bytes := allocated(h, req)
		require.Equal(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
		require.Contains(t, w.Body.String(), "image is 100000x100000 pixels; at most 40000000")
		require.Less(t, bytes, uint64(1<<20))
	})
	t.Run("a declared canvas within the budgets but with no pixel data gets 400", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/api/thumbnail?width=16", bytes.NewReader(hugePNG(t, 2000, 2000)))
		w, bytes := allocated(h, req)
		require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
		require.Contains(t, w.Body.String(), "malformed image")
		require.Less(t, bytes, uint64(app.DefaultMaxImageMemory))
	})
}
