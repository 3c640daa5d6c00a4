package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/console"
)

// TestTryAPI: POST /api/channels/{channel}/try answers what the channel
// would do with the message, stores nothing, and audits the access.
func TestTryAPI(t *testing.T) {
	f := newFixture(t, "", true)
	var got console.TryResponse
	code, _ := f.call(t, http.MethodPost, "/api/channels/vxu-in/try", "", vxu("TRY-1", "PAT123"), &got)
	if code != http.StatusOK || got.Outcome != "queued" || got.Channel != "vxu-in" || !strings.Contains(got.ACK, "MSA|AA|TRY-1") || got.Transformed == "" {
		t.Errorf("try: %d %+v", code, got)
	}
	if found, err := f.st.Search(store.Query{ControlID: "TRY-1"}); err != nil || len(found) != 0 {
		t.Errorf("try stored the message: %v, %d found", err, len(found))
	}
	if !strings.Contains(f.logs.String(), `"audit":"try"`) {
		t.Errorf("no audit record of the try:\n%s", f.logs)
	}
	var e map[string]string
	if code, _ := f.call(t, http.MethodPost, "/api/channels/nope/try", "", vxu("TRY-2", "PAT123"), &e); code != http.StatusNotFound {
		t.Errorf("unknown channel: %d %v", code, e)
	}
	if code, _ := f.call(t, http.MethodPost, "/api/channels/vxu-in/try", "", "", &e); code != http.StatusBadRequest {
		t.Errorf("empty body: %d %v", code, e)
	}
	var bad console.TryResponse
	if code, _ := f.call(t, http.MethodPost, "/api/channels/vxu-in/try", "", "garbage", &bad); code != http.StatusOK || bad.Outcome != "error" || bad.Error == "" {
		t.Errorf("garbage: %d %+v", code, bad)
	}
}
