package store_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/iisync/iisync/channels/store"
	"github.com/rs/zerolog"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "iisync-store")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	st, err := store.Open(store.Config{
		Path:      filepath.Join(dir, "store"),
		KeyFile:   filepath.Join(dir, "store.key"),
		CreateKey: true, // demo only: production keys are provisioned
	}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	defer st.Close()

	m := &store.Message{
		Channel: "vxu", Source: "mllp", ControlID: "MSG0001", Sender: "CLINIC1",
		Type: "VXU^V04^VXU_V04", Raw: []byte("MSH|^~\\&|EHR|CLINIC1|...\r"),
	}
	id, err := st.Commit(m, []string{"vxu/iis"}, 0)
	if err != nil {
		panic(err)
	}
	depth, _ := st.QueueDepth("vxu/iis")
	fmt.Println("committed", id, m.Status, "depth", depth)

	err = st.Deliver(id, "vxu/iis", store.Delivery{Status: store.StatusAccepted, ACKCode: "AA"}, nil)
	if err != nil {
		panic(err)
	}
	found, _ := st.Search(store.Query{Sender: "CLINIC1", Status: store.StatusAccepted})
	fmt.Println("found", len(found), found[0].ControlID, found[0].Status)
	// Output:
	// committed 1 queued depth 1
	// found 1 MSG0001 accepted
}
