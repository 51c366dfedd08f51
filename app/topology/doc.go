// Package topology builds the live form of a configuration from a
// config.Config: the backends, the director tree and the routing table
// (package route). app swaps the result into the proxy atomically. It is
// the control plane's side of the table: nothing on the request path
// imports it, and it imports the configuration so that the data plane
// need not.
package topology
