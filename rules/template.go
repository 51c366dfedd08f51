package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// varKind is a template variable.
type varKind uint8

const (
	varLiteral varKind = iota
	varClientIP
	varHost
	varPath
	varQuery
	varURI
	varMethod
	varScheme
	varClientCert
	varRequestID
	varBackend
	varStatus
	varHeader
	varQueryParam
	varCookie
)

var varNames = map[string]varKind{
	"client_ip":   varClientIP,
	"host":        varHost,
	"path":        varPath,
	"query":       varQuery,
	"uri":         varURI,
	"method":      varMethod,
	"scheme":      varScheme,
	"client_cert": varClientCert,
	"request_id":  varRequestID,
	"backend":     varBackend,
	"status":      varStatus,
}

// seg is a piece of a template: literal text or a variable.
type seg struct {
	kind varKind
	text string // the literal, or the header/parameter/cookie name
}

// template is a compiled value template: text with %{var} references
// (%% is a literal %).
type template struct {
	segs   []seg
	static bool // no variables: segs[0] (if any) is the whole value
}

// parseTemplate compiles s. Variables available only on responses
// (backend, status) are refused on requests.
func parseTemplate(s string, ph Phase) (template, error) {
	var t template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.segs = append(t.segs, seg{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return template{}, fmt.Errorf("control character %q in %q", c, s)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			return template{}, fmt.Errorf("%q: a %% starts a variable (%%{path}) or is doubled (%%%%)", s)
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return template{}, fmt.Errorf("%q: unclosed %%{", s)
		}
		name := s[i+2 : i+end]
		var sg seg
		if k, ok := varNames[name]; ok {
			sg.kind = k
		} else if kind, arg, ok := strings.Cut(name, ":"); ok && arg != "" && ((kind == "header" || kind == "cookie") && isToken(arg) || kind == "query" && isVisible(arg)) {
			sg.kind = map[string]varKind{"header": varHeader, "query": varQueryParam, "cookie": varCookie}[kind]
			sg.text = arg
		} else {
			return template{}, fmt.Errorf("%q: unknown variable %%{%s} (known: client_ip, host, path, query, uri, method, scheme, request_id, backend, status, header:NAME, query:NAME, cookie:NAME)", s, name)
		}
		if ph == PhaseRequest && (sg.kind == varBackend || sg.kind == varStatus) {
			return template{}, fmt.Errorf("%q: %%{%s} is known only in response rules", s, name)
		}
		flush()
		t.segs = append(t.segs, sg)
		i += end
	}
	flush()
	t.static = len(t.segs) == 0 || len(t.segs) == 1 && t.segs[0].kind == varLiteral
	return t, nil
}

// isVisible reports whether s is made of visible ASCII only (a query
// parameter's name may hold any of them, but never a control character or
// a space, which could not appear in a request line).
func isVisible(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// append appends the template's value for c to dst.
func (t *template) append(dst []byte, c *Ctx) []byte {
	for i := range t.segs {
		sg := &t.segs[i]
		switch sg.kind {
		case varLiteral:
			dst = append(dst, sg.text...)
		case varClientIP:
			dst = append(dst, c.ClientIPText...)
		case varHost:
			dst = append(dst, c.Req.Host...)
		case varPath:
			dst = append(dst, c.Req.Path...)
		case varQuery:
			dst = append(dst, c.Req.Query...)
		case varURI:
			dst = append(dst, c.Req.Path...)
			if c.Req.Query != nil {
				dst = append(dst, '?')
				dst = append(dst, c.Req.Query...)
			}
		case varMethod:
			dst = append(dst, c.Req.Method...)
		case varScheme:
			if c.TLS {
				dst = append(dst, "https"...)
			} else {
				dst = append(dst, "http"...)
			}
		case varClientCert:
			dst = append(dst, c.ClientCert...)
		case varRequestID:
			dst = append(dst, c.RequestID...)
		case varBackend:
			dst = append(dst, c.Backend...)
		case varStatus:
			dst = strconv.AppendInt(dst, int64(c.Status), 10)
		case varHeader:
			v, _ := c.header(sg.text)
			dst = append(dst, v...)
		case varQueryParam:
			dst = append(dst, c.Req.QueryValue(sg.text)...)
		case varCookie:
			dst = append(dst, c.Req.Cookie(sg.text)...)
		}
	}
	return dst
}
