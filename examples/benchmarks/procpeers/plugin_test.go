package procpeers_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The go-plugin peer: a gRPC service with one unary method, Square, on
// protobuf's Int64Value, described by hand so that no generated code is
// needed.

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CREW_BENCH_PLUGIN",
	MagicCookieValue: "square",
}

const squareMethod = "/bench.Squarer/Square"

type squarer interface {
	Square(context.Context, *wrapperspb.Int64Value) (*wrapperspb.Int64Value, error)
}

type squareServer struct{}

func (squareServer) Square(_ context.Context, in *wrapperspb.Int64Value) (*wrapperspb.Int64Value, error) {
	return wrapperspb.Int64(in.Value * in.Value), nil
}

var squareService = grpc.ServiceDesc{
	ServiceName: "bench.Squarer",
	HandlerType: (*squarer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Square",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.Int64Value)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(squarer).Square(ctx, in)
		},
	}},
	Metadata: "bench",
}

// squarePlugin serves squareService in the plugin and hands the client
// the raw connection.
type squarePlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (squarePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&squareService, squareServer{})
	return nil
}

func (squarePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

var plugins = plugin.PluginSet{"square": squarePlugin{}}

// servePlugin runs the plugin side until the host kills it.
func servePlugin() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         plugins,
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          hclog.NewNullLogger(),
	})
}

// startPlugin starts this binary as the plugin and returns a function that
// squares n through it.
func startPlugin(b *testing.B) (call func(int) int, stop func()) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugins,
		Cmd:              exec.Command(exe),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		b.Fatal(err)
	}
	raw, err := rpc.Dispense("square")
	if err != nil {
		client.Kill()
		b.Fatal(err)
	}
	conn := raw.(*grpc.ClientConn)
	ctx := context.Background()
	in, out := new(wrapperspb.Int64Value), new(wrapperspb.Int64Value)
	call = func(n int) int {
		in.Value = int64(n)
		if err := conn.Invoke(ctx, squareMethod, in, out); err != nil {
			b.Fatal(err)
		}
		return int(out.Value)
	}
	return call, client.Kill
}
