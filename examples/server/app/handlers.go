package app

import (
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

// hash serves POST /api/hash {"password": "..."} with a bcrypt hash.
func (a *App) hash(w http.ResponseWriter, r *http.Request) {
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	h, err := bcrypt.GenerateFromPassword([]byte(c.Password), a.cfg.BcryptCost)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"hash": string(h)})
}

// verify serves POST /api/verify {"password": "...", "hash": "..."}.
func (a *App) verify(w http.ResponseWriter, r *http.Request) {
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	err := bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte(c.Password))
	switch {
	case err == nil || errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		writeJSON(w, http.StatusOK, map[string]bool{"match": err == nil})
	default:
		writeError(w, http.StatusBadRequest, "invalid hash: "+err.Error())
	}
}

// readCredentials decodes and checks the JSON body; on failure it has
// answered with a 4xx.
func readCredentials(w http.ResponseWriter, r *http.Request) (credentials, bool) {
	var c credentials
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body must be at most %d bytes", maxJSONBytes))
			return c, false
		}
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
