// Command customdirector is shellac with one more director type, canary,
// added from outside shellac's packages through the public extension API:
// the type is written against package directors only, registered with
// directors.Register from an init function, named in the TOML file as
// type = "canary" with its own option, checked with its line numbers like
// any option, and served by the same calls cmd/shellac makes (config.Load,
// app.New, App.Run). See docs/writing-a-director.md.
//
//	go run ./examples/customdirector -config examples/customdirector/canary.toml
//	go run ./examples/customdirector -check -config examples/customdirector/canary.toml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync/atomic"

	"github.com/shellac-lb/shellac/app"
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/directors"
)

// Canary sends a fixed percentage of the requests to its last member, the
// canary, and the rest round-robin to the others. The requests it sends to
// the canary are spread evenly (with percent = 25, every fourth request),
// not drawn at random, so a test can count them. When the canary is sick,
// everything goes to the others, and the other way round.
type Canary struct {
	directors.Set
	name    string
	percent float64
	n       atomic.Uint64 // requests resolved
	rr      atomic.Uint64 // round-robin cursor over the stable members
}

// NewCanary returns an empty canary director sending percent (0..100) of
// the requests to its last member.
func NewCanary(name string, percent float64) *Canary {
	d := &Canary{name: name, percent: percent}
	d.SetOwner(d)
	return d
}

// newCanary is the factory directors.Register gets. Its one option:
//
//	percent = 5.0   # share of the requests for the last member, 0..100
func newCanary(name string, o *directors.Options) (directors.Cluster, error) {
	p, err := o.Float("percent", 5)
	if err == nil && (p < 0 || p > 100) {
		err = o.Errorf("percent", "%v is not in 0..100", p)
	}
	if err != nil {
		return nil, err
	}
	return NewCanary(name, p), nil
}

func init() {
	directors.Register("canary", newCanary)
}

// Name returns the director's name.
func (d *Canary) Name() string { return d.name }

// Healthy reports whether any member is healthy for r.
func (d *Canary) Healthy(r *directors.Request) bool { return d.Load().AnyHealthy(r) }

// Resolve returns the canary for percent of the requests and a stable
// member for the others, each falling back to the other side.
func (d *Canary) Resolve(r *directors.Request) directors.Member {
	ms := d.Load().Members
	if len(ms) == 0 {
		return nil
	}
	canary, stable := ms[len(ms)-1], ms[:len(ms)-1]
	k := float64(d.n.Add(1) - 1)
	// Request k is the canary's when the running count of canary
	// requests, k × percent / 100, steps up.
	toCanary := math.Floor((k+1)*d.percent/100) > math.Floor(k*d.percent/100)
	if toCanary && canary.Healthy(r) {
		return canary
	}
	if n := uint64(len(stable)); n > 0 {
		start := d.rr.Add(1) - 1
		for i := range n {
			if m := stable[(start+i)%n]; m.Healthy(r) {
				return m
			}
		}
	}
	if canary.Healthy(r) {
		return canary
	}
	return nil
}

var _ directors.Cluster = (*Canary)(nil)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("customdirector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "canary.toml", "configuration file")
	check := fs.Bool("check", false, "validate the configuration and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printErrors(stdout, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	a, err := app.New(cfg, *path, log)
	if err != nil {
		printErrors(stdout, err)
		return 1
	}
	if *check {
		fmt.Fprintln(stdout, "ok")
		return 0
	}
	if err := a.Run(context.Background()); err != nil { // SIGTERM/SIGINT drain, SIGHUP reloads
		fmt.Fprintf(stderr, "customdirector: %v\n", err)
		return 1
	}
	return 0
}

// printErrors prints configuration errors one per line, as FILE:LINE:COL:
// message.
func printErrors(w io.Writer, err error) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintln(w, err.Error())
}
