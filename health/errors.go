package health

import "errors"

// Errors returned by the package. Probe failures are recorded in
// Status.LastError, wrapping these where one applies.
var (
	// ErrInvalidSpec wraps every ProbeSpec.Validate error.
	ErrInvalidSpec = errors.New("health: invalid probe")
	// ErrNoAddress is returned by Manager.Set for a backend without a
	// network address (one that answers by itself).
	ErrNoAddress = errors.New("health: backend has no network address to probe")
	// ErrStopped is returned by Manager.Set after Manager.Stop.
	ErrStopped = errors.New("health: manager stopped")

	// ErrUnexpectedStatus: the status line carried another status.
	ErrUnexpectedStatus = errors.New("health: unexpected status")
	// ErrMalformedStatusLine: the response did not start with an
	// HTTP/1.x status line.
	ErrMalformedStatusLine = errors.New("health: malformed status line")
	// ErrNoStatusLine: the backend closed the connection before sending a
	// status line.
	ErrNoStatusLine = errors.New("health: connection closed before the status line")
	// ErrTimeout: the status line did not arrive within the probe's timeout.
	ErrTimeout = errors.New("health: probe timed out")
)
