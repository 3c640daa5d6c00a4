// Package conf reads iisync's one YAML configuration file: it expands
// ${env:NAME} and ${file:PATH} references inside scalar values, decodes
// strictly (an unknown key is an error with its line), appends the channels
// of include: files, applies every component's documented defaults, and
// validates the whole file at once, each problem named by its path:
//
//	conf/prod.yaml: invalid configuration:
//	channels[0].source.mllp.addr: must be host:port, got "2575"
//	channels[1].name: "vxu-state" already used by channels[0]
//
// conf composes the components' Config types (channels, channels/store,
// gateway/mllp, transforms/mapping) and imports conf/field; it never opens
// the store, a listener or a key file, so `iisync check -c FILE` can use it
// without starting anything.
//
// Relative paths: include patterns and ${file:PATH} references resolve
// against the directory of the file that holds them. Every other path in the
// configuration (storage.path, key files, TLS files, directories, outboxes)
// is used as written, so a relative one resolves against the working
// directory of the process, e.g. the repository root under `make run`.
package conf
