package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/crewkit/crew/proc"
)

// A server whose CPU work runs in child processes. The children are this
// binary started again in app.WorkerRole; its main (here TestMain) checks
// for the role before anything else and calls app.ServeWorker.
func ExampleNew_processWorkers() {
	a, err := app.New(app.Config{Mode: app.ModeProc, Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/digest?rounds=1&seed=", nil))
	body, _ := io.ReadAll(w.Result().Body)
	fmt.Print(w.Code, " ", string(body))
	// Output: 200 {"digest":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","rounds":1}
}

// ServeWorker refuses to run in a process that a pool did not start, so
// that a server started by hand never mistakes itself for a worker.
func ExampleServeWorker() {
	err := app.ServeWorker(context.Background())
	fmt.Println(errors.Is(err, proc.ErrNotWorker))
	// Output: true
}
