// Package crew_test checks that the README's quick start and commands work
// as written.
package crew_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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
