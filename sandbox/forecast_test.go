package sandbox

import (
	"testing"

	"github.com/iisync/iisync/transforms/iis/codes"
)

func TestScheduleGroupsExist(t *testing.T) {
	for _, sr := range schedule {
		cvx, name, ok := codes.GroupCVX(sr.group)
		if !ok || name != sr.group {
			t.Errorf("schedule group %q is not a CDC vaccine group (%q %q %v)", sr.group, cvx, name, ok)
		}
		if len(codes.CVXInGroup(sr.group)) == 0 {
			t.Errorf("no CVX in group %q", sr.group)
		}
		for i, d := range sr.doses {
			if d.recAge.after(day("20200101")).Before(d.minAge.after(day("20200101"))) {
				t.Errorf("%s dose %d: routine age before minimum age", sr.group, i+1)
			}
		}
	}
}

func TestForecast(t *testing.T) {
	type dose struct{ cvx, date string }
	tests := []struct {
		name   string
		group  string
		dob    string
		today  string
		doses  []dose
		status string
		next   int
		// earliest, due, overdue, latest
		dates [4]string
	}{
		{name: "newborn HepB", group: "HepB", dob: "20250601", today: "20250610",
			status: statusOnSchedule, next: 1, dates: [4]string{"20250601", "20250601", "20250801", ""}},
		{name: "HepB dose 2 from dose 1", group: "HepB", dob: "20250101", today: "20250115", doses: []dose{{"08", "20250101"}},
			status: statusOnSchedule, next: 2, dates: [4]string{"20250129", "20250201", "20250401", ""}},
		{name: "HepB unspecified 45 counts like 08", group: "HepB", dob: "20250101", today: "20250115", doses: []dose{{"45", "20250101"}},
			status: statusOnSchedule, next: 2, dates: [4]string{"20250129", "20250201", "20250401", ""}},
		{name: "HepB complete", group: "HepB", dob: "20200101", today: "20250615",
			doses: []dose{{"08", "20200101"}, {"08", "20200201"}, {"08", "20200701"}}, status: statusComplete},
		{name: "DTaP overdue at 5 months", group: "DTAP", dob: "20250101", today: "20250615",
			status: statusOverdue, next: 1, dates: [4]string{"20250212", "20250301", "20250401", "20311231"}},
		{name: "DTaP dose 4 waits 6 months", group: "DTAP", dob: "20240101", today: "20250101",
			doses:  []dose{{"20", "20240301"}, {"20", "20240501"}, {"20", "20240701"}},
			status: statusOnSchedule, next: 4, dates: [4]string{"20250101", "20250401", "20250801", "20301231"}},
		{name: "DTaP too soon does not count", group: "DTAP", dob: "20240101", today: "20240701",
			doses:  []dose{{"20", "20240301"}, {"20", "20240310"}},
			status: statusOverdue, next: 2, dates: [4]string{"20240329", "20240501", "20240601", "20301231"}},
		{name: "DTaP within grace counts", group: "DTAP", dob: "20240101", today: "20240215",
			doses:  []dose{{"20", "20240209"}}, // 6 weeks less 3 days
			status: statusOnSchedule, next: 2, dates: [4]string{"20240311", "20240501", "20240601", "20301231"}},
		{name: "combination 110 counts for polio", group: "POLIO", dob: "20240101", today: "20240315",
			doses:  []dose{{"110", "20240301"}},
			status: statusOnSchedule, next: 2, dates: [4]string{"20240329", "20240501", "20240601", "20411231"}},
		{name: "DTaP complete", group: "DTAP", dob: "20150101", today: "20250615",
			doses:  []dose{{"20", "20150301"}, {"20", "20150501"}, {"20", "20150701"}, {"20", "20160401"}, {"20", "20190101"}},
			status: statusComplete},
		{name: "DTaP too old", group: "DTAP", dob: "20100101", today: "20250615", status: statusTooOld},
		{name: "Hib too young does not count", group: "HIB", dob: "20250101", today: "20250201",
			doses:  []dose{{"48", "20250129"}},
			status: statusOnSchedule, next: 1, dates: [4]string{"20250212", "20250301", "20250401", "20291231"}},
		{name: "rotavirus latest is 8 months", group: "ROTAVIRUS", dob: "20250101", today: "20250110",
			status: statusOnSchedule, next: 1, dates: [4]string{"20250212", "20250301", "20250401", "20250831"}},
		{name: "MMRV counts for MMR and the second MMR is at 4 years", group: "MMR", dob: "20230101", today: "20240301",
			doses:  []dose{{"94", "20240101"}},
			status: statusOnSchedule, next: 2, dates: [4]string{"20240201", "20270101", "20300101", ""}},
		{name: "HepA dose 2 after 6 months", group: "HepA", dob: "20230101", today: "20240301",
			doses:  []dose{{"83", "20240101"}},
			status: statusOnSchedule, next: 2, dates: [4]string{"20240701", "20240701", "20250101", ""}},
		{name: "influenza this season is done", group: "FLU", dob: "20200101", today: "20250115",
			doses:  []dose{{"150", "20241001"}},
			status: statusOnSchedule, next: 2, dates: [4]string{"20250801", "20250801", "", ""}},
		{name: "influenza due this season", group: "FLU", dob: "20200101", today: "20250115",
			doses:  []dose{{"150", "20231001"}},
			status: statusOnSchedule, next: 2, dates: [4]string{"20240801", "20240801", "", ""}},
		{name: "influenza waits for 6 months of age", group: "FLU", dob: "20250301", today: "20250415",
			status: statusOnSchedule, next: 1, dates: [4]string{"20250901", "20250901", "", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr, ok := seriesFor(tc.group)
			if !ok {
				t.Fatalf("no series %s", tc.group)
			}
			var doses []Dose
			for i, d := range tc.doses {
				doses = append(doses, Dose{ID: "D" + string(rune('A'+i)), CVX: d.cvx, Date: d.date, Completion: "CP"})
			}
			f := sr.forecast(day(tc.dob), day(tc.today), groupDoses(doses, tc.group))
			got := [4]string{f.earliest, f.due, f.overdue, f.latest}
			if f.status != tc.status || f.doseNumber != tc.next || got != tc.dates {
				t.Errorf("forecast %s dose %d dates %v\nwant     %s dose %d dates %v", f.status, f.doseNumber, got, tc.status, tc.next, tc.dates)
			}
		})
	}
}

// TestForecastSkipsDosesNotGiven checks that refused, not-administered and
// deleted doses do not count.
func TestForecastSkipsDosesNotGiven(t *testing.T) {
	doses := []Dose{
		{ID: "A", CVX: "08", Date: "20250101", Completion: "RE", Refusal: true},
		{ID: "B", CVX: "08", Date: "20250101", Completion: "NA"},
		{ID: "C", CVX: "08", Date: "20250101", Completion: "CP", Deleted: true},
	}
	if got := groupDoses(doses, "HepB"); len(got) != 0 {
		t.Errorf("groupDoses kept %v", got)
	}
	fs := forecasts(Patient{DOB: "20250101", Doses: doses}, day("20250110"))
	if len(fs) != len(schedule) || fs[0].group != "HepB" || fs[0].doseNumber != 1 {
		t.Errorf("forecasts %+v", fs)
	}
	if fs := forecasts(Patient{DOB: "unknown"}, day("20250110")); fs != nil {
		t.Errorf("forecast without a birth date: %+v", fs)
	}
}
