package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/conf"
	"github.com/iisync/iisync/sandbox"
	"github.com/iisync/iisync/transforms/hl7"
)

const sandboxUsage = `usage: iisync sandbox [-c FILE] [--https ADDR] [--http ADDR] [--cert-dir DIR]

Runs the embedded IIS sandbox alone: a simulated state immunization registry
that speaks the CDC IIS WSDL (SOAP 1.2 and 1.1) on every path, validates
VXUs like a registry (AA, AE or AR with ERR segments), stores patients and
doses in memory, and answers QBP^Q11 Z34/Z44 queries with RSPs and a
forecast. GET ?wsdl returns the WSDL. On first start it creates a
self-signed certificate in the cert dir (cert.pem: give it to clients as
their CA file).

With -c, the sandbox: section of the configuration file is used (users and
per-facility behaviours too); flags given explicitly override it.

  -c, --config FILE   take the sandbox: section of FILE
  --https ADDR        HTTPS listener (default 127.0.0.1:8443)
  --http ADDR         plain HTTP listener too (default none)
  --cert-dir DIR      certificate directory (default ./var/sandbox)
`

func runSandbox(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("sandbox", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, sandboxUsage) }
	var file string
	cfg := conf.SandboxConfig{HTTPSAddr: conf.DefaultSandboxHTTPSAddr, CertDir: "./var/sandbox"}
	fs.StringVar(&file, "c", "", "configuration file")
	fs.StringVar(&file, "config", "", "same as -c")
	https := fs.String("https", "", "HTTPS listener")
	plain := fs.String("http", "", "HTTP listener")
	certDir := fs.String("cert-dir", "", "certificate directory")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(rest) > 0 {
		fs.Usage()
		return 2
	}
	if file != "" {
		f, err := conf.Load(file)
		if err != nil {
			fmt.Fprintf(e.stderr, "iisync sandbox: %v\n", err)
			return 2
		}
		if f.Sandbox == nil {
			fmt.Fprintf(e.stderr, "iisync sandbox: %s has no sandbox: section\n", file)
			return 2
		}
		cfg = *f.Sandbox
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["https"] {
		cfg.HTTPSAddr = *https
	}
	if set["http"] {
		cfg.HTTPAddr = *plain
	}
	if set["cert-dir"] {
		cfg.CertDir = *certDir
	}
	defer zerolog.SetGlobalLevel(zerolog.GlobalLevel()) // newLogger moves it; tests run commands in-process
	log, _, err := newLogger(e.stderr, "info", "console")
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync sandbox: %v\n", err)
		return 2
	}
	srv, err := startSandbox(cfg, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync sandbox: %v\n", err)
		return 1
	}
	select {
	case <-ctx.Done():
	case err := <-srv.Err():
		log.Error().Err(err).Msg("sandbox listener stopped")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("sandbox shutdown")
		return 1
	}
	return 0
}

// startSandbox starts the IIS sandbox of cfg and logs where it listens.
func startSandbox(cfg conf.SandboxConfig, log zerolog.Logger) (*sandbox.Server, error) {
	behaviours := make(map[string]sandbox.Behaviour, len(cfg.Facilities))
	for name, b := range cfg.Facilities {
		behaviours[name] = sandbox.Behaviour{
			Fault: b.Fault, Unavailable: b.Unavailable, Delay: b.Delay, Z32ForZ44: b.Z32ForZ44,
			AEWithData: b.AEWithData, BatchWrap: b.BatchWrap, WarningsAsAE: b.WarningsAsAE,
		}
	}
	sc := sandbox.Config{Users: cfg.Users, Behaviours: behaviours}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	iis := sandbox.New(sc)
	if err := seedSandbox(iis, cfg.Seed, log); err != nil {
		return nil, err
	}
	srv, err := sandbox.Listen(iis, sandbox.ServerConfig{HTTPSAddr: cfg.HTTPSAddr, HTTPAddr: cfg.HTTPAddr, CertDir: cfg.CertDir})
	if err != nil {
		return nil, err
	}
	ev := log.Info().Str("component", "sandbox")
	if u := srv.HTTPSURL(); u != "" {
		ev = ev.Str("https", u).Str("cert_file", srv.CertFile())
	}
	if u := srv.HTTPURL(); u != "" {
		ev = ev.Str("http", u)
	}
	ev.Msg("IIS sandbox listening")
	return srv, nil
}

// seedSandbox loads the messages of files into iis as its own records and
// logs how many it took; a message it answers other than AA is logged by
// file and position (never content), and a file that cannot be read is an
// error.
func seedSandbox(iis *sandbox.IIS, files []string, log zerolog.Logger) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("sandbox seed: %w", err)
		}
		msgs := hl7.Split(b)
		for i, m := range msgs {
			code, _ := hl7.CheckACK(iis.Preload(m), "")
			if code != "AA" {
				log.Warn().Str("component", "sandbox").Str("file", f).Int("message", i+1).Str("ack_code", code).Msg("seed message not taken as is")
			}
		}
		log.Info().Str("component", "sandbox").Str("file", f).Int("messages", len(msgs)).Msg("registry seeded")
	}
	return nil
}
