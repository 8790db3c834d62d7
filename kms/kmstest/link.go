//go:build linux

package kmstest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Link is the network between a client and a real KMS server (PyKMIP): a
// TCP relay on a fixed loopback port that passes bytes both ways, or,
// when told, refuses connections (its port closed: connection refused)
// or hangs (accepts connections and reads what arrives, but nothing
// reaches the KMS and no answer comes back, on new and open connections
// alike), as a KMS behind a dead firewall or a stuck appliance does.
type Link struct {
	t testing.TB
	// Addr is the relay's address, for the client to connect to.
	Addr   string
	target string

	mu    sync.Mutex
	mode  string // "up", "hang", "down"
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewLink relays connections to target from a new loopback port (Addr)
// until t ends.
func NewLink(t testing.TB, target string) *Link {
	l := &Link{t: t, target: target, mode: "up", conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Addr = ln.Addr().String()
	l.serve(ln)
	t.Cleanup(func() {
		l.Set("down")
		l.wg.Wait()
	})
	return l
}

func (l *Link) serve(ln net.Listener) {
	l.ln = ln
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.conns[c] = true
			l.mu.Unlock()
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				l.relay(c)
			}()
		}
	}()
}

// Open reports the connections the client holds to the link now.
func (l *Link) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *Link) hanging() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mode == "hang"
}

// relay passes c's bytes to and from the KMS while the link is up.
func (l *Link) relay(c net.Conn) {
	defer func() {
		c.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}()
	if l.hanging() {
		_, _ = io.Copy(io.Discard, c) // until the server gives up
		return
	}
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pass := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !l.hanging() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pass(up, c)
	go pass(c, up)
	<-done
	// One side ended: end both (the other copy returns on the close).
	c.Close()
	up.Close()
	<-done
}

// Set changes the link: "up", "hang" (open connections stay open and
// silent) or "down" (the port closed and open connections reset).
func (l *Link) Set(mode string) {
	l.t.Helper()
	l.mu.Lock()
	prev := l.mode
	l.mode = mode
	var conns []net.Conn
	if mode == "down" {
		for c := range l.conns {
			conns = append(conns, c)
		}
	}
	l.mu.Unlock()
	switch {
	case mode == "down" && prev != "down":
		l.ln.Close()
		for _, c := range conns {
			c.Close()
		}
	case mode != "down" && prev == "down":
		var ln net.Listener
		var err error
		for range 50 { // the port was ours a moment ago
			if ln, err = net.Listen("tcp", l.Addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			l.t.Fatalf("relisten on %s: %v", l.Addr, err)
		}
		l.serve(ln)
	}
}
