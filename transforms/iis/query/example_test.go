package query_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/query"
)

func ExampleBuild() {
	req := query.Request{
		Chart: &chart.Chart{
			Key:        chart.Key{Facility: "ZZCLINIC", MRN: "PAT123"},
			RegistryID: "SB0000001",
			Patient: chart.Demographics{
				Family: "ZZTESTFAMILY", Given: "ZZTESTGIVEN", BirthDate: "20200101", Sex: "F",
				MotherMaiden: "ZZTESTMOTHER", Phone: "4065551212",
			},
		},
		ControlID:         "ZZ-Q-0001",
		SendingApp:        "ZZEHR",
		ReceivingFacility: "IISSANDBOX",
		Time:              time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC),
	}
	qbp, err := query.Build(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(string(qbp), "\r", "\n"))
	// Output:
	// MSH|^~\&|ZZEHR|ZZCLINIC||IISSANDBOX|20250615103000+0000||QBP^Q11^QBP_Q11|ZZ-Q-0001|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS
	// QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|ZZ-Q-0001|PAT123^^^ZZCLINIC^MR~SB0000001^^^IISSANDBOX^SR|ZZTESTFAMILY^ZZTESTGIVEN^^^^^L|ZZTESTMOTHER^^^^^^M|20200101|F||^PRN^PH^^^406^5551212
	// RCP|I|10^RD&Records&HL70126|R^Real Time^HL70394
}

func ExampleParse() {
	rsp := strings.Join([]string{
		`MSH|^~\&|IISSANDBOX|IISSANDBOX|ZZEHR|ZZCLINIC|20250615103000-0500||RSP^K11^RSP_K11|R1|P|2.5.1|||NE|NE|||||Z42^CDCPHINVS`,
		`MSA|AE|ZZ-Q-0001`,
		`ERR||PID^1^11|102^Data type error^HL70357|W|4^Invalid value^HL70533|||Address type is required`,
		`QAK|ZZ-Q-0001|AE|Z44^Request Evaluated History and Forecast^CDCPHINVS`,
		`PID|1||PAT123^^^ZZCLINIC^MR~SB0000001^^^IISSANDBOX^SR||ZZTESTFAMILY^ZZTESTGIVEN^^^^^L||20200101|F`,
		`ORC|RE||SBD0000002^IISSANDBOX`,
		`RXA|0|1|20200101|20200101|08^Hep B, adolescent or pediatric^CVX|0.5|mL^^UCUM||00^New^NIP001|||||||ZZLOT1||MSD^Merck^MVX|||CP|A`,
		`OBX|1|CE|30956-7^Vaccine type^LN|1|45^Hep B, unspecified formulation^CVX||||||F`,
		`OBX|2|ID|59781-5^Dose validity^LN|1|Y||||||F`,
		`ORC|RE||9999^IISSANDBOX`,
		`RXA|0|1|20250615|20250615|998^no vaccine administered^CVX|999||||||||||||||NA`,
		`OBX|1|CE|30956-7^Vaccine type^LN|1|45^Hep B, unspecified formulation^CVX||||||F`,
		`OBX|2|CE|59783-1^Status in immunization series^LN|1|LA13423-1^Overdue^LN||||||F`,
		`OBX|3|DT|30980-7^Date vaccine due^LN|1|20200201||||||F`,
	}, "\r")

	r := query.Parse([]byte(rsp), nil)
	fmt.Println(r.Status, "-", r.Status.Words())
	fmt.Println(r.Quality, "-", r.Quality.Words())
	fmt.Println(r.Reason)
	fmt.Println(r.Errors[0].Explanation)
	fmt.Println("registry ID:", r.Patient.RegistryID)
	for _, d := range r.Patient.Doses {
		fmt.Println("dose", d.ID, d.Date, "CVX", d.CVX, "valid", d.Valid)
	}
	for _, f := range r.Forecast {
		fmt.Println("forecast", f.Group, f.Status.Words(), "due", f.Due)
	}
	// Output:
	// received_with_warnings - The registry answered the query, with warnings.
	// match - The registry found the patient and sent the record.
	// Z42 AE/AE: received_with_warnings, match; 1 dose, 1 forecast, 1 error
	// Warning in PID-11 (Patient Address) of the 1st PID: a value is not valid (HL7: data type error).
	// registry ID: SB0000001
	// dose SBD0000002 20200101 CVX 08 valid Y
	// forecast HepB Overdue due 20200201
}
