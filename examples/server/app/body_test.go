package app_test

import (
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

func TestSlowBody(t *testing.T) {
	t.Run("a client trickling its body holds no worker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serveOnPipes(t, app.Config{Workers: 1, QueueSize: 1, BcryptCost: 4})
			body := []byte(`{"password":"hunter2"}`)
			slow := s.ln.dial(t)
			sendHead(t, slow, http.MethodPost, "/api/hash", len(body))
			_, err := slow.Write(body[:5])
			require.NoError(t, err)
			synctest.Wait() // the handler is blocked reading the rest

			start := time.Now()
			r := s.roundTrip(t, http.MethodGet, "/api/digest?rounds=10", nil)
			require.Equal(t, http.StatusOK, r.code, string(r.body))
			require.Zero(t, time.Since(start), "the digest did not wait for the slow body")
			require.Zero(t, s.Pool().Stats().Busy)

			_, err = slow.Write(body[5:])
			require.NoError(t, err)
			r = readReply(t, slow)
			require.Equal(t, http.StatusOK, r.code, string(r.body))
			require.Contains(t, r.json(t)["hash"], "$2a$04$")
			require.NoError(t, s.stop())
		})
	})
}

func TestBodyTimeout(t *testing.T) {
	for _, path := range []string{"/api/hash", "/api/verify", "/api/thumbnail"} {
		t.Run("a body that stalls past BodyTimeout on "+path+" gets 408, not 200", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := serveOnPipes(t, app.Config{Workers: 1, BodyTimeout: 5 * time.Second})
				c := s.ln.dial(t)
				start := time.Now()
				sendHead(t, c, http.MethodPost, path, 100)
				_, err := c.Write([]byte(`{"pass`))
				require.NoError(t, err)
				r := readReply(t, c)
				require.Equal(t, http.StatusRequestTimeout, r.code, string(r.body))
				require.Equal(t, "the request body did not arrive in time", r.json(t)["error"])
				require.Equal(t, 5*time.Second, time.Since(start))
				require.NoError(t, s.stop())
			})
		})
	}

	t.Run("the real server answers a stalled upload 408", func(t *testing.T) {
		_, srv := start(t, app.Config{Workers: 1, BodyTimeout: 50 * time.Millisecond})
		pr, pw := io.Pipe()
		defer pw.Close()
		req, err := http.NewRequestWithContext(bg, http.MethodPost, srv.URL+"/api/thumbnail", pr)
		require.NoError(t, err)
		req.ContentLength = 1 << 10
		go func() { _, _ = pw.Write([]byte("\x89PNG")) }()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(b))
		require.JSONEq(t, `{"error":"the request body did not arrive in time"}`, string(b))
	})

	t.Run("a body cut short gets 400", func(t *testing.T) {
		_, srv := start(t, app.Config{Workers: 1})
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		sendHead(t, c, http.MethodPost, "/api/hash", 100)
		_, err = c.Write([]byte(`{"pass`))
		require.NoError(t, err)
		require.NoError(t, c.(*net.TCPConn).CloseWrite())
		r := readReply(t, c)
		require.Equal(t, http.StatusBadRequest, r.code, string(r.body))
		require.Contains(t, r.json(t)["error"], "the request body was cut short")
	})
}

func TestWriteTimeout(t *testing.T) {
	t.Run("a client that does not read its response is cut at WriteTimeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serveOnPipes(t, app.Config{Workers: 1, WriteTimeout: 3 * time.Second})
			c := s.ln.dial(t)
			sendHead(t, c, http.MethodGet, "/api/digest?rounds=10", 0)
			synctest.Wait() // the server is blocked writing the response
			time.Sleep(3 * time.Second)
			synctest.Wait()
			n, err := c.Read(make([]byte, 1))
			require.Zero(t, n, "nothing of the response was delivered")
			require.ErrorIs(t, err, io.EOF, "the server closed the connection")
			require.NoError(t, s.stop())
		})
	})
}
