// CONTRACT FILE written by the lead; the store helper implements it in other
// files and may add, but not change, these names. The package documentation
// is in doc.go.

package store

import (
	"errors"
	"time"
)

// Status is where a message or one of its deliveries stands.
type Status string

// The status lifecycle. A message starts received; the pipeline moves it to
// filtered or queued; each destination then moves its delivery through sent
// to a verdict. The message's own status is the worst of its deliveries'.
const (
	StatusReceived             Status = "received"
	StatusFiltered             Status = "filtered"
	StatusQueued               Status = "queued"
	StatusSent                 Status = "sent"
	StatusAccepted             Status = "accepted"
	StatusAcceptedWithWarnings Status = "accepted_with_warnings"
	StatusRejected             Status = "rejected"
	StatusErrored              Status = "errored"
	StatusDeadLettered         Status = "dead_lettered"
)

// ID identifies a stored message. IDs grow with arrival order across restarts.
type ID uint64

// Config is the store's configuration (YAML key "storage").
type Config struct {
	// Path is the Badger directory, created 0700. Default "./var/store".
	Path string `yaml:"path"`
	// KeyFile holds the 32-byte encryption key (raw 32 bytes, or 64 hex
	// characters). Required unless CreateKey is set.
	KeyFile string `yaml:"key_file"`
	// CreateKey generates KeyFile (0600, 32 random bytes) when it does not
	// exist. The demo config sets it; production configs should not.
	CreateKey bool `yaml:"create_key"`
	// Retention applies to channels that do not set their own.
	Retention Retention `yaml:"retention"`
	// PruneInterval is how often the pruner runs. Default 1h.
	PruneInterval time.Duration `yaml:"prune_interval"`
	// CacheMB bounds Badger's block and index caches together, in MiB. Default 64.
	CacheMB int `yaml:"cache_mb"`
}

// Retention says how long a channel's messages are kept. Content (the
// message bytes of every stage) may go before metadata (status, indexes,
// error codes), which registry liaisons use for rejection reports.
type Retention struct {
	// Content is how long message bytes are kept. Default 720h (30 days).
	Content time.Duration `yaml:"content"`
	// Metadata is how long the record and its index entries are kept.
	// Default 2160h (90 days); never shorter than Content.
	Metadata time.Duration `yaml:"metadata"`
}

// Message is one stored message. Byte fields hold PHI: never log them.
type Message struct {
	ID         ID
	Channel    string
	Source     string // "mllp", "directory", "http", "reprocess"
	ReceivedAt time.Time
	ControlID  string // MSH-10
	Sender     string // MSH-4.1
	Type       string // MSH-9 wire text
	PatientRef string // keyed hash of the patient MRN (PID-3.1), for search and per-patient ordering
	Status     Status
	Raw        []byte // as received
	// Transformed is the message after filter and transforms; nil when it
	// equals Raw.
	Transformed []byte
	Deliveries  []Delivery
	// ParseError is set for messages stored although they did not parse
	// (position only, no content).
	ParseError string
	// ContentPruned reports that retention removed the byte fields.
	ContentPruned bool
}

// Delivery is one destination's handling of a message.
type Delivery struct {
	Destination string
	Status      Status
	Attempts    int
	LastError   string // never contains PHI
	NextAttempt time.Time
	SentAt      time.Time
	Sent        []byte   // payload as sent
	Response    []byte   // e.g. the registry's ACK
	ACKCode     string   // MSA-1 of the response
	ErrorCodes  []string // e.g. "0357:101", "0533:5", for search
	Return      bool     // this delivery is the return channel back to the EHR
}

// Query selects stored messages; zero fields do not constrain.
type Query struct {
	Channel    string
	ControlID  string
	Sender     string
	Type       string // prefix match on MSH-9 wire text, e.g. "VXU"
	PatientRef string
	Status     Status
	ACKCode    string
	ErrorCode  string
	Since      time.Time
	Until      time.Time
	After      ID  // page after this ID (results are newest first: IDs below After)
	Limit      int // default 100, at most 1000
}

// QueueItem is a message waiting for one destination.
type QueueItem struct {
	ID          ID
	Destination string
	PatientRef  string
	Attempts    int
	NextAttempt time.Time
	EnqueuedAt  time.Time
}

// Outgoing is a payload to enqueue for another destination in the same
// transaction as a Deliver: the return channel's message back to the EHR.
// Payload holds PHI: never log it.
type Outgoing struct {
	Destination string // queue name, "<channel>/return"
	Payload     []byte // bytes to send, stored as the return delivery's Sent
}

// Sentinel errors. Their text and every error the store returns carry
// positions and names only, never message content.
var (
	// ErrNotFound means no message with that ID is stored (never was, or
	// retention removed it), or the queue item does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate means Commit found the same Channel+Sender+ControlID within
	// the dedupe window; Commit returns the earlier message's ID with it.
	ErrDuplicate = errors.New("store: duplicate message")
	// ErrClosed means the Store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrWrite wraps a failure to persist (disk full, I/O error, conflicts
	// that did not resolve). Nothing of the failed call was stored; the engine
	// answers AR so the sender retries.
	ErrWrite = errors.New("store: write failed")
	// ErrInvalid means an argument was unusable (empty channel, unknown
	// status, empty or repeated destination).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrTooLarge means one call's writes exceed what a single Badger
	// transaction can hold.
	ErrTooLarge = errors.New("store: message too large")
	// ErrPruned means retention already removed the message bytes, so the
	// message cannot be sent again.
	ErrPruned = errors.New("store: message content pruned")
	// ErrCorrupt means a stored record could not be decoded.
	ErrCorrupt = errors.New("store: corrupt record")
	// ErrKeyFile means the encryption key file is missing, unreadable or
	// malformed. The wrapping error names the file, never the key.
	ErrKeyFile = errors.New("store: key file")
	// ErrKeyMismatch means the data directory was written with another key.
	ErrKeyMismatch = errors.New("store: encryption key does not match the data directory")
)
