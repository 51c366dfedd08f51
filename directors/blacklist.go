package directors

import "time"

// Blacklister is a director that can blacklist a (backend, object) pair
// after a failed try, as Varnish's vmod_saintmode does from
// vcl_backend_response.
type Blacklister interface {
	Director
	// Blacklist marks b as sick for r's object (r.Digest()) until now+ttl.
	Blacklist(r *Request, b *Backend, ttl time.Duration, now int64)
}

// Blacklist reports a failed try of r on b to every director on r's last
// resolution path that keeps a blacklist (saintmode), for ttl.
func Blacklist(r *Request, b *Backend, ttl time.Duration, now int64) {
	for _, d := range r.Path() {
		if bl, ok := d.(Blacklister); ok {
			bl.Blacklist(r, b, ttl, now)
		}
	}
}
