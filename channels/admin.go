package channels

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/store"
)

// sourceReprocess is the Source of a message stored by Reprocess.
const sourceReprocess = "reprocess"

// ChannelInfo describes a running channel for the API.
type ChannelInfo struct {
	Name string
	// Source is the source kind: "mllp", "directory" or "http".
	Source string
	// Address is the MLLP listen address (the bound one), the directory or
	// the HTTP path.
	Address      string
	Destinations []DestinationInfo
}

// DestinationInfo describes one destination queue of a channel.
type DestinationInfo struct {
	Name   string // "return" for the return channel
	Queue  string // "<channel>/<name>"
	Depth  int    // items waiting; -1 when the store could not say
	Paused bool   // queueing without delivering (paused: true)
}

// Channels lists the running channels in configuration order.
func (e *Engine) Channels() []ChannelInfo {
	e.mu.Lock()
	cfg, pipes, lis := e.cfg, e.pipes, e.lis
	e.mu.Unlock()
	var out []ChannelInfo
	for _, ch := range cfg.Channels {
		p := pipes[ch.Name]
		if p == nil {
			continue
		}
		info := ChannelInfo{Name: ch.Name, Source: sourceKind(ch.Source)}
		switch s := ch.Source; {
		case s.MLLP != nil:
			info.Address = s.MLLP.Addr
			if l := lis[listenKey(ch.Name, s.MLLP.Addr)]; l != nil {
				info.Address = l.addr()
			}
		case s.Directory != nil:
			info.Address = s.Directory.Path
		case s.HTTP != nil:
			info.Address = s.HTTP.Path
		}
		names := make([]string, 0, len(ch.Destinations)+1)
		paused := map[string]bool{}
		for _, d := range ch.Destinations {
			names = append(names, d.Name)
			paused[d.Name] = d.Paused
		}
		if ch.Return != nil {
			names = append(names, returnName)
		}
		for _, n := range names {
			q := queueName(ch.Name, n)
			depth, err := e.st.QueueDepth(q)
			if err != nil {
				depth = -1
			}
			info.Destinations = append(info.Destinations, DestinationInfo{Name: n, Queue: q, Depth: depth, Paused: paused[n]})
		}
		out = append(out, info)
	}
	return out
}

// Reprocess runs the stored message id again through its channel's current
// filter and transforms and stores the result as a new message (Source
// "reprocess", never deduplicated), queued for the channel's destinations.
// It returns the new message's ID; its status tells the outcome (queued,
// filtered or errored). The channel must be running.
func (e *Engine) Reprocess(ctx context.Context, id store.ID) (store.ID, error) {
	msg, p, err := e.lookup(id)
	if err != nil {
		return 0, fmt.Errorf("reprocess: %w", err)
	}
	if msg.ContentPruned || msg.Raw == nil {
		return 0, fmt.Errorf("reprocess: %w", errNoContent)
	}
	r := e.receive(ctx, p, msg.Raw, sourceReprocess)
	if r.verdict == verdictUnavailable {
		return 0, fmt.Errorf("reprocess: %w", errNotStored)
	}
	return r.id, nil
}

// Resend puts the stored message id back on the queues of the named
// destinations of its channel (all of them when none are named; "return"
// names the return queue) and wakes their workers.
func (e *Engine) Resend(ctx context.Context, id store.ID, destinations []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, p, err := e.lookup(id)
	if err != nil {
		return fmt.Errorf("resend: %w", err)
	}
	if len(destinations) == 0 {
		for _, d := range p.cfg.Destinations {
			destinations = append(destinations, d.Name)
		}
	}
	queues := make([]string, 0, len(destinations))
	for _, d := range destinations {
		d = strings.TrimPrefix(d, p.name()+"/")
		_, known := p.destination(d)
		if !known && (d != returnName || p.cfg.Return == nil) {
			return fmt.Errorf("resend: channel %q has no destination %q", msg.Channel, d)
		}
		queues = append(queues, queueName(p.name(), d))
	}
	if err := e.st.Requeue(id, queues); err != nil {
		return fmt.Errorf("resend: %w", err)
	}
	for _, q := range queues {
		e.notify(q)
	}
	e.log.Info().Str("channel", p.name()).Uint64("id", uint64(id)).Str("control_id", msg.ControlID).
		Strs("destinations", destinations).Msg("requeued")
	return nil
}

// errNotRunning means the message's channel is not in the running config.
var errNotRunning = errors.New("channels: the message's channel is not running")

// lookup loads message id and its channel's running pipeline.
func (e *Engine) lookup(id store.ID) (*store.Message, *pipeline, error) {
	e.mu.Lock()
	state := e.state
	e.mu.Unlock()
	if state == stateClosed {
		return nil, nil, ErrClosed
	}
	msg, err := e.st.Get(id)
	if err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	p := e.pipes[msg.Channel]
	e.mu.Unlock()
	if p == nil {
		return nil, nil, errNotRunning
	}
	return msg, p, nil
}

// ErrUnknownChannel means no running channel has the name.
var ErrUnknownChannel = errors.New("channels: no such running channel")

// ErrNoDestination means no running channel has the named destination.
var ErrNoDestination = errors.New("channels: no such destination in a running channel")

// ErrNoPing means the destination cannot be pinged: it is not an IIS
// (SOAP) destination.
var ErrNoPing = errors.New("channels: destination has no connectivity test (not an iis destination)")

// pinger is a destination with a connectivity test.
type pinger interface {
	Ping(ctx context.Context, echo string) (string, error)
}

// Ping runs the connectivity test of destination dest of channel (the
// Sync Registry's Ping button) and returns the registry's echo. Errors:
// ErrNoDestination (unknown channel or destination, or the return queue);
// ErrNoPing for a destination that is not an IIS; the SOAP client's
// *soap.Fault or *soap.TransportError otherwise.
func (e *Engine) Ping(ctx context.Context, channel, dest, echo string) (string, error) {
	w, err := e.destinationWorker(channel, dest)
	if err != nil {
		return "", err
	}
	p, ok := w.d.(pinger)
	if !ok {
		return "", ErrNoPing
	}
	return p.Ping(ctx, echo)
}

// destinationWorker is the running worker of destination dest of channel
// (not the return queue), or ErrNoDestination.
func (e *Engine) destinationWorker(channel, dest string) (*worker, error) {
	w := (*e.workers.Load())[queueName(channel, dest)]
	if w == nil || w.isReturn {
		return nil, fmt.Errorf("%w: %q/%q", ErrNoDestination, channel, dest)
	}
	return w, nil
}

// PingDestination builds the destination cfg describes, runs its
// connectivity test and closes it: `iisync ping` without a running engine.
func PingDestination(ctx context.Context, cfg DestinationConfig, echo string) (string, error) {
	d, err := buildDestination(cfg, zerolog.Nop())
	if err != nil {
		return "", err
	}
	defer d.Close(ctx)
	p, ok := d.(pinger)
	if !ok {
		return "", ErrNoPing
	}
	return p.Ping(ctx, echo)
}
