package main

import (
	"errors"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/conf"
)

// patientKey reads security.patient_ref_key_file, in the format of
// storage.key_file, creating it first when security.create_keys is set.
// created reports that the file was created now.
func patientKey(f *conf.File) (key []byte, created bool, err error) {
	path := f.Security.PatientRefKeyFile
	if path == "" {
		return nil, false, errors.New("security.patient_ref_key_file is not set")
	}
	return store.LoadKeyFile(path, f.Security.CreateKeys)
}
