package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

var bg = context.Background()

// quiet is a logger for tests.
var quiet = slog.New(slog.DiscardHandler)

// start serves a new app on loopback and stops both when the test ends.
func start(t *testing.T, cfg app.Config) (*app.App, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.MinCost
	}
	a, err := app.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, a.Close(bg))
	})
	return a, srv
}

// reply is a response with its body read.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

// json decodes the body into a map.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

func do(t *testing.T, method, url, contentType string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(bg, method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

func get(t *testing.T, url string) reply { return do(t, http.MethodGet, url, "", nil) }

func postJSON(t *testing.T, url, body string) reply {
	return do(t, http.MethodPost, url, "application/json", []byte(body))
}

// pngImage encodes a w x h gradient.
func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// occupy makes every worker of p busy and fills its queue with tasks that
// wait for release; it returns their futures.
func occupy(t *testing.T, p *pool.Tasks, release <-chan struct{}) []*pool.Future[struct{}] {
	t.Helper()
	st := p.Stats()
	started := make(chan struct{}, st.Max)
	var futs []*pool.Future[struct{}]
	submit := func(fn pool.Task) {
		f, err := p.TrySubmit(bg, fn)
		require.NoError(t, err)
		futs = append(futs, f)
	}
	for range st.Max {
		submit(func(context.Context) error { started <- struct{}{}; <-release; return nil })
	}
	for range st.Max {
		<-started
	}
	for range st.QueueCap {
		submit(func(context.Context) error { <-release; return nil })
	}
	return futs
}

func waitAll(t *testing.T, futs []*pool.Future[struct{}]) {
	t.Helper()
	for _, f := range futs {
		_, err := f.Wait(bg)
		require.NoError(t, err)
	}
}
