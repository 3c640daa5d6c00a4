package codes_test

import (
	"fmt"

	"github.com/iisync/iisync/transforms/iis/codes"
)

func ExampleLookupCVX() {
	c, ok := codes.LookupCVX("8")
	fmt.Println(ok, c.Code, c.Short, c.Groups)
	u, _ := codes.LookupCVX("45")
	fmt.Println(u.Code, u.Status, codes.SameGroup("45", "08"))
	// Output:
	// true 08 Hep B, adolescent or pediatric [HepB]
	// 45 Inactive true
}

func ExampleGroups() {
	fmt.Println(codes.Groups("110"))
	cvx, name, _ := codes.GroupCVX("dtap")
	fmt.Println(name, cvx)
	// Output:
	// [DTAP HepB POLIO]
	// DTAP 107
}
