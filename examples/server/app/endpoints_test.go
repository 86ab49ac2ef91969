package app_test

import (
	"bytes"
	"image/png"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

func TestEndpoints(t *testing.T) {
	for _, mode := range []app.Mode{app.ModePool, app.ModePlain, app.ModeThrottle} {
		t.Run("the "+string(mode)+" mode serves every endpoint", func(t *testing.T) {
			_, srv := start(t, app.Config{Mode: mode, Workers: 2})

			r := get(t, srv.URL+"/api/digest?rounds=2&seed=abc")
			require.Equal(t, http.StatusOK, r.code)
			require.Equal(t, "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358", r.json(t)["digest"])

			r = postJSON(t, srv.URL+"/api/hash", `{"password":"hunter2"}`)
			require.Equal(t, http.StatusOK, r.code)
			hash := r.json(t)["hash"].(string)
			r = postJSON(t, srv.URL+"/api/verify", `{"password":"hunter2","hash":"`+hash+`"}`)
			require.Equal(t, true, r.json(t)["match"])
			r = postJSON(t, srv.URL+"/api/verify", `{"password":"wrong","hash":"`+hash+`"}`)
			require.Equal(t, false, r.json(t)["match"])

			r = do(t, http.MethodPost, srv.URL+"/api/thumbnail?width=50", "image/png", pngImage(t, 200, 100))
			require.Equal(t, http.StatusOK, r.code, string(r.body))
			require.Equal(t, "image/png", r.header.Get("Content-Type"))
			img, err := png.Decode(bytes.NewReader(r.body))
			require.NoError(t, err)
			require.Equal(t, 50, img.Bounds().Dx())
			require.Equal(t, 25, img.Bounds().Dy())

			for _, path := range []string{"/healthz", "/readyz"} {
				require.Equal(t, http.StatusOK, get(t, srv.URL+path).code, path)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	_, srv := start(t, app.Config{Workers: 1, MaxBodyBytes: 64 << 10, MaxPixels: 10_000})
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"zero rounds", "GET", "/api/digest?rounds=0", "", 400, "rounds must be an integer between 1 and 2000000"},
		{"non-numeric rounds", "GET", "/api/digest?rounds=many", "", 400, "rounds must be an integer"},
		{"too many rounds", "GET", "/api/digest?rounds=99999999", "", 400, "rounds must be an integer"},
		{"a huge seed", "GET", "/api/digest?seed=" + strings.Repeat("s", 2000), "", 400, "seed must be at most 1024 bytes"},
		{"malformed JSON", "POST", "/api/hash", "{", 400, "malformed JSON body"},
		{"an unknown field", "POST", "/api/hash", `{"pass":"x"}`, 400, "malformed JSON body"},
		{"a second JSON value", "POST", "/api/hash", `{"password":"x"} {"password":"y"}`, 400, "data after the JSON value"},
		{"a stray brace after the JSON", "POST", "/api/verify", `{"password":"x","hash":"y"}}`, 400, "data after the JSON value"},
		{"garbage after the JSON", "POST", "/api/hash", `{"password":"x"}garbage`, 400, "data after the JSON value"},
		{"an empty password", "POST", "/api/hash", `{"password":""}`, 400, "password must be 1 to 72 bytes"},
		{"a password over 72 bytes", "POST", "/api/hash", `{"password":"` + strings.Repeat("p", 73) + `"}`, 400, "password must be 1 to 72 bytes"},
		{"an oversized JSON body", "POST", "/api/hash", `{"password":"` + strings.Repeat("p", 70<<10) + `"}`, 413, "body must be at most"},
		{"a malformed hash", "POST", "/api/verify", `{"password":"x","hash":"nope"}`, 400, "invalid hash"},
		{"a malformed image", "POST", "/api/thumbnail", "not an image", 400, "malformed image"},
		{"a truncated image", "POST", "/api/thumbnail", string(pngImage(t, 50, 50)[:60]), 400, "malformed image"},
		{"an image with too many pixels", "POST", "/api/thumbnail", string(pngImage(t, 200, 100)), 413, "at most 10000 pixels"},
		{"an oversized upload", "POST", "/api/thumbnail", strings.Repeat("x", 65<<10), 413, "body must be at most 65536 bytes"},
		{"a zero width", "POST", "/api/thumbnail?width=0", string(pngImage(t, 10, 10)), 400, "width must be an integer between 1 and 1024"},
	} {
		t.Run(tc.name+" gets a clear 4xx", func(t *testing.T) {
			r := do(t, tc.method, srv.URL+tc.path, "", []byte(tc.body))
			require.Equal(t, tc.code, r.code, string(r.body))
			require.Contains(t, r.json(t)["error"], tc.msg)
		})
	}

	t.Run("the server still serves after bad input", func(t *testing.T) {
		require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/digest?rounds=10").code)
		require.Equal(t, http.StatusOK, get(t, srv.URL+"/healthz").code)
	})
}

func TestConfig(t *testing.T) {
	t.Run("the default write timeout leaves room for the body and the task", func(t *testing.T) {
		a, err := app.New(app.Config{Mode: app.ModePlain, BodyTimeout: 5 * time.Second, TaskTimeout: 2 * time.Second})
		require.NoError(t, err)
		require.Equal(t, 27*time.Second, a.Config().WriteTimeout)
	})
	for _, tc := range []struct {
		name string
		cfg  app.Config
		msg  string
	}{
		{"an unknown mode is an error", app.Config{Mode: "turbo"}, `app: Mode must be pool, plain, throttle or proc, got "turbo"`},
		{"negative workers are an error", app.Config{Workers: -1}, "app: Workers must be >= 0, got -1"},
		{"a negative queue is an error", app.Config{QueueSize: -1}, "app: QueueSize must be >= 0, got -1"},
		{"a bcrypt cost out of range is an error", app.Config{BcryptCost: 99}, "app: BcryptCost must be in [4, 31], got 99"},
		{"a negative BodyTimeout is an error", app.Config{BodyTimeout: -1}, "app: BodyTimeout must be >= 0, got -1"},
		{"a negative MaxImageMemory is an error", app.Config{MaxImageMemory: -1}, "app: MaxImageMemory must be >= 0, got -1"},
		{"a negative MaxOutputPixels is an error", app.Config{MaxOutputPixels: -1}, "app: MaxOutputPixels must be >= 0, got -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := app.New(tc.cfg)
			require.EqualError(t, err, tc.msg)
		})
	}
}

func TestSampleImage(t *testing.T) {
	t.Run("the README's sample image gets a thumbnail", func(t *testing.T) {
		_, srv := start(t, app.Config{Workers: 1})
		data, err := os.ReadFile("../testdata/sample.png")
		require.NoError(t, err)
		r := do(t, http.MethodPost, srv.URL+"/api/thumbnail?width=64", "image/png", data)
		require.Equal(t, http.StatusOK, r.code, string(r.body))
		img, err := png.Decode(bytes.NewReader(r.body))
		require.NoError(t, err)
		require.Equal(t, 64, img.Bounds().Dx())
		require.Equal(t, 40, img.Bounds().Dy())
	})
}
