package console

import (
	"errors"
	"io"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
)

// TryResponse is the answer of POST /api/channels/{channel}/try: what the
// channel would do with the message, computed without storing or sending
// it. It holds message content.
type TryResponse struct {
	Channel string `json:"channel"`
	*channels.TryResult
	// Transformed is the message after the steps; ACK is what the sender
	// would be answered. HL7 segments end in "\r".
	Transformed string `json:"transformed,omitempty"`
	ACK         string `json:"ack,omitempty"`
}

// try is the transform playground: the body is one HL7 message (any
// content type); the answer shows the outcome, the transformed message,
// what changed field by field, the validation findings and the ACK. It is
// an access to PHI (the caller's own test message), so it is audited.
func (s *Server) try(w http.ResponseWriter, r *http.Request, c caller) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, bodyStatus(err), bodyError(err))
		return
	}
	if len(raw) == 0 {
		writeError(w, http.StatusBadRequest, "body: one HL7 message expected")
		return
	}
	ch := r.PathValue("channel")
	res, err := s.eng.Try(r.Context(), ch, raw)
	if errors.Is(err, channels.ErrUnknownChannel) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, "try", err)
		return
	}
	s.audit(r, c, 0, "try", func(e *zerolog.Event) { e.Str("channel", ch).Str("outcome", res.Outcome) })
	writeJSON(w, http.StatusOK, TryResponse{Channel: ch, TryResult: res, Transformed: string(res.Transformed), ACK: string(res.ACK)})
}
