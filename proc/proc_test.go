//go:build linux

package proc_test

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
	"github.com/crewkit/crew/wire"
)

func TestPoolOfProcesses(t *testing.T) {
	t.Run("tasks run in child processes and results come back", func(t *testing.T) {
		ev := newEvents()
		p := newPool(t, "echo", proc.Options{}, pool.Options{MaxWorkers: 2, MinWorkers: 2, OnEvent: ev.hook})
		ev.wait(t, pool.WorkerStarted, 2)
		r, err := run(t, p, Job{Op: "upper", Text: "hello"})
		require.NoError(t, err)
		require.Equal(t, "HELLO", r.Text)
		require.NotEqual(t, os.Getpid(), r.PID)
		require.Contains(t, children(t), r.PID)

		fut, err := p.Submit(context.Background(), Job{Op: "upper", Text: "queued"})
		require.NoError(t, err)
		r, err = fut.Wait(context.Background())
		require.NoError(t, err)
		require.Equal(t, "QUEUED", r.Text)
		require.Len(t, children(t), 2)
	})
	t.Run("stdout and stderr are forwarded line by line with the worker ID", func(t *testing.T) {
		out := newLines()
		p := newPool(t, "echo", proc.Options{Output: out}, pool.Options{MaxWorkers: 1})
		_, err := run(t, p, Job{Op: "print", Text: "hello from the child"})
		require.NoError(t, err)
		require.Regexp(t, `^worker \d+: out: hello from the child$`, out.wait(t, "out: hello"))
		require.Regexp(t, `^worker \d+: err: hello from the child$`, out.wait(t, "err: hello"))
	})
	t.Run("output goes to the Logger as records with the worker, pid and stream", func(t *testing.T) {
		logs, logger := newLogs()
		p := newPool(t, "echo", proc.Options{Logger: logger}, pool.Options{MaxWorkers: 1})
		r, err := run(t, p, Job{Op: "print", Text: "to the logger"})
		require.NoError(t, err)
		rec := logs.wait(t, "out: to the logger")
		require.Regexp(t, `level=INFO msg="out: to the logger" worker=\d+ pid=`+strconv.Itoa(r.PID)+` stream=stdout`, rec)
		require.Contains(t, logs.wait(t, "err: to the logger"), "stream=stderr")
	})
	t.Run("the JSON codec works when both sides use it", func(t *testing.T) {
		p := newPool(t, "echo-json", proc.Options{Codec: wire.JSON}, pool.Options{MaxWorkers: 1})
		r, err := run(t, p, Job{Op: "upper", Text: "json"})
		require.NoError(t, err)
		require.Equal(t, "JSON", r.Text)
	})
	t.Run("errors keep their kind across the pipe", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{}, pool.Options{MaxWorkers: 1})
		_, err := run(t, p, Job{Op: "timeout"})
		require.ErrorIs(t, err, pool.ErrTimeout)
		require.EqualError(t, err, "upstream: pool: task timed out")
		_, err = run(t, p, Job{Op: "nonsense"})
		require.EqualError(t, err, `unknown op "nonsense"`)
	})
	t.Run("a panic in the child is a PanicError and the child is replaced", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{}, pool.Options{MaxWorkers: 1})
		before, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		_, err = run(t, p, Job{Op: "panic"})
		var pe *pool.PanicError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, wire.RemoteValue("child panicked"), pe.Value)
		require.Contains(t, string(pe.Stack), "testWorker.Handle")
		after, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotEqual(t, before.PID, after.PID)
		requireGone(t, before.PID)
		st := p.Stats()
		require.Equal(t, uint64(1), st.Panicked, "counted as a panic, not a failure")
		require.Zero(t, st.Failed)
	})
	t.Run("a fatal error in the child replaces the child", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{}, pool.Options{MaxWorkers: 1})
		before, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		_, err = run(t, p, Job{Op: "fatal"})
		require.EqualError(t, err, "state corrupt")
		require.True(t, pool.IsFatal(err))
		after, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotEqual(t, before.PID, after.PID)
	})
}

func TestCrashes(t *testing.T) {
	t.Run("a child killed by SIGKILL mid-task fails its task and is rebuilt", func(t *testing.T) {
		out := newLines()
		p := newPool(t, "echo", proc.Options{Output: out}, pool.Options{MaxWorkers: 1})
		errc := make(chan error, 1)
		go func() { _, err := run(t, p, Job{Op: "block"}); errc <- err }()
		pid := pidOf(t, out.wait(t, "blocking"))
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		err := <-errc
		require.ErrorIs(t, err, proc.ErrExited)
		e := exitError(t, err)
		require.Equal(t, syscall.SIGKILL, e.Signal)
		require.Equal(t, pid, e.PID)
		require.Contains(t, err.Error(), "killed by signal 9")
		requireGone(t, pid)

		r, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotEqual(t, pid, r.PID)
		require.Equal(t, uint64(1), p.Stats().Restarts)
	})
	t.Run("a child killed by SIGKILL between tasks counts as a crash at once and is rebuilt before the next task", func(t *testing.T) {
		logs, logger := newLogs()
		evs := newEvents()
		p := newPool(t, "echo", proc.Options{Logger: logger},
			pool.Options{MinWorkers: 1, MaxWorkers: 1, OnEvent: evs.hook})
		before, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		evs.wait(t, pool.WorkerStarted, 1)
		require.NoError(t, syscall.Kill(before.PID, syscall.SIGKILL))

		ev := evs.next(t, pool.WorkerExited)
		require.ErrorIs(t, ev.Err, proc.ErrExited)
		e := exitError(t, ev.Err)
		require.Equal(t, before.PID, e.PID)
		require.Equal(t, syscall.SIGKILL, e.Signal)
		ev = evs.next(t, pool.WorkerRestarted)
		require.ErrorIs(t, ev.Err, proc.ErrExited)
		evs.wait(t, pool.WorkerStarted, 1) // rebuilt with no task asking for it
		requireGone(t, before.PID)
		require.Equal(t, uint64(1), p.Stats().Restarts)
		require.Contains(t, logs.wait(t, "a child died"), "pid="+strconv.Itoa(before.PID))

		after, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotEqual(t, before.PID, after.PID)
		require.Equal(t, uint64(1), p.Stats().Restarts, "one death, one crash")
		require.Zero(t, p.Stats().Failed, "no task saw it")
	})
	t.Run("tasks that arrive as an idle child's death is being noticed are neither lost nor resolved twice", func(t *testing.T) {
		evs := newEvents()
		p := newPool(t, "echo", proc.Options{Output: newLines()},
			pool.Options{MinWorkers: 1, MaxWorkers: 1, OnEvent: evs.hook})
		const rounds, tasks = 5, 8
		for round := range rounds {
			r, err := run(t, p, Job{Op: "pid"})
			require.NoError(t, err)
			dead := pidfd(t, r.PID)
			require.NoError(t, syscall.Kill(r.PID, syscall.SIGKILL))
			require.NoError(t, dead(waitLimit)) // dead; the parent may not have noticed yet
			errc := make(chan error, tasks)
			for range tasks {
				go func() {
					_, err := run(t, p, Job{Op: "pid"})
					errc <- err
				}()
			}
			for range tasks {
				require.NoError(t, <-errc, "round %d", round)
			}
			requireGone(t, r.PID)
			// The death is one crash, whether the pool heard of it before
			// the tasks or after one of them ran on a replacement child.
			evs.wait(t, pool.WorkerRestarted, 1)
			require.Equal(t, uint64(round+1), p.Stats().Restarts, "round %d", round)
		}
		st := p.Stats()
		require.Equal(t, uint64(rounds*(tasks+1)), st.Completed, "every task resolved once")
		require.Zero(t, st.Failed)
	})
	t.Run("a child that exits right after every handshake fails the pool", func(t *testing.T) {
		policy := pool.RestartPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
			Period: 200 * time.Millisecond, Jitter: 1e-9}
		evs := newEvents()
		p, err := pool.New(proc.Factory[Job, Reply](proc.Self("ready-exit"), proc.Options{Output: newLines()}),
			pool.Options{MinWorkers: 1, MaxWorkers: 1, Restart: policy, OnEvent: evs.hook})
		require.NoError(t, err)
		defer func() {
			require.NoError(t, p.Close(context.Background()))
			requireNoChildren(t)
		}()
		ev := evs.next(t, pool.PoolFailed)
		require.ErrorIs(t, ev.Err, proc.ErrExited)
		require.ErrorContains(t, ev.Err, "crash loop: 8 failures in a row")
		require.ErrorContains(t, ev.Err, "exited with status 3; last stderr: leaving after the handshake")
		_, err = run(t, p, Job{Op: "pid"})
		require.ErrorIs(t, err, pool.ErrPoolFailed)
		require.Equal(t, "failed", p.Stats().State)
	})
	t.Run("a child that exits mid-task reports its status and last stderr lines", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{Output: newLines()}, pool.Options{MaxWorkers: 1})
		_, err := run(t, p, Job{Op: "exit", N: 7})
		e := exitError(t, err)
		require.Equal(t, 7, e.Code)
		require.Equal(t, syscall.Signal(0), e.Signal)
		require.Equal(t, []string{"about to exit"}, e.Stderr)
		require.Regexp(t, `^proc: worker \d+: child \d+: exited with status 7; last stderr: about to exit$`, err.Error())
		_, err = run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
	})
	t.Run("a child above its memory cap dies with out of memory", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{Output: newLines(), MemoryLimit: 512 << 20}, pool.Options{MaxWorkers: 1})
		before, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		_, err = run(t, p, Job{Op: "hog", N: 2048})
		require.ErrorIs(t, err, proc.ErrExited)
		// The Go runtime's words, or the race detector's when its shadow
		// memory is what hits the cap first.
		require.Regexp(t, "out of memory|ThreadSanitizer failed to allocate", err.Error())
		requireGone(t, before.PID)
		_, err = run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
	})
	t.Run("a child's GC gets a GOMEMLIMIT below its hard cap", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{MemoryLimit: 1 << 30}, pool.Options{MaxWorkers: 1})
		r, err := run(t, p, Job{Op: "getenv", Text: "GOMEMLIMIT"})
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa((1<<30)/10*9), r.Text)
		r, err = run(t, p, Job{Op: "getenv", Text: "CREW_PROC"})
		require.NoError(t, err)
		require.Empty(t, r.Text, "Serve hides the worker's marker from grandchildren")
	})
	t.Run("a child above MaxRSS is recycled after its task", func(t *testing.T) {
		logs, logger := newLogs()
		// A child starts below 30 MB (with -race too); holding 64 MiB more
		// takes it past 64 MiB.
		p := newPool(t, "echo", proc.Options{Logger: logger, MaxRSS: 64 << 20}, pool.Options{MaxWorkers: 1})
		small, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		big, err := run(t, p, Job{Op: "hog", N: 64})
		require.NoError(t, err)
		require.Equal(t, small.PID, big.PID)
		logs.wait(t, "recycling")
		next, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotEqual(t, big.PID, next.PID)
		requireGone(t, big.PID)
		require.Equal(t, uint64(0), p.Stats().Restarts)
		require.Equal(t, uint64(1), p.Stats().Recycled, "the pool recycled the worker")
	})
}

func TestCancellation(t *testing.T) {
	t.Run("a cancelled task is cancelled in the child, which lives on", func(t *testing.T) {
		out := newLines()
		p := newPool(t, "echo", proc.Options{Output: out}, pool.Options{MaxWorkers: 1})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := p.Run(ctx, Job{Op: "block"}); errc <- err }()
		pid := pidOf(t, out.wait(t, "blocking"))
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)
		r, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.Equal(t, pid, r.PID)
	})
	t.Run("a child that ignores cancellation is killed after the grace", func(t *testing.T) {
		out := newLines()
		p := newPool(t, "echo", proc.Options{Output: out, Grace: 50 * time.Millisecond}, pool.Options{MaxWorkers: 1})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := p.Run(ctx, Job{Op: "ignore"}); errc <- err }()
		pid := pidOf(t, out.wait(t, "ignoring"))
		cancel()
		// The caller stops waiting at once; the worker sends a cancel
		// frame, waits the grace, kills the child and is rebuilt.
		require.ErrorIs(t, <-errc, context.Canceled)
		r, err := run(t, p, Job{Op: "pid"}) // runs once the killed child's worker is replaced
		require.NoError(t, err)
		require.NotEqual(t, pid, r.PID)
		requireGone(t, pid)
		require.Equal(t, uint64(1), p.Stats().Restarts)
	})
	t.Run("with TaskTimeout a hung task ends in a kill, not a hung goroutine", func(t *testing.T) {
		out := newLines()
		// TaskTimeout leaves room for the next task to wait for the
		// replacement child, which starts when the first is killed.
		p := newPool(t, "echo", proc.Options{Output: out, Grace: 50 * time.Millisecond},
			pool.Options{MaxWorkers: 1, TaskTimeout: time.Second})
		_, err := run(t, p, Job{Op: "ignore"})
		require.ErrorIs(t, err, pool.ErrTimeout)
		require.ErrorIs(t, err, proc.ErrUnresponsive)
		pid := pidOf(t, out.wait(t, "ignoring"))
		requireGone(t, pid)
		require.Equal(t, 0, p.Stats().Hung)
		r, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotEqual(t, pid, r.PID)
	})
}

func TestBadPeers(t *testing.T) {
	t.Run("garbage on the protocol pipe discards the child", func(t *testing.T) {
		p := newPool(t, "garbage", proc.Options{}, pool.Options{MaxWorkers: 1})
		_, err := run(t, p, Job{Op: "pid"})
		require.ErrorIs(t, err, proc.ErrProtocol)
		require.Contains(t, err.Error(), "unknown frame kind 0x3f")
		require.Equal(t, syscall.SIGKILL, exitError(t, err).Signal)
	})
	t.Run("a task answered twice discards the child", func(t *testing.T) {
		logs, logger := newLogs()
		p := newPool(t, "double", proc.Options{Logger: logger}, pool.Options{MaxWorkers: 1})
		first, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		// The second answer arrived with the first; the next task finds
		// it, discards the child and runs on a fresh one.
		second, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotEqual(t, first.PID, second.PID)
		requireGone(t, first.PID)
		rec := logs.wait(t, "broke the protocol")
		require.Contains(t, rec, "answer to task 1, which is not running")
		require.Contains(t, rec, "pid="+strconv.Itoa(first.PID))
	})
	t.Run("a child that exits before its handshake fails the build", func(t *testing.T) {
		w, err := proc.Factory[Job, Reply](proc.Self("early-exit"), proc.Options{Output: newLines()})(context.Background(), pool.WorkerInfo{ID: 1})
		require.Nil(t, w)
		require.ErrorIs(t, err, proc.ErrHandshake)
		e := exitError(t, err)
		require.Equal(t, 3, e.Code)
		require.Regexp(t, `^proc: worker 1: child \d+: handshake failed: no answer: exited with status 3; last stderr: no configuration found$`, err.Error())
		requireNoChildren(t)
	})
	t.Run("a child whose factory fails refuses the handshake", func(t *testing.T) {
		_, err := proc.Factory[Job, Reply](proc.Self("bad-factory"), proc.Options{Output: newLines()})(context.Background(), pool.WorkerInfo{ID: 1})
		require.ErrorIs(t, err, proc.ErrHandshake)
		require.Contains(t, err.Error(), "refused: factory: database unreachable")
		requireNoChildren(t)
	})
	t.Run("a codec mismatch fails the handshake", func(t *testing.T) {
		_, err := proc.Factory[Job, Reply](proc.Self("echo"), proc.Options{Output: newLines(), Codec: wire.JSON})(context.Background(), pool.WorkerInfo{ID: 1})
		require.ErrorIs(t, err, proc.ErrHandshake)
		require.Contains(t, err.Error(), `codec "json", want "gob"`)
		requireNoChildren(t)
	})
	t.Run("the parent refuses a child of another protocol version", func(t *testing.T) {
		_, err := proc.Factory[Job, Reply](proc.Self("future"), proc.Options{})(context.Background(), pool.WorkerInfo{ID: 1})
		require.ErrorIs(t, err, proc.ErrHandshake)
		require.Contains(t, err.Error(), "handshake failed: protocol version 99, want 1: killed by signal 9")
		requireNoChildren(t)
	})
	t.Run("a child that never answers the handshake is killed after StartTimeout", func(t *testing.T) {
		_, err := proc.Factory[Job, Reply](proc.Self("silent"), proc.Options{StartTimeout: 100 * time.Millisecond})(context.Background(), pool.WorkerInfo{ID: 1})
		require.ErrorIs(t, err, proc.ErrHandshake)
		require.Contains(t, err.Error(), "no handshake within 100ms")
		requireNoChildren(t)
	})
	t.Run("a task the codec cannot encode fails alone", func(t *testing.T) {
		for _, tc := range []struct {
			role  string
			codec wire.Codec
			job   Job
		}{
			{"echo", wire.Gob, Job{Op: "pid", Extra: func() {}}},
			{"echo-json", wire.JSON, Job{Op: "pid", Extra: math.NaN()}},
		} {
			t.Run("with "+tc.codec.Name(), func(t *testing.T) {
				p := newPool(t, tc.role, proc.Options{Codec: tc.codec}, pool.Options{MaxWorkers: 1})
				before, err := run(t, p, Job{Op: "pid"})
				require.NoError(t, err)
				_, err = run(t, p, tc.job)
				require.ErrorIs(t, err, proc.ErrEncode, tc.codec.Name())
				require.False(t, pool.IsFatal(err))
				after, err := run(t, p, Job{Op: "pid"})
				require.NoError(t, err)
				require.Equal(t, before.PID, after.PID, "the child lives on")
			})
		}
	})
	t.Run("a task larger than MaxFrame fails alone and the next task succeeds", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{MaxFrame: 1 << 10}, pool.Options{MaxWorkers: 1})
		_, err := run(t, p, Job{Op: "upper", Text: strings.Repeat("x", 2<<10)})
		require.ErrorIs(t, err, proc.ErrEncode)
		require.ErrorIs(t, err, wire.ErrFrameTooLarge)
		r, err := run(t, p, Job{Op: "upper", Text: "small"})
		require.NoError(t, err)
		require.Equal(t, "SMALL", r.Text)
	})
	t.Run("a result the child cannot encode fails its task only", func(t *testing.T) {
		p := newPool(t, "echo", proc.Options{}, pool.Options{MaxWorkers: 1})
		before, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		_, err = run(t, p, Job{Op: "badresult"})
		require.ErrorContains(t, err, "proc: child: cannot encode the result")
		after, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.Equal(t, before.PID, after.PID)
	})
}

func TestLifecycle(t *testing.T) {
	t.Run("Reload replaces every child", func(t *testing.T) {
		ev := newEvents()
		p := newPool(t, "echo", proc.Options{}, pool.Options{MaxWorkers: 2, MinWorkers: 2, OnEvent: ev.hook})
		ev.wait(t, pool.WorkerStarted, 2)
		old := children(t)
		require.Len(t, old, 2)
		require.NoError(t, p.Reload(context.Background()))
		ev.wait(t, pool.WorkerExited, 2) // sent after each old worker's Close returned
		for _, pid := range old {
			requireGone(t, pid)
		}
		r, err := run(t, p, Job{Op: "pid"})
		require.NoError(t, err)
		require.NotContains(t, old, r.PID)
		require.Len(t, children(t), 2)
	})
	t.Run("Close stops and reaps every child", func(t *testing.T) {
		ev := newEvents()
		p, err := pool.New(proc.Factory[Job, Reply](proc.Self("echo"), proc.Options{}),
			pool.Options{MaxWorkers: 3, MinWorkers: 3, OnEvent: ev.hook})
		require.NoError(t, err)
		ev.wait(t, pool.WorkerStarted, 3)
		pids := children(t)
		require.Len(t, pids, 3)
		require.NoError(t, p.Close(context.Background()))
		for _, pid := range pids {
			requireGone(t, pid)
		}
		requireNoChildren(t)
	})
	t.Run("Close kills a child whose task ignores cancellation", func(t *testing.T) {
		out := newLines()
		p, err := pool.New(proc.Factory[Job, Reply](proc.Self("echo"), proc.Options{Output: out, Grace: 50 * time.Millisecond}),
			pool.Options{MaxWorkers: 1})
		require.NoError(t, err)
		errc := make(chan error, 1)
		go func() { _, err := p.Run(context.Background(), Job{Op: "ignore"}); errc <- err }()
		pid := pidOf(t, out.wait(t, "ignoring"))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var ce *pool.CloseError
		require.ErrorAs(t, p.Close(ctx), &ce)
		require.Empty(t, ce.Hung)
		require.ErrorIs(t, <-errc, proc.ErrUnresponsive)
		requireGone(t, pid)
		requireNoChildren(t)
	})
	t.Run("Serve refuses to run outside a process worker", func(t *testing.T) {
		err := proc.Serve(context.Background(), testFactory, proc.ServeOptions{})
		require.ErrorIs(t, err, proc.ErrNotWorker)
	})
	t.Run("invalid options fail at construction", func(t *testing.T) {
		require.PanicsWithError(t, "proc: Grace must be >= 0, got -1s", func() {
			proc.Factory[Job, Reply](proc.Self("echo"), proc.Options{Grace: -time.Second})
		})
		require.PanicsWithError(t, "proc: MaxRSS must be >= 0, got -1", func() {
			proc.Factory[Job, Reply](proc.Self("echo"), proc.Options{MaxRSS: -1})
		})
	})
}
