package store

import (
	"reflect"
	"testing"
	"time"
)

func TestRecordCodec(t *testing.T) {
	at := time.Unix(0, 1_736_000_000_123_456_789)
	tests := []struct {
		name string
		m    Message
	}{
		{"empty", Message{}},
		{"full", Message{
			ID: 1 << 40, Channel: "vxu", Source: "mllp", ReceivedAt: at, ControlID: "C1", Sender: "CLINIC1",
			Type: "VXU^V04^VXU_V04", PatientRef: "abcd", Status: StatusRejected, ParseError: "PID[1]-7: bad date",
			ContentPruned: true,
			Deliveries: []Delivery{
				{Destination: "vxu/iis", Status: StatusRejected, Attempts: 3, LastError: "x", NextAttempt: at, SentAt: at,
					ACKCode: "AE", ErrorCodes: []string{"0357:101", "0533:5"}},
				{Destination: "vxu/return", Status: StatusQueued, Return: true},
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeRecord(nil, &tc.m)
			var got Message
			if err := decodeRecord(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.m) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.m)
			}
			for i := range b {
				var m Message
				_ = decodeRecord(b[:i], &m) // truncated input must not panic
			}
		})
	}
	q := queueValue{PatientRef: "p", Attempts: 2, NextAttempt: at, EnqueuedAt: at}
	if got, err := decodeQueue(encodeQueue(q)); err != nil || !reflect.DeepEqual(got, q) {
		t.Errorf("queue round trip: %+v %v", got, err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(nil, &Message{ID: 7, Channel: "c", Deliveries: []Delivery{{Destination: "d", ErrorCodes: []string{"e"}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if decodeRecord(b, &m) == nil {
			if again := encodeRecord(nil, &m); decodeRecord(again, &Message{}) != nil {
				t.Fatal("re-encoded record does not decode")
			}
		}
	})
}
