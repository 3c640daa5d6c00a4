package channels

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/transforms/iis"
)

// iisDestination submits each message to a state IIS with the CDC SOAP
// submitSingleMessage operation and returns the registry's HL7 reply for
// the worker to classify with the destination's phrases.
type iisDestination struct {
	client *soap.Client
	rules  iis.Rules
}

var _ Destination = (*iisDestination)(nil)

func buildIISDestination(cfg DestinationConfig, _ zerolog.Logger) (Destination, error) {
	c, err := soap.NewClient(cfg.IIS.ClientConfig)
	if err != nil {
		return nil, err
	}
	return &iisDestination{client: c, rules: cfg.IIS.Classify}, nil
}

// Send submits payload. A SOAP fault is not retried by the queue: a
// SecurityFault retried can lock the registry account, and a message too
// large or an unsupported operation will not change. The exception is the
// IZ Gateway's DestinationConnectionFault: the hub could not reach the
// registry, which is as passing as a refused connection. A transport
// failure is retried by the queue when the SOAP client's own policy calls
// it passing (soap.TransportError.Retryable).
func (d *iisDestination) Send(ctx context.Context, payload []byte) ([]byte, bool, error) {
	r, err := d.client.Submit(ctx, payload)
	if err == nil {
		return r.Message, false, nil
	}
	var (
		fault *soap.Fault
		te    *soap.TransportError
	)
	switch {
	case errors.As(err, &fault):
		return nil, fault.Kind == soap.FaultDestinationConnection, err
	case errors.As(err, &te):
		return nil, te.Retryable, err
	}
	return nil, false, err // a request XML cannot carry: it will not change
}

// Ping runs the registry's connectivityTest with echo.
func (d *iisDestination) Ping(ctx context.Context, echo string) (string, error) {
	return d.client.ConnectivityTest(ctx, echo)
}

// classify classifies a registry reply with the destination's phrases.
func (d *iisDestination) classify(reply []byte) iis.Classification {
	return iis.ClassifyWith(reply, d.rules)
}

// Close drops the idle keep-alive connections.
func (d *iisDestination) Close(context.Context) error {
	d.client.CloseIdleConnections()
	return nil
}

// ClassifyReply classifies a reply as the worker would for destination d:
// with the iis destination's reject and warning phrases, or the default
// rules for other kinds. Channel tests use it to check a canned registry
// response.
func ClassifyReply(d DestinationConfig, reply []byte) iis.Classification {
	if d.IIS != nil {
		return iis.ClassifyWith(reply, d.IIS.Classify.WithDefaults())
	}
	return iis.Classify(reply)
}
