package soap_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/soap"
)

// registry is a toy IIS: it acknowledges every message with AA.
type registry struct{}

func (registry) SubmitSingleMessage(_ context.Context, req soap.SubmitRequest) ([]byte, error) {
	if req.Password.Reveal() != "s3cret" {
		return nil, &soap.Fault{Kind: soap.FaultSecurity, Code: "soap:Receiver", CDCCode: "401", Reason: "Invalid credentials"}
	}
	msh, _, _ := bytes.Cut(req.Message, []byte("\r"))
	id := string(bytes.Split(msh, []byte("|"))[9]) // MSH-10
	return []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101||ACK^V04^ACK|A" + id + "|P|2.5.1\rMSA|AA|" + id + "\r"), nil
}

func (registry) ConnectivityTest(_ context.Context, echo string) (string, error) { return echo, nil }

// Example submits a VXU to a registry played by NewServer, once with the
// right password and once with a wrong one.
func Example() {
	srv := httptest.NewServer(soap.NewServer(registry{}, soap.ServerOptions{}))
	defer srv.Close()

	vxu := []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|MSG1|P|2.5.1\rPID|1||PAT123^^^MR||ZZTEST^ALPHA\r")
	for _, pw := range []string{"s3cret", "wrong"} {
		c, err := soap.NewClient(soap.ClientConfig{
			URL:      srv.URL + "/IISService",
			Username: "ehr", Password: field.NewSecret(pw), FacilityID: "CLINIC",
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		rep, err := c.Submit(context.Background(), vxu)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%q after %d attempt(s)\n", rep.Message[bytes.IndexByte(rep.Message, '\r')+1:], rep.Attempts)
	}
	// Output:
	// "MSA|AA|MSG1\r" after 1 attempt(s)
	// error: soap: SecurityFault (soap:Receiver, code 401)
}
