// Package crew_test checks that the README's quick start and commands work
// as written.
package crew_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fences returns the README's fenced code blocks whose info string is lang
// ("" for none), in order.
func fences(t *testing.T, lang string) []string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	var blocks, cur []string
	open, keep := false, false
	for line := range strings.SplitSeq(string(readme), "\n") {
		switch {
		case !open && strings.HasPrefix(line, "```"):
			open, keep, cur = true, strings.TrimPrefix(line, "```") == lang, nil
		case open && line == "```":
			if keep {
				blocks = append(blocks, strings.Join(cur, "\n")+"\n")
			}
			open = false
		case open:
			cur = append(cur, line)
		}
	}
	return blocks
}

func TestReadme(t *testing.T) {
	t.Run("the quick start builds and runs as written", func(t *testing.T) {
		var program string
		for _, b := range fences(t, "go") {
			if strings.HasPrefix(b, "package main") {
				program = b
				break
			}
		}
		require.NotEmpty(t, program, "the README has a complete program")
		root, err := os.Getwd()
		require.NoError(t, err)
		dir := t.TempDir()
		write := func(name, content string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
		}
		write("main.go", program)
		write("go.mod", fmt.Sprintf("module quickstart\n\ngo 1.26.0\n\nrequire github.com/crewkit/crew v0.0.0\n\nreplace github.com/crewkit/crew => %s\n", root))
		sums, err := os.ReadFile("go.sum")
		require.NoError(t, err)
		write("go.sum", string(sums))

		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		bin := filepath.Join(dir, "quickstart")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		build.Dir = dir
		// Everything it needs is in the module cache once crew's own tests
		// built: the quick start fetches nothing.
		build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off")
		out, err := build.CombinedOutput()
		require.NoError(t, err, "go build: %s", out)

		out, err = exec.CommandContext(ctx, bin).CombinedOutput()
		require.NoError(t, err, "%s", out)
		sum := sha256.Sum256([]byte("hello"))
		for range 1_000_000 {
			sum = sha256.Sum256(sum[:])
		}
		require.Equal(t, fmt.Sprintf("%x\n", sum), string(out))
	})

	t.Run("the README's curl commands answer 200 from the example server and write nothing into the checkout", func(t *testing.T) {
		var curls []string
		for _, b := range fences(t, "") {
			if strings.HasPrefix(b, "curl ") {
				curls = strings.Split(strings.TrimSpace(b), "\n")
				break
			}
		}
		require.NotEmpty(t, curls, "the README has a block of curl commands")
		before := snapshot(t)
		addr, admin := startServer(t)
		for _, line := range curls {
			cmd := strings.ReplaceAll(line, "localhost:8080", addr)
			cmd = strings.ReplaceAll(cmd, "localhost:6060", admin) + ` -w '\n%{http_code}'`
			out, err := exec.CommandContext(t.Context(), "sh", "-c", cmd).CombinedOutput()
			require.NoError(t, err, "%s: %s", line, out)
			lines := strings.Split(string(out), "\n")
			require.Equal(t, "200", lines[len(lines)-1], "%s: %s", line, out)
		}
		require.Equal(t, before, snapshot(t), "the commands changed the checkout")
	})

	t.Run("the README's commands write nothing into the repository", func(t *testing.T) {
		// -o (curl, go build) and -chart (compare) name files the commands
		// write; they must be outside the checkout.
		out := regexp.MustCompile(`(?:^|\s)(?:-o|-chart)[ =](\S+)`)
		var seen int
		for _, b := range fences(t, "") {
			for _, m := range out.FindAllStringSubmatch(b, -1) {
				seen++
				require.True(t, strings.HasPrefix(m[1], "/tmp/"), "%q writes into the checkout", m[0])
			}
		}
		require.NotZero(t, seen, "the README's commands that write files were found")
	})
}

// snapshot returns every file of the checkout, .git aside, with its size
// and modification time.
func snapshot(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = fmt.Sprint(info.Size(), info.ModTime().UnixNano())
		return nil
	})
	require.NoError(t, err)
	return files
}

// startServer builds examples/server, starts it on a free loopback port
// with its defaults otherwise, and returns its address once it is ready.
// The server is stopped, and waited for, when the test ends.
func startServer(t *testing.T) (addr, admin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server")
	build.Dir = "examples"
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	srv := exec.Command(bin, "-addr", "127.0.0.1:0", "-admin", "127.0.0.1:0")
	stdout, err := srv.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait() // the process is gone before the test ends
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- line // ADDR admin ADMIN
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		require.True(t, ok, "the server exited before it was ready")
		addr, admin, ok = strings.Cut(line, " admin ")
		require.True(t, ok, "ready line %q names the admin address", line)
		return addr, admin
	case <-ctx.Done():
		require.FailNow(t, "the server was not ready within 3 minutes")
		return "", ""
	}
}
