package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAdminAddress(t *testing.T) {
	t.Run("the admin listener is loopback-only by default, on a free port with -reuseport", func(t *testing.T) {
		require.Equal(t, "127.0.0.1:6060", adminAddr("", false))
		require.Equal(t, "127.0.0.1:0", adminAddr("", true))
		require.Equal(t, "0.0.0.0:9100", adminAddr("0.0.0.0:9100", true))
	})

	t.Run("off turns the admin listener off and the ready line says so", func(t *testing.T) {
		ln, err := listenAdmin(context.Background(), "off")
		require.NoError(t, err)
		require.Nil(t, ln)
		pub := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
		require.Equal(t, "ready 127.0.0.1:8080 admin off", readyLine(pub, ln))
	})

	t.Run("the ready line gives both addresses", func(t *testing.T) {
		ln, err := listenAdmin(context.Background(), "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		pub := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
		require.Equal(t, "ready 127.0.0.1:8080 admin "+ln.Addr().String(), readyLine(pub, ln))
	})

	t.Run("an address in use is an error naming the admin listener", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer busy.Close()
		_, err = listenAdmin(context.Background(), busy.Addr().String())
		require.ErrorContains(t, err, "admin listener: ")
	})
}

func TestMaxWaitSetting(t *testing.T) {
	t.Run("CREW_MAX_WAIT is the default of -max-wait, and a bad value is an error naming it", func(t *testing.T) {
		t.Setenv("CREW_MAX_WAIT", "")
		d, err := envDuration("CREW_MAX_WAIT")
		require.NoError(t, err)
		require.Zero(t, d)
		t.Setenv("CREW_MAX_WAIT", "350ms")
		d, err = envDuration("CREW_MAX_WAIT")
		require.NoError(t, err)
		require.Equal(t, 350*time.Millisecond, d)
		t.Setenv("CREW_MAX_WAIT", "350")
		_, err = envDuration("CREW_MAX_WAIT")
		require.EqualError(t, err, `CREW_MAX_WAIT must be a duration such as 300ms, got "350"`)
		require.ErrorContains(t, run([]string{"-addr", "127.0.0.1:0"}), "CREW_MAX_WAIT")
	})
}
