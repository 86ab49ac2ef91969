//go:build !linux

package proc

import (
	"errors"
	"os/exec"
)

var errUnsupported = errors.New("proc: not supported on this system")

func dieWithParent(*exec.Cmd) {}

func limitData(int, int64) error { return errUnsupported }

type rssMeter struct{}

func openRSS(int) (*rssMeter, error) { return nil, errUnsupported }

func (*rssMeter) read() (int64, error) { return 0, errUnsupported }

func (*rssMeter) close() {}
