package admin

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"

	"github.com/shellac-lb/shellac/directors"
)

// putBackend: PUT /backends/{name}, body the backend table as JSON with
// the TOML key names. 201 with the backend's status when it is new, 200
// when it was updated.
func (s *Server) putBackend(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var fields map[string]any
	if !decodeJSON(w, data, &fields, false) {
		return
	}
	if fields == nil {
		writeError(w, http.StatusBadRequest, "malformed JSON body: want an object (the backend table), got null")
		return
	}
	_, existed := s.ctl.View().Table.Backends[name]
	if err := s.ctl.PutBackend(name, fields); err != nil {
		s.writeErr(w, err, http.StatusBadRequest)
		return
	}
	s.log.Info("admin: backend set", "backend", name, "new", !existed)
	v := s.ctl.View()
	b := v.Table.Backends[name]
	if b == nil {
		writeError(w, http.StatusInternalServerError, "backend %q vanished after it was set", name)
		return
	}
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	writeJSON(w, status, backendStatus(v, name, b))
}

// deleteBackend: DELETE /backends/{name}.
func (s *Server) deleteBackend(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.ctl.DeleteBackend(name); err != nil {
		s.writeErr(w, err, http.StatusConflict)
		return
	}
	s.log.Info("admin: backend removed; draining", "backend", name)
	writeJSON(w, http.StatusOK, map[string]any{"removed": name, "draining": true})
}

// postHealth: POST /backends/{name}/health, {"state":"sick"|"healthy"|"auto"}.
func (s *Server) postHealth(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		State *string `json:"state"`
	}
	if !decodeJSON(w, data, &body, true) {
		return
	}
	if body.State == nil {
		writeError(w, http.StatusBadRequest, `missing "state": want "sick", "healthy" or "auto"`)
		return
	}
	var st directors.AdminState
	switch *body.State {
	case "auto":
		st = directors.AdminAuto
	case "healthy":
		st = directors.AdminHealthy
	case "sick":
		st = directors.AdminSick
	default:
		writeError(w, http.StatusBadRequest, `state %q: want "sick", "healthy" or "auto"`, *body.State)
		return
	}
	if err := s.ctl.SetHealth(name, st); err != nil {
		s.writeErr(w, err, http.StatusBadRequest)
		return
	}
	s.log.Info("admin: backend health set", "backend", name, "state", st.String())
	v := s.ctl.View()
	if b := v.Table.Backends[name]; b != nil {
		writeJSON(w, http.StatusOK, backendStatus(v, name, b))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"backend": name, "admin_state": st.String()})
}

// putMember: PUT /directors/{name}/members/{member}, optional body
// {"weight": 2.0}.
func (s *Server) putMember(w http.ResponseWriter, r *http.Request) {
	dname, member := r.PathValue("name"), r.PathValue("member")
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var body struct {
		Weight *json.Number `json:"weight"`
	}
	if len(bytes.TrimSpace(data)) > 0 && !decodeJSON(w, data, &body, true) {
		return
	}
	weight := 0.0
	if body.Weight != nil {
		f, err := body.Weight.Float64()
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			writeError(w, http.StatusBadRequest, "weight %s: want a number > 0", body.Weight.String())
			return
		}
		weight = f
	}
	if err := s.ctl.PutMember(dname, member, weight); err != nil {
		s.writeErr(w, err, http.StatusBadRequest)
		return
	}
	s.log.Info("admin: director member set", "director", dname, "member", member, "weight", weight)
	s.answerDirector(w, dname)
}

// deleteMember: DELETE /directors/{name}/members/{member}.
func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) {
	dname, member := r.PathValue("name"), r.PathValue("member")
	if err := s.ctl.DeleteMember(dname, member); err != nil {
		s.writeErr(w, err, http.StatusConflict)
		return
	}
	s.log.Info("admin: director member removed", "director", dname, "member", member)
	s.answerDirector(w, dname)
}

func (s *Server) answerDirector(w http.ResponseWriter, name string) {
	v := s.ctl.View()
	d := v.Table.Directors[name]
	if d == nil {
		writeError(w, http.StatusInternalServerError, "director %q vanished after the change", name)
		return
	}
	writeJSON(w, http.StatusOK, directorStatus(v.Config, name, d))
}

// postReload: POST /reload. A configuration with errors is answered 422
// with every error (FILE:LINE:COL: message); the running one stays.
func (s *Server) postReload(w http.ResponseWriter, _ *http.Request) {
	if err := s.ctl.Reload(); err != nil {
		s.writeErr(w, err, http.StatusUnprocessableEntity)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"reloaded": true})
}

// getConfig: GET /config, the running configuration as TOML.
func (s *Server) getConfig(w http.ResponseWriter, _ *http.Request) {
	b, err := s.ctl.View().Config.TOML()
	if err != nil {
		s.writeErr(w, err, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/toml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
