// Package libct is rt's own library on top of runc's libcontainer: it turns
// command-line requests (create, run, exec, checkpoint, restore...) into
// libcontainer calls, and holds what the thin CLI in package main must not:
// spec loading and validation, process and stdio set-up, signal forwarding,
// container locking, logging set-up and the checkpoint/restore logic.
package libct
