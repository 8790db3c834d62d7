// Package server wires a running objstore: it turns a Config into an
// object layer over local drive folders and the S3 API on one listener,
// manages the root credentials, TLS certificate reloading, the health
// endpoints and graceful shutdown. cmd/objstore only turns flags and
// environment into a Config.
package server
