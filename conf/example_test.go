package conf_test

import (
	"fmt"

	"github.com/iisync/iisync/conf"
)

func ExampleParse() {
	_, err := conf.Parse([]byte(`
storage: {key_file: store.key}
security: {patient_ref_key_file: patient-ref.key}
channels:
  - name: vxu-state
    source:
      mllp: {addr: "2575", max_conn: 8}
    destinations: [{name: out, file: {dir: out}}]
  - name: vxu-state
    source: {mllp: {addr: "127.0.0.1:2576"}}
    destinations: [{name: out, file: {dir: out}}]
`), "prod.yaml", ".")
	fmt.Println(err)
	// Output:
	// prod.yaml: invalid configuration:
	// prod.yaml:7: field max_conn not found in type mllp.Config
	// channels[0].source.mllp.addr: must be host:port, got "2575"
	// channels[1].name: "vxu-state" already used by channels[0]
}
