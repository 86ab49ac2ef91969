package loadgen

import (
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// NewClient returns an HTTP client for clients concurrent clients: HTTP/1.1
// with keep-alive, at most clients connections to a host and as many kept
// idle, so that each client keeps its connection between requests. It
// dials loopback addresses only (127.0.0.0/8 and ::1), so a load test
// cannot flood another machine by mistake. It sets no overall timeout:
// [Options].Timeout bounds each request. Call CloseIdleConnections when
// done with it.
func NewClient(clients int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        clients,
		MaxIdleConnsPerHost: clients,
		MaxConnsPerHost:     clients,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// loopbackOnly refuses to connect to an address that is not loopback.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("loadgen: %s is not a loopback address", address)
	}
	return nil
}
