package channels

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

// mllpDestination sends each payload over one persistent MLLP connection
// (mllp.Sender) and checks that the reply acknowledges that payload.
type mllpDestination struct {
	sender *mllp.Sender
	addr   string
	log    zerolog.Logger
}

// buildMLLPDestination is the component table's constructor for "mllp".
func buildMLLPDestination(cfg DestinationConfig, log zerolog.Logger) (Destination, error) {
	return newMLLPDestination(*cfg.MLLP, log)
}

// newMLLPDestination returns a destination for cfg. It does no I/O: the
// sender reads its TLS files and dials on the first Send.
func newMLLPDestination(cfg mllp.SenderConfig, log zerolog.Logger) (*mllpDestination, error) {
	s, err := mllp.NewSender(cfg, log)
	if err != nil {
		return nil, err
	}
	return &mllpDestination{sender: s, addr: cfg.Addr, log: log}, nil
}

// Send delivers payload and returns the peer's ACK payload.
//
// The reply must be an HL7 message with an MSA whose MSA-2 is the payload's
// MSH-10 (hl7.CheckACK). A different MSA-2 means the connection is out of
// step (a late ACK to an earlier message): the sender drops the connection
// and Send reports an error with retry true. An empty MSA-2 is accepted,
// because some registries omit it (see iis-domain.md §5.2, CO) and the
// sender has one message in flight per connection and discards stale
// replies, so the reply can only be ours. A reply that is not an HL7 ACK at
// all is an error with retry false: sending again would get the same answer
// from a misconfigured peer.
//
// Transport failures (refused, reset, closed before the reply, no reply
// within ack_timeout, ctx ended) have retry true, except a server
// certificate that does not verify.
func (d *mllpDestination) Send(ctx context.Context, payload []byte) ([]byte, bool, error) {
	m, err := hl7.Parse(payload)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrPayloadNotHL7, err)
	}
	controlID := m.ControlID()
	var notACK bool
	reply, err := d.sender.Send(ctx, payload, func(reply []byte) error {
		err := verifyACK(reply, controlID)
		notACK = err != nil && !errors.Is(err, hl7.ErrControlIDMismatch)
		return err
	})
	switch {
	case err == nil:
		return reply, false, nil
	case notACK:
		return nil, false, fmt.Errorf("mllp %s: %w: %w", d.addr, ErrReplyNotACK, err)
	case errors.Is(err, mllp.ErrReplyRejected):
		return nil, true, fmt.Errorf("mllp %s: %w", d.addr, err) // MSA-2 mismatch: out of step
	case errors.Is(err, mllp.ErrFrameTooLarge):
		return nil, false, fmt.Errorf("mllp %s: %w: %w", d.addr, ErrReplyTooLarge, err)
	case errors.Is(err, mllp.ErrInvalidPayload):
		return nil, false, err
	default:
		return nil, retryableTransport(err), err
	}
}

// verifyACK checks that reply is an acknowledgement of controlID (or of no
// control ID in particular: an empty MSA-2).
func verifyACK(reply []byte, controlID string) error {
	_, err := hl7.CheckACK(reply, controlID)
	if !errors.Is(err, hl7.ErrControlIDMismatch) {
		return err
	}
	m, perr := hl7.Parse(reply)
	if perr != nil {
		return err
	}
	if msa, ok := m.Segment("MSA", 1); ok && msa.Field(2).String() == "" {
		return nil
	}
	return err
}

// Close closes the connection; a Send in flight fails with mllp.ErrClosed.
func (d *mllpDestination) Close(context.Context) error {
	return d.sender.Close()
}
