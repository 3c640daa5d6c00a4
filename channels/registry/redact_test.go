package registry_test

import (
	"fmt"
	"testing"

	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/query"
	"github.com/iisync/iisync/transforms/iis/reconcile"
)

// TestPrintRedacts formats every Sync Registry type that holds PHI, filled
// with the canaries, with the verbs a log call or an error could use.
func TestPrintRedacts(t *testing.T) {
	dose := chart.Dose{ID: "PAT123", Date: "20200101", CVX: "08", Lot: "ZZTEST-LOT", Facility: "ZZTEST CLINIC"}
	demo := chart.Demographics{Family: "ZZTEST", Given: "ZZTESTGIVEN", BirthDate: "20200101", Street: "1 ZZTEST Street"}
	ind := chart.Indicator{Kind: chart.Immunity, Code: "ZZTEST", Date: "20200101"}
	c := chart.Chart{Key: chart.Key{Facility: "CLINIC", MRN: "PAT123"}, RegistryID: "PAT123", Patient: demo,
		Doses: []chart.Dose{dose}, Indicators: []chart.Indicator{ind}}
	row := reconcile.Row{State: reconcile.Differs, Date: "20200101", Local: &dose, Registry: &dose,
		Differences: []reconcile.Difference{{Field: "lot", Local: "ZZTEST-LOT", Registry: "PAT123"}}}
	fc := query.Forecast{Group: "HepB", Due: "20200101", VaccineText: "ZZTEST"}
	values := []any{
		dose, &dose, demo, ind, c, &c, c.Key, row, row.Differences[0],
		reconcile.FieldDiff{Field: "family", Local: "ZZTEST", Registry: "ZZTEST"},
		reconcile.IndicatorRow{State: reconcile.Match, Local: &ind, Registry: &ind}, fc,
		registry.Patient{MRN: "PAT123"},
		registry.Row{Row: row, ID: "L:PAT123"},
		registry.ForecastRow{Forecast: fc},
		registry.View{Patient: registry.Patient{MRN: "PAT123"}, ChartDemographics: demo, Immunizations: []registry.Row{{Row: row}}},
		registry.Session{Request: []byte("PID|1||PAT123||ZZTEST"), Registry: &c},
		registry.Audit{Messages: []registry.AuditMessage{{Raw: "PID|1||PAT123||ZZTEST"}}},
		registry.AuditMessage{Raw: "PID|1||PAT123||ZZTEST"},
		registry.Result{Rows: []string{"L:PAT123"}},
		[]chart.Dose{dose}, map[string]chart.Demographics{"x": demo},
	}
	for i, v := range values {
		phitest.Check(t, fmt.Sprintf("value %d (%T)", i, v), fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v))
	}
}
