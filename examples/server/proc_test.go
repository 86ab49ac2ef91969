package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProcMode(t *testing.T) {
	t.Run("the real binary serves the endpoints from child processes, a fatal error kills only the child that ran it, and no child outlives the server", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		bin := buildBinary(t, ctx)
		// Without a waiting budget: after two crashes both children may be
		// restarting, and a request then waits for one rather than being
		// shed when a loaded machine starts them slowly. The budget is
		// tested in package app and in httpx.
		s := startBinary(t, ctx, bin, "-mode", "proc", "-workers", "2", "-enable-crash", "-max-wait=-1ms", "-addr", "127.0.0.1:0", "-admin", "off")

		want := mustGet(t, ctx, s.url("/api/digest?rounds=10&seed=a"), http.StatusOK)
		require.Len(t, want["digest"], 64)
		hash := post(t, ctx, s.url("/api/hash"), `{"password":"swordfish"}`, http.StatusOK)["hash"].(string)
		require.True(t, strings.HasPrefix(hash, "$2a$"), hash)
		body := fmt.Sprintf(`{"password":"swordfish","hash":%q}`, hash)
		require.Equal(t, true, post(t, ctx, s.url("/api/verify"), body, http.StatusOK)["match"])
		require.Contains(t, post(t, ctx, s.url("/api/verify"), `{"password":"x","hash":"nope"}`, http.StatusBadRequest)["error"], "invalid hash")
		children := s.children(t)
		require.NotEmpty(t, children)

		for _, kind := range []string{"exit", "fatal", "panic"} {
			got := mustGet(t, ctx, s.url("/api/crash?kind="+kind), http.StatusInternalServerError)
			require.Equal(t, "internal server error", got["error"], "kind=%s", kind)
			// The server is the same process and goes on serving, from a
			// new child.
			require.Equal(t, want, mustGet(t, ctx, s.url("/api/digest?rounds=10&seed=a"), http.StatusOK), "after kind=%s", kind)
			require.NoError(t, syscall.Kill(s.cmd.Process.Pid, 0))
			children = append(children, s.children(t)...)
		}
		// The two fatal errors each ended a child, never the server.
		dead := s.crashedChildren()
		require.Len(t, dead, 2, "crashed children in the server's log")
		for _, pid := range dead {
			require.NotEqual(t, s.cmd.Process.Pid, pid)
			require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "crashed child %d is still there", pid)
		}
		require.Contains(t, s.stderr.String(), "exited with status 3")
		require.Contains(t, s.stderr.String(), "fatal error: concurrent map writes")

		require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, s.wait())
		for _, pid := range append(children, dead...) {
			require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "child %d outlived the server", pid)
		}
		require.Empty(t, running(t, bin), "processes of the server binary left after it stopped")
	})
}

// buildBinary compiles the server into a temporary directory: the real
// binary, whose main checks the worker role before its flags.
func buildBinary(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// binary is a started server binary.
type binary struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan error
}

// startBinary starts bin with args and waits for its ready line. The
// server is killed, if still running, when the test ends.
func startBinary(t *testing.T, ctx context.Context, bin string, args ...string) *binary {
	t.Helper()
	s := &binary{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd.Stderr = s.stderr
	out, err := s.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.wait()
	})
	lines := bufio.NewScanner(out)
	ready := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if f := strings.Fields(lines.Text()); len(f) >= 2 && f[0] == "ready" {
				ready <- f[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
		s.done <- s.cmd.Wait()
	}()
	select {
	case s.addr = <-ready:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("the server exited before it was ready: %v; stderr:\n%s", err, s.stderr.String())
	case <-ctx.Done():
		t.Fatalf("no ready line: %v; stderr:\n%s", ctx.Err(), s.stderr.String())
	}
	return s
}

func (s *binary) url(path string) string { return "http://" + s.addr + path }

// wait waits for the server to exit and returns its error; it may be
// called more than once.
func (s *binary) wait() error {
	err := <-s.done
	s.done <- err
	return err
}

// children returns the PIDs of the server's child processes now.
func (s *binary) children(t *testing.T) []int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", s.cmd.Process.Pid))
	require.NoError(t, err)
	var pids []int
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread ended
		}
		require.NoError(t, err)
		for _, p := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(p)
			require.NoError(t, err)
			pids = append(pids, pid)
		}
	}
	return pids
}

// crashedChild finds the children whose death the server logged.
var crashedChild = regexp.MustCompile(`child (\d+): exited with status`)

// crashedChildren returns the PIDs of the children whose death the server
// logged.
func (s *binary) crashedChildren() []int {
	var pids []int
	for _, m := range crashedChild.FindAllStringSubmatch(s.stderr.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		if !slices.Contains(pids, pid) { // logged by proc and by the handler that lost its task
			pids = append(pids, pid)
		}
	}
	return pids
}

// running returns the PIDs of the processes that run bin.
func running(t *testing.T, bin string) []int {
	t.Helper()
	exes, err := filepath.Glob("/proc/[0-9]*/exe")
	require.NoError(t, err)
	var pids []int
	for _, e := range exes {
		if target, err := os.Readlink(e); err == nil && target == bin {
			pid, _ := strconv.Atoi(strings.Split(e, "/")[2])
			pids = append(pids, pid)
		}
	}
	return pids
}

func mustGet(t *testing.T, ctx context.Context, url string, code int) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	return do(t, req, code)
}

func post(t *testing.T, ctx context.Context, url, body string, code int) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	return do(t, req, code)
}

func do(t *testing.T, req *http.Request, code int) map[string]any {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	require.Equal(t, code, resp.StatusCode, "%s %s: %v", req.Method, req.URL.Path, v)
	return v
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
