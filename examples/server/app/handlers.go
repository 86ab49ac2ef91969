package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/crewkit/crew/examples/internal/cpuwork"
	"golang.org/x/crypto/bcrypt"
)

// maxJSONBytes bounds the bodies of the JSON endpoints.
const maxJSONBytes = 64 << 10

// digest serves GET /api/digest?rounds=N&seed=S: iterated SHA-256, a pure
// computation whose cost the client chooses.
func (a *App) digest(w http.ResponseWriter, r *http.Request) {
	rounds, err := intParam(r, "rounds", 100_000, 1, cpuwork.MaxRounds)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	seed := r.URL.Query().Get("seed")
	if len(seed) > 1024 {
		writeError(w, http.StatusBadRequest, "seed must be at most 1024 bytes")
		return
	}
	sum, err := cpuwork.Digest(r.Context(), []byte(seed), rounds)
	if err != nil {
		return // the client left or the deadline passed: the middleware answers
	}
	writeJSON(w, http.StatusOK, map[string]any{"rounds": rounds, "digest": hex.EncodeToString(sum[:])})
}

// credentials is the body of /api/hash and /api/verify.
type credentials struct {
	Password string `json:"password"`
	Hash     string `json:"hash,omitempty"`
}

// hash serves POST /api/hash {"password": "..."} with a bcrypt hash. The
// body is read and checked on the request goroutine; only bcrypt runs on the
// pool.
func (a *App) hash(w http.ResponseWriter, r *http.Request) {
	c, ok := a.readCredentials(w, r)
	if !ok {
		return
	}
	h, err := compute(r.Context(), a, func(context.Context) ([]byte, error) {
		return bcrypt.GenerateFromPassword([]byte(c.Password), a.cfg.BcryptCost)
	})
	if err != nil {
		a.writeComputeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"hash": string(h)})
}

// verify serves POST /api/verify {"password": "...", "hash": "..."}, reading
// the body as hash does.
func (a *App) verify(w http.ResponseWriter, r *http.Request) {
	c, ok := a.readCredentials(w, r)
	if !ok {
		return
	}
	// The comparison's own error is a result, not a failure of the work.
	cmp, err := compute(r.Context(), a, func(context.Context) (error, error) {
		return bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte(c.Password)), nil
	})
	switch {
	case err != nil:
		a.writeComputeError(w, r, err)
	case cmp == nil || errors.Is(cmp, bcrypt.ErrMismatchedHashAndPassword):
		writeJSON(w, http.StatusOK, map[string]bool{"match": cmp == nil})
	default:
		writeError(w, http.StatusBadRequest, "invalid hash: "+cmp.Error())
	}
}

// readCredentials reads and checks the JSON body on the request goroutine;
// on failure it has answered with a 4xx.
func (a *App) readCredentials(w http.ResponseWriter, r *http.Request) (credentials, bool) {
	var c credentials
	data, ok := a.readBody(w, r, maxJSONBytes)
	if !ok {
		return c, false
	}
	if err := decodeJSON(data, &c); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return c, false
	}
	if len(c.Password) == 0 || len(c.Password) > 72 {
		writeError(w, http.StatusBadRequest, "password must be 1 to 72 bytes")
		return c, false
	}
	return c, true
}

// intParam parses the query parameter name, def when absent, and checks
// that it is in [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer between %d and %d, got %q", name, lo, hi, s)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
