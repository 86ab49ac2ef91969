package app

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/crewkit/crew/examples/internal/cpuwork"
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
	if a.procs != nil {
		out, ok := a.remote(w, r, Job{Kind: jobDigest, Seed: []byte(seed), Rounds: rounds})
		if ok {
			writeJSON(w, http.StatusOK, map[string]any{"rounds": rounds, "digest": hex.EncodeToString(out.Digest)})
		}
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
	out, ok := a.work(w, r, Job{Kind: jobHash, Password: c.Password, Cost: a.cfg.BcryptCost})
	if ok {
		writeJSON(w, http.StatusOK, map[string]string{"hash": string(out.Hash)})
	}
}

// verify serves POST /api/verify {"password": "...", "hash": "..."}, reading
// the body as hash does.
func (a *App) verify(w http.ResponseWriter, r *http.Request) {
	c, ok := a.readCredentials(w, r)
	if !ok {
		return
	}
	// The comparison's own error is a result, not a failure of the work.
	out, ok := a.work(w, r, Job{Kind: jobVerify, Password: c.Password, Hash: c.Hash})
	switch {
	case !ok:
	case out.Invalid != "":
		writeError(w, http.StatusBadRequest, out.Invalid)
	default:
		writeJSON(w, http.StatusOK, map[string]bool{"match": out.Match})
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
