package remote

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ServerOptions configures an embedded NATS server. The zero value is a
// loopback server on a random port with JetStream in a temporary directory.
type ServerOptions struct {
	// Host is the interface to listen on. Default "127.0.0.1": the server
	// is for this machine only. Set "0.0.0.0" to let members on other
	// machines connect.
	Host string
	// Port is the client port. Default 0: a random free port.
	Port int
	// StoreDir holds JetStream's files. Default "": a temporary directory
	// that Close removes.
	StoreDir string
	// NoJetStream turns JetStream off. Default false: JetStream is on, as
	// durable mode needs it.
	NoJetStream bool
	// MaxPayload is the largest message the server accepts, in bytes.
	// Default 0: the server's default (1 MiB).
	MaxPayload int32
	// ReadyTimeout bounds how long NewServer waits for the server to
	// accept connections. Default 10s.
	ReadyTimeout time.Duration
}

// Server is an in-process NATS server: the local default for members and
// callers on one machine, and the fixture for tests. It is safe for
// concurrent use.
type Server struct {
	ns       *server.Server
	storeDir string
	tempDir  string
}

// NewServer starts an embedded NATS server and returns once it accepts
// connections. Close it to stop it and remove its temporary files.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Port < 0 {
		return nil, fmt.Errorf("remote: ServerOptions.Port must be >= 0, got %d", opts.Port)
	}
	if opts.MaxPayload < 0 {
		return nil, fmt.Errorf("remote: ServerOptions.MaxPayload must be >= 0, got %d", opts.MaxPayload)
	}
	s := &Server{}
	so := &server.Options{
		Host:       opts.Host,
		Port:       opts.Port,
		JetStream:  !opts.NoJetStream,
		StoreDir:   opts.StoreDir,
		MaxPayload: opts.MaxPayload,
		NoLog:      true,
		NoSigs:     true,
	}
	if so.Host == "" {
		so.Host = "127.0.0.1"
	}
	if so.Port == 0 {
		so.Port = server.RANDOM_PORT
	}
	if so.JetStream && so.StoreDir == "" {
		dir, err := os.MkdirTemp("", "crew-nats-")
		if err != nil {
			return nil, fmt.Errorf("remote: embedded server: %w", err)
		}
		s.tempDir, so.StoreDir = dir, dir
	}
	ns, err := server.NewServer(so)
	if err != nil {
		s.removeTemp()
		return nil, fmt.Errorf("remote: embedded server: %w", err)
	}
	s.ns, s.storeDir = ns, so.StoreDir
	ns.Start()
	ready := opts.ReadyTimeout
	if ready <= 0 {
		ready = 10 * time.Second
	}
	if !ns.ReadyForConnections(ready) {
		s.Close()
		return nil, fmt.Errorf("remote: embedded server not ready after %v", ready)
	}
	return s, nil
}

// URL returns the address clients connect to, such as nats://127.0.0.1:4222.
func (s *Server) URL() string { return s.ns.ClientURL() }

// StoreDir returns the directory that holds JetStream's files, or "" when
// JetStream is off.
func (s *Server) StoreDir() string { return s.storeDir }

// Connect returns a new client connection to the server. The connection
// has no reconnect attempts: a test or a program that owns the server knows
// when it is gone.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.MaxReconnects(0)}, opts...)
	nc, err := nats.Connect(s.URL(), opts...)
	if err != nil {
		return nil, fmt.Errorf("remote: connect to embedded server: %w", err)
	}
	return nc, nil
}

// Close shuts the server down, waits until it has stopped and removes its
// temporary directory. It is idempotent.
func (s *Server) Close() error {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	return s.removeTemp()
}

func (s *Server) removeTemp() error {
	if s.tempDir == "" {
		return nil
	}
	err := os.RemoveAll(s.tempDir)
	s.tempDir = ""
	if err != nil {
		return errors.Join(errors.New("remote: remove the embedded server's directory"), err)
	}
	return nil
}
